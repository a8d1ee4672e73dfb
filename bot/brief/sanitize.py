"""Neutralising hostile text on its way into a prompt and on its way out to a chat platform. Platform-neutral.

Into the prompt (`clean_for_prompt`): invisible characters are removed (zero-width, bidi controls, Unicode tag
characters used for "ASCII smuggling", variation selectors) and so are the tokens that fence data in the prompts
(`<article>`, `</article>`, `<candidates>`, `<notes>`, `<question>`) and chat-template specials (`<|im_start|>` ...),
so article text cannot close its own fence or forge a turn.

Out to users (`sanitize_text`, `sanitize_briefing`), for every string a briefing carries:

1. NFKC normalisation, so full-width look-alikes (`＠everyone`, `＜!channel＞`) become the real characters first.
2. Invisible and control characters removed; white space collapsed.
3. Platform mention tokens removed: Slack `<!channel>`, `<!here>`, `<!everyone>`, `<!subteam^…>`, `<@U…>`, `<#C…|…>`;
   Discord `<@123>`, `<@!123>`, `<@&123>`, `<#123>`, `</cmd:123>`. Slack links `<url|label>` keep only their label.
4. Broadcast words lose their `@` (`@everyone`, `@here`, `@channel` -> `everyone` ...).
5. Markdown links keep their label; URLs whose host is not the source's host are removed, whether written with a
   scheme, as `www.…`, or as `domain.tld/path`. A bare `name.tld` without a path (Amazon.com, Node.js) is kept: it is
   a name more often than a link, and adapters post with link unfurling off.
6. Encoded payloads (40+ base64-like characters in one run, digits included) are removed.

`LeakGuard` spots system-prompt text repeated in model output, so the engine can leave it out.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from urllib.parse import urlsplit

from bot.models import Briefing, Implication, KeyPoint, SourceInfo

__all__ = [
    "LeakGuard",
    "allowed_hosts",
    "clean_for_prompt",
    "is_invisible",
    "sanitize_briefing",
    "sanitize_text",
    "strip_invisible",
]

# Characters that render as nothing (or reorder text) beyond Unicode's format category (Cf), which is handled by
# category: Hangul fillers, the Mongolian vowel separator, variation selectors (used to hide bytes after an emoji).
_INVISIBLE_EXTRA = re.compile("[\u115f\u1160\u3164\uffa0\u180e\ufe00-\ufe0f\U000e0100-\U000e01ef]")
_DELIMITERS = re.compile(r"<\s*/?\s*(?:article|candidates|notes|question)\b[^>]*>|<\|[^|<>]{0,40}\|>", re.IGNORECASE)
_PLATFORM_TOKEN = re.compile(r"<\s*(?:[!@#&]|/\w)[^<>]{0,200}>")
_SLACK_LINK = re.compile(r"<\s*((?:https?|mailto|ftp)[^<>|]{0,2000})(?:\|([^<>]{0,500}))?>", re.IGNORECASE)
_BROADCAST = re.compile(r"@+\s*(everyone|here|channel)\b", re.IGNORECASE)
_MD_LINK = re.compile(r"!?\[([^\[\]]{0,300})\]\(\s*([^()\s]{0,2000})\s*\)")
# Anything that chat clients would turn into a link: scheme URLs (any scheme), www. hosts, and host/path.
_URL = re.compile(
    r"""(?ix)
    \b(?:[a-z][a-z0-9+.\-]{1,15}://[^\s<>"]+
      |(?:javascript|data|vbscript|mailto|file):[^\s<>"]+
      |www\d?\.[^\s<>"]+
      |(?:[a-z0-9](?:[a-z0-9\-]{0,62}[a-z0-9])?\.)+[a-z]{2,24}(?::\d{2,5})?/[^\s<>"]*)
    """
)
# A long unbroken run of base64/hex-like characters: an encoded payload, never something to show.
_ENCODED = re.compile(r"(?<![\w/])(?=[A-Za-z+/_-]*\d)[A-Za-z0-9+/_-]{40,}={0,2}")
_SPACES = re.compile(r"\s+")
_WORDS = re.compile(r"\w+")
_ORPHAN_PUNCT = re.compile(r"\(\s*\)|\[\s*\]|\s+([,.;:!?])")


def is_invisible(ch: str) -> bool:
    """True for a character that renders as nothing or controls layout (newline and tab excepted)."""
    if ch in "\n\t" or (" " <= ch <= "~"):
        return False
    return unicodedata.category(ch) in ("Cf", "Cc", "Co", "Cn") or bool(_INVISIBLE_EXTRA.match(ch))


def strip_invisible(text: str) -> str:
    """Remove zero-width, bidi-control, tag, private-use and other invisible characters (newlines and tabs stay)."""
    if text.isascii():
        return "".join(ch for ch in text if not is_invisible(ch)) if not text.isprintable() else text
    return "".join(ch for ch in text if not is_invisible(ch))


def clean_for_prompt(text: str) -> str:
    """Article text as it may appear inside the prompt's `<article>` fence (see the module docstring)."""
    text = strip_invisible(text)
    # Repeat: removing one token can join the halves of another (`<arti<article>cle>`).
    for _ in range(5):
        cleaned = _DELIMITERS.sub("", text)
        if cleaned == text:
            break
        text = cleaned
    return text


def host_of(url: str | None) -> str | None:
    """The lower-cased host of `url` without a leading `www.`, or None."""
    if not url:
        return None
    candidate = url if "://" in url else "http://" + url
    try:
        host = urlsplit(candidate).hostname
    except ValueError:
        return None
    if not host:
        return None
    return host.lower().removeprefix("www.")


def allowed_hosts(*urls: str | None) -> frozenset[str]:
    """The hosts whose URLs may appear in output: the source's own."""
    return frozenset(h for h in (host_of(u) for u in urls) if h)


def _url_allowed(url: str, hosts: frozenset[str]) -> bool:
    if not re.match(r"(?i)(?:https?://|www\d?\.|[a-z0-9.\-]+\.[a-z]{2,24}[:/])", url):
        return False  # javascript:, data:, mailto:, ftp: and the like are never allowed
    host = host_of(url.rstrip(".,;:!?)"))
    return host is not None and host in hosts


def sanitize_text(text: str, hosts: frozenset[str] = frozenset()) -> str:
    """One output string made safe for any chat platform (see the module docstring); `hosts` are the source's."""
    text = unicodedata.normalize("NFKC", text)
    text = strip_invisible(text)
    text = _SLACK_LINK.sub(lambda m: m.group(2) if m.group(2) else m.group(1), text)
    for _ in range(5):  # removing one token can expose another (`<<!here>!channel>`)
        cleaned = _PLATFORM_TOKEN.sub(" ", text)
        if cleaned == text:
            break
        text = cleaned
    text = _BROADCAST.sub(r"\1", text)
    text = _MD_LINK.sub(lambda m: m.group(1) if not _url_allowed(m.group(2), hosts) else m.group(0), text)
    text = _URL.sub(lambda m: m.group(0) if _url_allowed(m.group(0), hosts) else " ", text)
    text = _ENCODED.sub(" ", text)
    text = _SPACES.sub(" ", text)
    text = _ORPHAN_PUNCT.sub(lambda m: m.group(1) or "", text)
    return text.strip()


def sanitize_list(items: Iterable[str], hosts: frozenset[str] = frozenset()) -> list[str]:
    """`sanitize_text` over a list, dropping items left empty."""
    return [s for s in (sanitize_text(i, hosts) for i in items) if s]


def sanitize_briefing(briefing: Briefing) -> Briefing:
    """Every string in `briefing` passed through `sanitize_text`; only the source's own URLs survive."""
    source = briefing.source
    hosts = allowed_hosts(source.url)

    def clean(value: str | None) -> str | None:
        if value is None:
            return None
        return sanitize_text(value, hosts) or None

    quotes = []
    for q in briefing.quotes:
        speaker, text = clean(q.speaker), clean(q.text)
        if speaker and text:  # a quote whose speaker or words were nothing but hostile tokens is dropped
            role, cue = clean(q.speaker_role), clean(q.cue)
            quotes.append(q.model_copy(update={"speaker": speaker, "text": text, "speaker_role": role, "cue": cue}))
    return briefing.model_copy(
        update={
            "tldr": clean(briefing.tldr) or "",
            "key_points": [KeyPoint(text=t, evidence=k.evidence) for k in briefing.key_points if (t := clean(k.text))],
            "quotes": quotes,
            "implications": [
                Implication(text=t, evidence=i.evidence) for i in briefing.implications if (t := clean(i.text))
            ],
            "warnings": sanitize_list(briefing.warnings, hosts),
            "source": SourceInfo(
                url=source.url,
                title=clean(source.title),
                byline=clean(source.byline),
                published=clean(source.published),
                site_name=clean(source.site_name),
                language=clean(source.language),
            ),
        }
    )


class LeakGuard:
    """Spots system-prompt text in model output: any run of `size` words from the prompts that the article itself
    does not contain (so an article that happens to share a phrase with the prompt is not censored)."""

    def __init__(self, prompts: list[str], article_text: str, size: int = 5) -> None:
        self.size = size
        self.shingles = {s for p in prompts for s in self._shingles(p)} - self._shingles(article_text)

    def _shingles(self, text: str) -> set[tuple[str, ...]]:
        seq = _WORDS.findall(unicodedata.normalize("NFKC", strip_invisible(text)).casefold())
        return {tuple(seq[i : i + self.size]) for i in range(len(seq) - self.size + 1)}

    def leaks(self, text: str) -> bool:
        """True if `text` repeats prompt text."""
        return bool(self._shingles(text) & self.shingles)
