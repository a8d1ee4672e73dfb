"""A digest as Markdown: the console's and CLI's rendering, and the plain-text reference for the platform adapters.

Every text field is untrusted (titles and quotes come from articles): Markdown metacharacters are escaped so a
headline cannot become a link or a heading, and `@everyone`/`@here` are defused. Links are the stored, normalized
URLs, shown bare (never behind a label), with the characters that would end them percent-encoded.
"""

from __future__ import annotations

import re

from bot.digest.model import Digest, DigestEntry

__all__ = ["digest_markdown", "escape_markdown"]

TITLE = "Digest"
_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+|~!])")
_MASS_MENTION = re.compile(r"@(everyone|here|channel)\b", re.IGNORECASE)


def escape_markdown(text: str) -> str:
    """`text` with Markdown metacharacters backslash-escaped, line breaks flattened and mass mentions defused."""
    flat = " ".join(text.split())
    return _MASS_MENTION.sub("@\u200b\\1", _SPECIAL.sub(r"\\\1", flat))


def _link_target(url: str) -> str:
    return url.replace("(", "%28").replace(")", "%29").replace(" ", "%20").replace("<", "%3C").replace(">", "%3E")


def _entry(number: int, entry: DigestEntry) -> list[str]:
    lines = [f"**{number}. {escape_markdown(entry.headline)}**"]
    if entry.summary:
        lines.append(escape_markdown(entry.summary))
    if entry.quote is not None:
        who = escape_markdown(entry.quote.speaker)
        if entry.quote.speaker_role:
            who += f", {escape_markdown(entry.quote.speaker_role)}"
        lines.append(f"> “{escape_markdown(entry.quote.text)}” — {who}")
    links = [
        # Outlet name, then the bare link: a label that differs from its target is how phishing links hide.
        f"{escape_markdown(source.outlet)} <{_link_target(source.url)}>" + (" (shared here)" if source.shared else "")
        for source in entry.sources
    ]
    lines.append(("Sources: " if len(links) > 1 else "Source: ") + " · ".join(links))
    return lines


def digest_markdown(digest: Digest, *, title: str = TITLE) -> str:
    """The digest as Markdown: a header line with the counts, then one block per story."""
    lines = [f"**{escape_markdown(title)}** — {digest.header}", ""]
    for number, entry in enumerate(digest.entries, start=1):
        lines += [*_entry(number, entry), ""]
    if digest.omitted_stories:
        more = digest.omitted_stories
        lines.append(f"_…and {more} more {'story' if more == 1 else 'stories'}._")
    return "\n".join(lines).rstrip() + "\n"
