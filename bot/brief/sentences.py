"""Sentence and paragraph segmentation with offsets, by rules (no downloadable models).

The rules handle what news text throws at a splitter: abbreviations (U.S., Sen., Gen., Jan.), initials (J. R. Smith),
decimals and times (3.5%, 9 a.m.), and quotations. A quotation that closes later in the same paragraph keeps its
sentences together with its attribution (`"A. B," she said.` is one sentence), so a key point never starts or ends
inside a quote. A quotation that runs over paragraphs (the opening mark repeated, no closing mark) splits normally.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

from bot.brief.quotemarks import scan_quotes
from bot.models import Span

# Lower-cased abbreviations (without the final period) after which a period does not end a sentence.
_ABBREVIATIONS = frozenset(
    """
    mr mrs ms dr prof sen rep gov gen lt col maj sgt capt cmdr adm rev fr hon pres supt insp det atty
    st ave blvd rd mt ft jr sr inc corp co ltd llc plc bros dept univ assn est approx vs etc al cf
    jan feb mar apr jun jul aug sep sept oct nov dec mon tue tues wed thu thur thurs fri sat sun
    no nos vol pp ed eds fig figs ca op
    ariz calif colo conn fla ill kan mass mich minn nev okla ore tenn tex wis wyo
    """.split()
)
# Capitalised words that, after an acronym such as "U.S.", show that the acronym did end the sentence.
_SENTENCE_STARTERS = frozenset(
    """
    the a an he she it they we i you this that these those there but and or so yet however meanwhile still
    in on at for after before when while if as his her its their our my some many most no not one two
    """.split()
)

# A paragraph is a line: pasted text and Article.text both put paragraphs on their own lines.
_PARAGRAPH = re.compile(r"[^\n]+")
# A candidate boundary: terminal punctuation, optional closing quotes/brackets, white space, then something that may
# start a sentence (an upper-case letter, a digit, an opening quote or bracket).
_BOUNDARY = re.compile(r"""[.!?…]+["'”’»)\]]*\s+(?=["'“‘«(\[]?[A-Z0-9À-Þ])""")
_LAST_TOKEN = re.compile(r"(\S+)$")
_NEXT_WORD = re.compile(r"""["'“‘«(\[]*([A-Za-z]+)""")
_INITIAL = re.compile(r"^\(?[A-Z]\.$")
_ACRONYM = re.compile(r"^\(?(?:[A-Za-z]\.){2,}$")
_END = 1 << 62  # sorts after any end offset, for bisecting (start, end) pairs by start
_CLOSING_MARKS = frozenset("\"”»’'")
# '"All the way!" Dawson shouted, ...': a short subject and a cue that end the clause attribute the quotation before
# them, so the sentence does not end at its closing mark ("He added, "..."" and "She said that ..." do not match).
_ATTRIBUTION_AFTER = re.compile(
    r"(?:[\w’'.\-]+\s+){1,6}?(?:said|says|asked|added|shouted|wrote|told|explained|continued|replied|tweeted|"
    r"recalled|noted|insisted|argued|remarked|declared|answered|responded|warned|joked|wondered)"
    r"(?:\s+[\w’'.\-]+){0,4}?\s*(?:[.;!?]|,(?!\s*[“\"«])|$)"
)


@dataclass(frozen=True, slots=True)
class Sentence:
    """A sentence: its span in the text, the index of its paragraph, and its text."""

    start: int
    end: int
    paragraph: int
    text: str


def paragraph_spans(text: str) -> list[Span]:
    """Spans of the paragraphs (non-empty lines) of `text`, trimmed of surrounding white space."""
    spans = []
    for match in _PARAGRAPH.finditer(text):
        start, end = _trim(text, match.start(), match.end())
        if start < end:
            spans.append((start, end))
    return spans


def split_sentences(text: str) -> list[Sentence]:
    """All sentences of `text` in order, each with offsets into `text` and its paragraph index."""
    sentences: list[Sentence] = []
    paragraphs = paragraph_spans(text)
    # Only quotations closed within their paragraph hold sentences together; one running over paragraphs splits.
    regions = [q.outer for q in scan_quotes(text, paragraphs) if q.closed and "\n" not in text[q.open_at : q.close_end]]
    for index, (p_start, p_end) in enumerate(paragraphs):
        for start, end in _split_paragraph(text, p_start, p_end, regions):
            sentences.append(Sentence(start, end, index, text[start:end]))
    return sentences


def sentence_spans(text: str) -> list[Span]:
    """Just the (start, end) spans of `split_sentences(text)`."""
    return [(s.start, s.end) for s in split_sentences(text)]


def _split_paragraph(text: str, p_start: int, p_end: int, regions: list[Span]) -> list[Span]:
    spans: list[Span] = []
    cursor = p_start
    for match in _BOUNDARY.finditer(text, p_start, p_end):
        cut = match.start() + len(match.group(0).rstrip())
        # A period inside a quotation that closes later keeps the sentence going ('"A. B," she said.'); one that
        # ends the quotation ends the sentence.
        if _inside(regions, cut - 1):
            continue
        # Only "?" and "!" end a quotation that an attribution then follows; after ".", news style starts anew.
        closes_question = text[cut - 1] in _CLOSING_MARKS and text[cut - 2] in "?!"
        if closes_question and _ATTRIBUTION_AFTER.match(text, match.end(), p_end):
            continue
        if not _is_boundary(text, match.start(), match.end()):
            continue
        spans.append((cursor, cut))
        cursor = match.end()
    spans.append((cursor, p_end))
    result = []
    for start, end in spans:
        start, end = _trim(text, start, end)
        if start < end:
            result.append((start, end))
    return result


def _is_boundary(text: str, punct_at: int, next_at: int) -> bool:
    """Decide whether the period at `punct_at` ends a sentence, looking at the token before and the word after."""
    if text[punct_at] != ".":
        return True
    # Only the token right before the period matters: look back a bounded distance (searching from 0 is quadratic).
    token_match = _LAST_TOKEN.search(text, max(0, punct_at - 64), punct_at + 1)
    token = token_match.group(1) if token_match else ""
    bare = token.rstrip(".").lstrip("(\"'“‘").lower()
    if bare in _ABBREVIATIONS:
        return False
    if _INITIAL.match(token):
        return False
    if _ACRONYM.match(token) or bare in {"a.m", "p.m"}:
        # "U.S. officials" continues; "in the U.S. The next day" ends. Decide by the next word.
        word = _NEXT_WORD.match(text, next_at)
        return bool(word) and word.group(1).lower() in _SENTENCE_STARTERS
    return True


def _inside(regions: list[Span], pos: int) -> bool:
    """True when `pos` is strictly inside a closed quotation (not on its opening or closing mark)."""
    i = bisect.bisect_right(regions, (pos, _END)) - 1
    return i >= 0 and regions[i][0] < pos < regions[i][1] - 1


def _trim(text: str, start: int, end: int) -> Span:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
