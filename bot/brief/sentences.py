"""Sentence and paragraph segmentation with offsets, by rules (no downloadable models).

The rules handle what news text throws at a splitter: abbreviations (U.S., Sen., Gen., Jan.), initials (J. R. Smith),
decimals and times (3.5%, 9 a.m.), and quotations. A quotation that closes later in the same paragraph keeps its
sentences together with its attribution (`"A. B," she said.` is one sentence), so a key point never starts or ends
inside a quote. A quotation that runs over paragraphs (the opening mark repeated, no closing mark) splits normally.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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
_OPENERS = {"“": "”", "«": "»"}


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
    for index, (p_start, p_end) in enumerate(paragraph_spans(text)):
        for start, end in _split_paragraph(text, p_start, p_end):
            sentences.append(Sentence(start, end, index, text[start:end]))
    return sentences


def sentence_spans(text: str) -> list[Span]:
    """Just the (start, end) spans of `split_sentences(text)`."""
    return [(s.start, s.end) for s in split_sentences(text)]


def _split_paragraph(text: str, p_start: int, p_end: int) -> list[Span]:
    paragraph = text[p_start:p_end]
    protected = _quoted_regions(paragraph)
    spans: list[Span] = []
    cursor = 0
    for match in _BOUNDARY.finditer(paragraph):
        cut = match.start() + len(match.group(0).rstrip())
        if _inside(protected, match.start()) or not _is_boundary(paragraph, match.start(), match.end()):
            continue
        spans.append((cursor, cut))
        cursor = match.end()
    spans.append((cursor, len(paragraph)))
    result = []
    for start, end in spans:
        start, end = _trim(paragraph, start, end)
        if start < end:
            result.append((p_start + start, p_start + end))
    return result


def _is_boundary(paragraph: str, punct_at: int, next_at: int) -> bool:
    """Decide whether the period at `punct_at` ends a sentence, looking at the token before and the word after."""
    if paragraph[punct_at] != ".":
        return True
    token_match = _LAST_TOKEN.search(paragraph, 0, punct_at + 1)
    token = token_match.group(1) if token_match else ""
    bare = token.rstrip(".").lstrip("(\"'“‘").lower()
    if bare in _ABBREVIATIONS:
        return False
    if _INITIAL.match(token):
        return False
    if _ACRONYM.match(token) or bare in {"a.m", "p.m"}:
        # "U.S. officials" continues; "in the U.S. The next day" ends. Decide by the next word.
        word = _NEXT_WORD.match(paragraph, next_at)
        return bool(word) and word.group(1).lower() in _SENTENCE_STARTERS
    return True


def _quoted_regions(paragraph: str) -> list[Span]:
    """Regions between an opening and the matching closing double quote within the paragraph."""
    regions: list[Span] = []
    i = 0
    n = len(paragraph)
    while i < n:
        char = paragraph[i]
        closer = _OPENERS.get(char) or ('"' if char == '"' else None)
        if closer is None:
            i += 1
            continue
        close_at = paragraph.find(closer, i + 1)
        if closer == '"' and close_at == -1:
            i += 1
            continue
        if close_at == -1:
            # A curly quote opened and never closed with its mate: accept a straight or mismatched closing mark
            # ("..., Stoltenberg said" articles often mix marks); otherwise it runs on to the next paragraph.
            close_at = _find_any(paragraph, i + 1, ('"', "’", "'"))
            if close_at == -1:
                i += 1
                continue
        regions.append((i, close_at))
        i = close_at + 1
    return regions


def _find_any(text: str, start: int, marks: tuple[str, ...]) -> int:
    """Position of the first of `marks` that closes a quotation (followed by space or punctuation), or -1."""
    for pos in range(start, len(text)):
        closes = pos + 1 == len(text) or not text[pos + 1].isalnum()
        if text[pos] in marks and closes and text[pos - 1] in ",.!?":
            return pos
    return -1


def _inside(regions: list[Span], pos: int) -> bool:
    return any(start < pos < end for start, end in regions)


def _trim(text: str, start: int, end: int) -> Span:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
