"""Quotation spans by their marks, and the verbatim check of a quote against its article.

Handles straight "...", curly “...”, low „...“ and guillemets «...», top-level single ‘...’ quotations, a curly
quotation closed by a mismatched mark (“...family,’ X said), and quotations that run over paragraphs: the opening mark
repeated on each paragraph and only the last one closed.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from bot.models import Span

_OPENERS = re.compile(r"[\"“«„‘]")
_CLOSERS = {"“": "”", "«": "»", "„": "“", '"': '"'}
# Characters after which a straight double quote opens rather than closes a quotation.
_OPEN_CONTEXT = frozenset(" \t\n([{—–-/")
_DOUBLE_MARKS = '"“”„«»'
_NORMALIZE = str.maketrans({c: None for c in _DOUBLE_MARKS} | {"‘": "'", "’": "'", "`": "'", "\u00a0": " "})
_SPACES = re.compile(r"\s+")
# A straight or left curly mark closing a curly quotation after its final punctuation ('“...," she said').
_STRAIGHT_CLOSE = re.compile(r"[,.!?][\"“](?=\s|$)")
_ELLIPSIS = re.compile(r"\s*(?:\.\.\.|…|\[\s*\.\.\.\s*\]|\(\s*\.\.\.\s*\))\s*")


@dataclass(frozen=True, slots=True)
class QuoteSpan:
    """A quotation: its opening mark, its content (start, end), and the end of its closing mark."""

    open_at: int
    start: int
    end: int
    close_end: int
    closed: bool

    @property
    def outer(self) -> Span:
        return (self.open_at, self.close_end)


def scan_quotes(text: str, paragraphs: list[Span]) -> list[QuoteSpan]:
    """Every quotation of `text` in order; `paragraphs` are the spans of `paragraph_spans(text)`."""
    found: list[QuoteSpan] = []
    pending: tuple[int, int, str, int] | None = None  # open_at, content start, mark, end of its last paragraph
    for p_start, p_end in paragraphs:
        i = p_start
        if pending is not None:
            open_at, start, mark, last_end = pending
            if text[p_start] in (mark, _CLOSERS.get(mark, mark), "“", '"', "«"):
                close = _close(text, p_start + 1, p_end, mark)
                if close < 0:
                    pending = (open_at, start, mark, p_end)
                    continue
                found.append(_span(text, open_at, start, close, True))
                pending = None
                i = close + 1
            else:
                # A paragraph break inside a quotation without the repeated mark: it continues if a closing curly
                # mark comes before any opening one in this paragraph.
                close = text.find("”", p_start, p_end) if mark == "“" else -1
                if close >= 0 and text.find("“", p_start, close) < 0:
                    found.append(_span(text, open_at, start, close, True))
                    i = close + 1
                else:
                    found.append(_span(text, open_at, start, last_end, False))
                pending = None
        while True:
            match = _OPENERS.search(text, i, p_end)
            if not match:
                break
            pos, mark = match.start(), match.group(0)
            if mark == '"' and pos > p_start and text[pos - 1] not in _OPEN_CONTEXT:
                i = pos + 1  # a stray closing mark
                continue
            if mark == "‘":
                close = _single_close(text, pos, p_end)
                if close > 0:
                    found.append(_span(text, pos, pos + 1, close, True))
                i = max(close, pos) + 1
                continue
            close = _close(text, pos + 1, p_end, mark)
            if close < 0:
                pending = (pos, pos + 1, mark, p_end)
                break
            found.append(_span(text, pos, pos + 1, close, True))
            i = close + 1
    if pending is not None:
        found.append(_span(text, pending[0], pending[1], pending[3], False))
    return found


def _close(text: str, start: int, end: int, mark: str) -> int:
    """Position of the mark closing a quotation opened with `mark`, or -1 if it is not closed in the paragraph."""
    closer = _CLOSERS[mark]
    close = text.find(closer, start, end)
    if mark == '"':
        curly = text.find("”", start, close if close >= 0 else end)
        close = curly if curly >= 0 else close  # "...,” said Doe: a straight mark closed by a curly one
    elif mark == "“":
        # “...," she said: a curly mark closed by a straight one (after the final punctuation of the quotation).
        straight = _STRAIGHT_CLOSE.search(text, start, close if close >= 0 else end)
        close = straight.start() + 1 if straight else close
    if mark == "„" and close < 0:
        close = text.find("”", start, end)
    if close < 0 and mark in "“„":
        # “...family,’ X said: a mismatched closing mark after the final punctuation of the quotation.
        for m in re.finditer(r"[,.!?][’'\"](?![\w])", text[start:end]):
            return start + m.start() + 1
    return close


def _single_close(text: str, pos: int, end: int) -> int:
    """Closing ’ of a top-level ‘...’ quotation of three words or more (not an apostrophe), or -1."""
    if (pos > 0 and text[pos - 1] not in _OPEN_CONTEXT) or not text[pos + 1 : pos + 2].isalpha():
        return -1  # "‘08" is an elided year, not a quotation
    for m in re.finditer(r"(?<=[\w.,!?])’(?![\w])", text[pos + 1 : end]):
        close = pos + 1 + m.start()
        return close if text.count(" ", pos, close) >= 2 else -1
    return -1


def _span(text: str, open_at: int, start: int, close: int, closed: bool) -> QuoteSpan:
    """Trim white space and the comma that separates a quotation from its attribution ("...," she said)."""
    end = close
    while end > start and (text[end - 1].isspace() or text[end - 1] in ",;"):
        end -= 1
    while start < end and text[start].isspace():
        start += 1
    return QuoteSpan(open_at, start, end, close + 1 if closed else close, closed)


@functools.lru_cache(maxsize=8)
def _normalized(text: str) -> str:
    return _SPACES.sub(" ", text.translate(_NORMALIZE)).casefold()


def verify_quote(article_text: str, quote_text: str) -> bool:
    """True if `quote_text` occurs word for word in `article_text`, ignoring white space, the kind of quotation marks
    and letter case. An ellipsis in the quote marks an elision: each part must then occur, in order."""
    article = _normalized(article_text)
    parts = [_SPACES.sub(" ", p.translate(_NORMALIZE)).casefold().strip(" ,;:") for p in _ELLIPSIS.split(quote_text)]
    parts = [p.rstrip(".!?") if i == len(parts) - 1 else p for i, p in enumerate(parts)]
    parts = [p for p in parts if p]
    if not parts:
        return False
    pos = 0
    for part in parts:
        found = article.find(part, pos)
        if found < 0:
            return False
        pos = found + len(part)
    return True
