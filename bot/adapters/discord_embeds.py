"""Discord rendering: briefings as embeds, answers and notices as plain text, all inert and within Discord's limits.

Every string that came from an article or a model is passed through `bot.brief.sanitize` (platform mention tokens,
invisible characters and foreign URLs removed), then through `safe` here: Markdown is escaped (a masked link
`[label](url)` cannot hide its target) and whatever could still act as a mention is broken with a zero-width space
(`@everyone`, `@here`, `<@123>`, `<@&123>`, `<#123>`, `</cmd:123>`). Mentions would not ping anyway, because every
send and edit carries `AllowedMentions.none()`; escaping also stops them rendering as live-looking pills.

Limits (reliability.md section 3, Discord's documentation): content 2,000; embed title 256, description 4,096, field
name 256, field value 1,024, footer 2,048, 25 fields, 10 embeds and 6,000 characters per message across embeds;
thread name 100. Sizes are counted in UTF-16 code units, which is never less than the number of code points, so text
within our count is within Discord's however it counts. Long output becomes several messages; a cut falls at a
paragraph, line or word break and never inside a `<…>` token or a glyph made of several code points.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import discord

from bot.brief.answer import CLOSEST_LABEL, Answer, citation_note, closest_note
from bot.brief.sanitize import sanitize_briefing, sanitize_text
from bot.models import Briefing, Quote
from bot.render import context_line

__all__ = [
    "CONTENT_LIMIT",
    "NO_MENTIONS",
    "Post",
    "digest_nonce",
    "neutralize",
    "render_answer",
    "render_briefing",
    "render_digest",
    "render_notice",
    "safe",
    "size",
    "split_text",
    "thread_name",
]

CONTENT_LIMIT = 2000
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FIELDS_PER_EMBED = 25
EMBEDS_PER_MESSAGE = 10
MESSAGE_EMBED_TOTAL = 6000
THREAD_NAME_LIMIT = 100
FOOTER_BUDGET = 1000  # our choice: the source line and warnings never need more
COLOUR = discord.Colour(0x2B6CB0)

NO_MENTIONS = discord.AllowedMentions.none()

_ZWSP = "\u200b"
# `<` opening a user, role, channel, command or guild-navigation mention: `<@1>`, `<@!1>`, `<@&1>`, `<#1>`, `</x:1>`.
_MENTION_OPEN = re.compile(r"<(?=[@#/]|id:)")
_BARE_URL = re.compile(r"(?<![<\w])(https?://[^\s<>]+[^\s<>.,;:!?'\")\]])")
# Spans a cut must not fall inside: a `<…>` token (mention, link, custom emoji, timestamp) or a `:shortcode:`.
_PROTECTED = re.compile(r"<[^<>\n]{1,300}>|:[a-z0-9_+-]{1,64}:", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Post:
    """One Discord message: content and/or embeds. `kwargs()` adds the send options every post must carry."""

    content: str | None = None
    embeds: tuple[discord.Embed, ...] = ()
    nonce: str | None = None

    def kwargs(self) -> dict[str, Any]:
        """Keyword arguments for `send`/`reply`/`followup.send`: never a mention; no link previews on plain text."""
        options: dict[str, Any] = {"allowed_mentions": NO_MENTIONS}
        if self.content:
            options["content"] = self.content
        if self.embeds:
            options["embeds"] = list(self.embeds)
        else:
            # Suppressing embeds on a message with our own embeds would hide them; plain text gets no previews.
            options["suppress_embeds"] = True
        if self.nonce is not None:
            options["nonce"] = self.nonce  # discord.py sends enforce_nonce=True with it
        return options


def size(text: str | None) -> int:
    """Length as Discord may count it: UTF-16 code units (at least the number of code points)."""
    return len(text.encode("utf-16-le")) // 2 if text else 0


# --- making untrusted text inert ------------------------------------------------------------------------------------


def neutralize(text: str) -> str:
    """Break everything that could act as a mention; the text reads the same."""
    text = discord.utils.escape_mentions(text)  # @everyone, @here, <@123>, <@!123>, <@&123>
    return _MENTION_OPEN.sub("<" + _ZWSP, text)


def safe(text: str | None) -> str:
    """Article or model text made inert for Discord Markdown (already passed through `sanitize`)."""
    if not text:
        return ""
    return neutralize(discord.utils.escape_markdown(text, ignore_links=True))


def wrap_links(text: str) -> str:
    """Bare URLs as `<url>`, so that even without the suppress-embeds flag no link preview is fetched."""
    return _BARE_URL.sub(r"<\1>", text)


def thread_name(briefing: Briefing, fallback: str = "Briefing") -> str:
    """The thread's name: the article's title cut to Discord's 100 characters (thread names never ping)."""
    title = sanitize_text(briefing.source.title or "") or fallback
    return _cut(neutralize(title), THREAD_NAME_LIMIT)


def digest_nonce(key: str, index: int = 0) -> str:
    """A stable nonce (≤ 25 characters) for part `index` of the digest `key`: a retried post is not shown twice."""
    return hashlib.sha256(f"{key}#{index}".encode()).hexdigest()[:25]


# --- briefings ------------------------------------------------------------------------------------------------------


@dataclass
class _Embed:
    title: str | None = None
    url: str | None = None
    description: str = ""
    fields: list[tuple[str, str]] = field(default_factory=list)
    footer: str | None = None

    def size(self) -> int:
        return (
            size(self.title)
            + size(self.description)
            + sum(size(n) + size(v) for n, v in self.fields)
            + size(self.footer)
        )

    def build(self) -> discord.Embed:
        embed = discord.Embed(title=self.title, url=self.url, description=self.description or None, colour=COLOUR)
        for name, value in self.fields:
            embed.add_field(name=name, value=value, inline=False)
        if self.footer:
            embed.set_footer(text=self.footer)
        return embed


class _Layout:
    """Sections laid out as embeds, filled into messages as they go: a section starts in the room left in the current
    message and continues ("(continued)") in the next embed, or the next message, when a limit is reached."""

    def __init__(self, footer: str) -> None:
        self.footer = _cut(footer, FOOTER_BUDGET)
        # Every message keeps room for the footer, which goes on the last embed of the last one.
        self.budget = MESSAGE_EMBED_TOTAL - size(self.footer)
        self.pages: list[list[_Embed]] = [[]]

    def _room(self) -> int:
        return self.budget - sum(embed.size() for embed in self.pages[-1])

    def _start(self, title: str, continued: bool, url: str | None = None, needed: int = 0) -> _Embed:
        """A new embed in the current message if it has room for the title and `needed` more, else in a new one."""
        embed = _Embed(title=_cut(f"{title} (continued)" if continued else title, TITLE_LIMIT), url=url)
        if len(self.pages[-1]) >= EMBEDS_PER_MESSAGE or self._room() < embed.size() + needed:
            self.pages.append([])
        self.pages[-1].append(embed)
        return embed

    def _overflow(self, embed: _Embed, title: str, needed: int) -> _Embed:
        """Where content of size `needed` that does not fit in `embed` goes: a continuation embed, or, while `embed`
        is still empty, `embed` itself moved to a new message."""
        if embed.description or embed.fields:
            return self._start(title, True, needed=needed)
        self.pages[-1].remove(embed)
        self.pages.append([embed])
        return embed

    def text(self, title: str, lines: list[str], *, url: str | None = None) -> None:
        embed = self._start(title, False, url)
        for piece in (p for line in lines for p in split_text(line, DESCRIPTION_LIMIT) or [""]):
            joined = f"{embed.description}\n{piece}" if embed.description else piece
            if size(joined) > DESCRIPTION_LIMIT or size(joined) - size(embed.description) > self._room():
                embed = self._overflow(embed, title, size(piece))
                joined = piece
            embed.description = joined

    def fields(self, title: str, groups: list[tuple[str, list[str]]]) -> None:
        embed = self._start(title, False)
        for name, lines in groups:
            name = _cut(name, FIELD_NAME_LIMIT - len(" (continued)"))
            for index, value in enumerate(_pack(lines, FIELD_VALUE_LIMIT)):
                shown = name if index == 0 else f"{name} (continued)"
                if len(embed.fields) >= FIELDS_PER_EMBED or size(shown) + size(value) > self._room():
                    embed = self._overflow(embed, title, size(shown) + size(value))
                embed.fields.append((shown, value))

    def messages(self) -> list[Post]:
        self.pages[-1][-1].footer = self.footer
        return [Post(embeds=tuple(embed.build() for embed in page)) for page in self.pages if page]


def render_briefing(briefing: Briefing, *, link: str | None = None) -> list[Post]:
    """A briefing as one or more messages of embeds: TL;DR and key points, who said what, implications.

    `link` is the page the user shared: the title links to it. The page's own canonical URL is not linked, because it
    is whatever the page claims to be.
    """
    clean = sanitize_briefing(briefing)
    notes = [f"⚠ {safe(w)}" for w in clean.warnings]
    layout = _Layout("\n".join([safe(context_line(clean)), *notes]))
    title = safe(clean.source.title) or safe(clean.source.site_name) or "Briefing"
    head = [f"**TL;DR** {safe(clean.tldr)}"]
    if clean.key_points:
        head += ["", "**Key points**", *(f"• {safe(p.text)}" for p in clean.key_points)]
    layout.text(title, head, url=_embed_url(link))
    groups = clean.quotes_by_speaker()
    if groups:
        speakers = []
        for speaker, role, quotes in groups:
            name = safe(speaker) + (f" ({safe(role)})" if role else "")
            speakers.append((name, [_quote_line(q) for q in quotes]))
        layout.fields("Who said what", speakers)
    if clean.implications:
        layout.text("Implications", [f"• {safe(i.text)}" for i in clean.implications])
    return layout.messages()


def _quote_line(quote: Quote) -> str:
    if quote.kind == "direct":
        return f"> “{safe(quote.text)}”" + ("" if quote.verified else " *(unverified)*")
    return f"> {safe(quote.cue or 'said')}: {safe(quote.text)}"


def _embed_url(url: str | None) -> str | None:
    """`url` if Discord accepts it as an embed URL (http(s), no spaces, at most 2,048 characters)."""
    if url and re.fullmatch(r"https?://[^\s<>]{1,2040}", url, re.IGNORECASE):
        return url
    return None


# --- answers, notices, digests --------------------------------------------------------------------------------------


def render_answer(answer: Answer) -> list[Post]:
    """A follow-up answer as plain text with where it comes from; a refusal is shown as such."""
    if answer.refused or not answer.text.strip():
        reason = safe(sanitize_text(answer.reason or "")) or "The article doesn't say."
        if closest := safe(sanitize_text(answer.closest or "")):
            quoted = "\n".join(f"> {line}" for line in closest.splitlines() if line.strip())
            reason += f"\n{CLOSEST_LABEL}\n{quoted}\n-# {closest_note(answer)}"
        return _plain(reason)
    return _plain(f"{safe(sanitize_text(answer.text))}\n-# {citation_note(answer)} · engine: {safe(answer.engine)}")


def render_notice(text: str, *, emoji: str = "") -> list[Post]:
    """A message of ours (an error, a confirmation, a list); `text` may quote user input, so it is neutralised."""
    return _plain(neutralize(f"{emoji} {text}".strip()))


def render_digest(text: str, *, key: str) -> list[Post]:
    """A digest (our Markdown around article titles) as plain-text posts, each with a stable nonce."""
    parts = split_text(wrap_links(neutralize(text)), CONTENT_LIMIT)
    return [Post(content=part, nonce=digest_nonce(key, index)) for index, part in enumerate(parts)]


def _plain(text: str) -> list[Post]:
    return [Post(content=part) for part in split_text(wrap_links(text), CONTENT_LIMIT)]


# --- cutting --------------------------------------------------------------------------------------------------------


def split_text(text: str, limit: int = CONTENT_LIMIT) -> list[str]:
    """`text` in pieces of at most `limit` (UTF-16) characters, cut at a paragraph, line or word break if possible."""
    pieces: list[str] = []
    rest = text.strip()
    while size(rest) > limit:
        cut = _best_cut(rest, _fitting_prefix(rest, limit))
        piece, rest = rest[:cut].rstrip(), rest[cut:].lstrip()
        if piece:
            pieces.append(piece)
    if rest:
        pieces.append(rest)
    return pieces


def _pack(lines: list[str], limit: int) -> list[str]:
    """Lines joined by newlines into chunks of at most `limit`; a line longer than `limit` is split itself."""
    chunks: list[str] = []
    for piece in (p for line in lines for p in split_text(line, limit)):
        if chunks and size(chunks[-1]) + 1 + size(piece) <= limit:
            chunks[-1] += "\n" + piece
        else:
            chunks.append(piece)
    return chunks


def _cut(text: str, limit: int) -> str:
    """`text` shortened to `limit` characters with an ellipsis, at a glyph boundary."""
    if size(text) <= limit:
        return text
    cut = _glyph_boundary(text, _fitting_prefix(text, limit - 1))
    return text[:cut].rstrip() + "…"


def _fitting_prefix(text: str, limit: int) -> int:
    """The largest n such that text[:n] is at most `limit` UTF-16 code units."""
    units = 0
    for index, char in enumerate(text):
        units += 2 if ord(char) > 0xFFFF else 1
        if units > limit:
            return index
    return len(text)


def _best_cut(text: str, budget: int) -> int:
    """A cut at or before `budget`: the last paragraph, line or word break in the second half, else the budget."""
    hard = _safe_cut(text, budget)
    for separator in ("\n\n", "\n", " "):
        at = text.rfind(separator, budget // 2, hard)
        if at > 0 and _safe_cut(text, at) == at:
            return at
    return hard


def _safe_cut(text: str, cut: int) -> int:
    """The nearest position at or before `cut` outside a protected span and between glyphs (always > 0)."""
    for match in _PROTECTED.finditer(text, max(0, cut - 300), min(len(text), cut + 300)):
        if match.start() < cut < match.end() and match.start() > 0:
            cut = match.start()
            break
    return _glyph_boundary(text, cut)


def _glyph_boundary(text: str, cut: int) -> int:
    start = cut
    while 0 < cut < len(text) and _joins(text[cut - 1], text[cut]):
        cut -= 1
    return cut if cut > 0 else max(1, start)


def _joins(before: str, after: str) -> bool:
    """True when `before` and `after` draw one glyph (combining marks, ZWJ sequences, variation selectors, skin
    tones, tag sequences, and pairs of regional indicators, approximated as any two in a row)."""
    if unicodedata.category(after) in ("Mn", "Me", "Mc") or after in "\u200d\ufe0e\ufe0f" or before == "\u200d":
        return True
    if "\U0001f3fb" <= after <= "\U0001f3ff" or "\U000e0020" <= after <= "\U000e007f":
        return True
    return "\U0001f1e6" <= before <= "\U0001f1ff" and "\U0001f1e6" <= after <= "\U0001f1ff"
