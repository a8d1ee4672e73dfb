"""Block Kit rendering for Slack: briefings, answers and notices, escaped and split to Slack's limits.

Everything that came from an article or a model goes through `bot.brief.sanitize` (mentions, invisible characters,
foreign URLs removed) and then through `escape` (Slack's `&`, `<`, `>`), so no `<!channel>`, `<@U…>`,
`<!subteam^…>` or `<url|label>` in article text can become live. The only `<…>` this module emits itself is the link
to the page the user shared, written as `<url>` (no label that could differ from the target). mrkdwn objects are
`verbatim`, so Slack does not auto-link names or URLs in them either.

Limits (reliability.md section 2): header 150 characters, section text 3,000, 50 blocks per message, a top-level
`text` fallback on every message. Long text is split without breaking a `<…>` link, a `:shortcode:` emoji, a
character sequence that draws one glyph, or a code fence (an open fence is closed and reopened across the cut).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from bot.brief.answer import CLOSEST_LABEL, Answer, citation_note, closest_note
from bot.brief.sanitize import sanitize_briefing, sanitize_text
from bot.models import Briefing, Quote

__all__ = [
    "BLOCKS_PER_MESSAGE",
    "HEADER_LIMIT",
    "SECTION_LIMIT",
    "SlackMessage",
    "escape",
    "paginate",
    "plain_text",
    "render_answer",
    "render_briefing",
    "render_notice",
    "split_mrkdwn",
]

SECTION_LIMIT = 3000
HEADER_LIMIT = 150
BLOCKS_PER_MESSAGE = 50
CONTEXT_LIMIT = 2000  # one context element; Slack allows more, a context line should never need it
FALLBACK_LIMIT = 500  # the notification text: a glance, not the briefing
# Our choice: a message of 50 full sections (150,000 characters) is more than a reader scrolls or Slack accepts.
MESSAGE_CHAR_BUDGET = 12_000

Block = dict[str, Any]

# Spans a cut must not fall inside: a Slack `<…>` link/token, an emoji shortcode, a code-fence marker.
_PROTECTED = re.compile(r"<[^<>\n]{1,3000}>|:[a-z0-9_+'-]{1,100}:|```", re.IGNORECASE)
_FENCE = "```"
_SLACK_MARKUP = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")  # <target> or <target|label>


@dataclass(frozen=True, slots=True)
class SlackMessage:
    """One Slack message: the `text` fallback (notifications, screen readers) and its blocks."""

    text: str
    blocks: list[Block] = field(default_factory=list)


def escape(text: str) -> str:
    """Slack's three escapes. After this no `<!channel>`, `<@U…>` or `<url|label>` from `text` can be live."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def plain_text(text: str) -> str:
    """Slack message markup as the words a reader sees: `<url|label>` -> label, `<#C1|general>` -> #general,
    other mentions dropped, and Slack's `&amp;`/`&lt;`/`&gt;` undone (the core reads text, not Slack markup)."""

    def token(match: re.Match[str]) -> str:
        target, label = match.group(1), match.group(2)
        if target.startswith(("@", "!")):
            return label or ""
        if target.startswith("#"):
            return f"#{label}" if label else ""
        return label or target

    text = _SLACK_MARKUP.sub(token, text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").strip()


def _fit(raw: str, limit: int) -> str:
    """`raw` escaped and cut to `limit` characters (with an ellipsis), never cutting inside an entity."""
    escaped = escape(raw)
    if len(escaped) <= limit:
        return escaped
    cut = limit - 1
    while cut > 1 and len(escape(raw[:cut])) > limit - 1:
        cut -= 1
    return escape(raw[: _safe_cut(raw, cut)].rstrip()) + "…"


def _mrkdwn(text: str) -> Block:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _section(text: str) -> Block:
    return {"type": "section", "text": _mrkdwn(text)}


def _context(text: str) -> Block:
    return {"type": "context", "elements": [_mrkdwn(text[:CONTEXT_LIMIT])]}


def _sections(text: str) -> list[Block]:
    return [_section(chunk) for chunk in split_mrkdwn(text, SECTION_LIMIT)]


def link(url: str | None) -> str | None:
    """`<url>` for an http(s) URL that Slack can carry in a link; None for anything else."""
    if not url or any(ch.isspace() or ch in "<>|" for ch in url):
        return None
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return None
    return f"<{escape(url)}>" if scheme in ("http", "https") else None


# --- briefings ---------------------------------------------------------------------------------------------------


def render_briefing(briefing: Briefing, *, link_url: str | None = None) -> list[SlackMessage]:
    """A briefing as one or more messages (continuations go in the same thread).

    `link_url` is the page the user shared: the only link shown. A page's own canonical URL is not linked, because it
    is whatever the page claims to be.
    """
    safe = sanitize_briefing(briefing)
    title = safe.source.title or safe.source.site_name or "Briefing"
    blocks: list[Block] = [{"type": "header", "text": {"type": "plain_text", "text": _fit(title, HEADER_LIMIT)}}]
    blocks += _sections(f"*TL;DR* {escape(safe.tldr)}")
    if safe.key_points:
        blocks += _sections("*Key points*\n" + "\n".join(f"• {escape(p.text)}" for p in safe.key_points))
    groups = safe.quotes_by_speaker()
    if groups:
        blocks.append(_section("*Who said what*"))
        for speaker, role, quotes in groups:
            heading = f"*{escape(speaker)}*" + (f" _({escape(role)})_" if role else "")
            blocks += _sections(heading + "\n" + "\n".join(_quote_line(q) for q in quotes))
    if safe.implications:
        blocks += _sections("*Implications*\n" + "\n".join(f"• {escape(i.text)}" for i in safe.implications))
    for warning in safe.warnings:
        blocks.append(_context(f":warning: {escape(warning)}"))
    blocks.append(_context(_context_line(safe, link_url)))
    fallback = _fit(f"{title}: {safe.tldr}", FALLBACK_LIMIT)
    return paginate(blocks, fallback, continued=_fit(f"{title} (continued)", FALLBACK_LIMIT))


def _quote_line(quote: Quote) -> str:
    if quote.kind == "direct":
        mark = "" if quote.verified else " _(unverified)_"
        return f"> “{escape(quote.text)}”{mark}"
    return f"> {escape(quote.cue or 'said')}: {escape(quote.text)}"


def _context_line(briefing: Briefing, link_url: str | None) -> str:
    source = briefing.source
    parts = [escape(p) for p in (source.site_name, source.byline, source.published) if p]
    shown = link(link_url)
    if shown:
        parts.append(shown)
    parts.append(f"engine: {escape(briefing.engine)}")
    parts.append(escape(briefing.coverage.note))
    usage = briefing.usage
    if usage.calls:
        parts.append(f"{usage.prompt_tokens} + {usage.completion_tokens} tokens, ~${usage.cost_usd:.4f}")
    return " · ".join(parts)


def paginate(blocks: list[Block], fallback: str, *, continued: str | None = None) -> list[SlackMessage]:
    """Group blocks into messages of at most 50 blocks (and a character budget); each message gets a fallback."""
    messages: list[list[Block]] = [[]]
    size = 0
    for block in blocks:
        weight = _block_chars(block)
        current = messages[-1]
        if current and (len(current) >= BLOCKS_PER_MESSAGE or size + weight > MESSAGE_CHAR_BUDGET):
            messages.append([])
            size = 0
        messages[-1].append(block)
        size += weight
    return [
        SlackMessage(fallback if index == 0 else (continued or fallback), page) for index, page in enumerate(messages)
    ]


def _block_chars(block: Block) -> int:
    text = block.get("text")
    if isinstance(text, dict):
        return len(text.get("text", ""))
    return sum(len(e.get("text", "")) for e in block.get("elements", []))


# --- answers and notices -----------------------------------------------------------------------------------------


def render_answer(answer: Answer) -> SlackMessage:
    """A follow-up answer; a refusal ("the article doesn't say") is shown as such."""
    if answer.refused:
        reason = answer.reason or "The article doesn't say."
        blocks = _sections(escape(sanitize_text(reason)))
        if closest := sanitize_text(answer.closest or ""):
            quoted = "\n".join(f"&gt; {line}" for line in escape(closest).splitlines() if line.strip())
            blocks += [*_sections(f"{CLOSEST_LABEL}\n{quoted}")[:3], _context(closest_note(answer))]
        return SlackMessage(_fit(reason, FALLBACK_LIMIT), blocks)
    body = sanitize_text(answer.text) or "The article doesn't say."
    note = f"{citation_note(answer)} · engine: {escape(answer.engine)}"
    # An answer is a few sentences; should a model ramble past 49 sections, the rest is dropped rather than split.
    blocks = [*_sections(escape(body))[: BLOCKS_PER_MESSAGE - 1], _context(note)]
    return SlackMessage(_fit(body, FALLBACK_LIMIT), blocks)


def render_notice(text: str, *, emoji: str = "") -> SlackMessage:
    """A one-line message of ours (placeholder, error, confirmation); `text` is escaped, never trusted."""
    line = f"{emoji} {escape(text)}".strip() if emoji else escape(text)
    chunks = split_mrkdwn(line, SECTION_LIMIT)
    return SlackMessage(
        _fit(f"{emoji} {text}".strip(), FALLBACK_LIMIT), [_section(c) for c in chunks[:BLOCKS_PER_MESSAGE]]
    )


def render_mrkdwn(text: str, fallback: str) -> list[SlackMessage]:
    """Our own, already escaped mrkdwn (help, lists) as messages."""
    return paginate(_sections(text), _fit(fallback, FALLBACK_LIMIT))


# --- splitting ---------------------------------------------------------------------------------------------------


def split_mrkdwn(text: str, limit: int) -> list[str]:
    """Cut `text` into pieces of at most `limit` characters, at a paragraph, line or word break when possible.

    A cut never falls inside a `<…>` link, a `:shortcode:`, a `` ``` `` marker or a multi-code-point glyph (combining
    marks, ZWJ emoji sequences, skin tones, flags). A code fence open at a cut is closed there and reopened in the next
    piece, so every piece renders on its own.
    """
    if len(text) <= limit:
        return [text]
    reserve = len(_FENCE) + 1  # room to close a fence ("\n```") at the end of a piece
    pieces: list[str] = []
    rest, in_fence = text, False
    while rest:
        prefix = _FENCE + "\n" if in_fence else ""
        if len(prefix) + len(rest) <= limit:
            pieces.append(prefix + rest)
            break
        cut = _best_cut(rest, limit - len(prefix) - reserve)
        piece, rest = rest[:cut].rstrip(), rest[cut:].lstrip(" \n")
        opens = in_fence != (piece.count(_FENCE) % 2 == 1)
        pieces.append(prefix + piece + ("\n" + _FENCE if opens else ""))
        in_fence = opens
    return [p for p in pieces if p.strip()]


def _best_cut(text: str, budget: int) -> int:
    """Where to cut `text` so the piece has at most `budget` characters: the last break in the piece's second half."""
    cut = _safe_cut(text, budget)
    floor = budget // 2
    for separator in ("\n\n", "\n", " "):
        at = text.rfind(separator, floor, cut)
        if at > 0:
            safe = _safe_cut(text, at)
            if safe == at:
                return at
    return cut


def _safe_cut(text: str, cut: int) -> int:
    """The nearest position at or before `cut` that is outside protected spans and between glyphs (> 0)."""
    cut = min(cut, len(text))
    window_start = max(0, cut - 3100)
    for match in _PROTECTED.finditer(text, window_start, min(len(text), cut + 3100)):
        if match.start() < cut < match.end():
            if match.start() > 0:
                cut = match.start()
            break
    while 0 < cut < len(text) and _joins(text, cut):
        cut -= 1
    return cut if cut > 0 else min(len(text), max(1, cut))


def _joins(text: str, at: int) -> bool:
    """True when `text[at-1]` and `text[at]` belong to one glyph."""
    before, after = text[at - 1], text[at]
    if unicodedata.category(after) in ("Mn", "Me", "Mc") or after in "\u200d\ufe0e\ufe0f":
        return True
    if before == "\u200d" or "\U0001f3fb" <= after <= "\U0001f3ff" or "\U000e0020" <= after <= "\U000e007f":
        return True
    if _regional(after) and _regional(before):
        # Flags are pairs of regional indicators: count the run before `at` to know if we are mid-pair.
        run = 0
        while at - 1 - run >= 0 and _regional(text[at - 1 - run]):
            run += 1
        return run % 2 == 1
    return False


def _regional(ch: str) -> bool:
    return "\U0001f1e6" <= ch <= "\U0001f1ff"
