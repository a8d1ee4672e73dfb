"""A one-sentence TL;DR drawn from the article, compressed to at most 35 words at clause boundaries.

The sentence is the best lead-most key point (news puts the story in its first sentences); if it runs long, whole
constituents are dropped in order of how little they carry: parentheticals and dashed asides, non-restrictive
relative clauses and ages, an attribution tail ("..., police said."), then trailing subordinate clauses. Cuts happen
only at punctuation or clause words, never mid-word, and never leave a quotation unbalanced.
"""

from __future__ import annotations

import re

from bot.brief.keypoints import Analysis, SentenceInfo, analyse, score_sentences, span_text
from bot.brief.sentences import Sentence
from bot.models import KeyPoint

MAX_WORDS = 35
_MIN_WORDS = 8  # a compression shorter than this has lost the story

# Removable inner constituents, tried in order; each is removed everywhere it occurs.
_INNER = (
    re.compile(r"\s*\([^()]*\)"),  # (parentheticals)
    re.compile(r"\s+(?:--|—|–)\s+[^-—–]{1,120}?\s+(?:--|—|–)(?=\s)"),  # -- dashed asides --
    re.compile(r",\s+(?:who|whose|which)\s+[^,;\"“”]{3,120},(?=\s)"),  # , who was ..., (non-restrictive)
    re.compile(r",\s+\d{1,3},(?=\s)"),  # , 45, (ages)
)
# "..., police said." / "..., according to the ministry." / "..., Smith told reporters on Tuesday."
_ATTRIBUTION_TAIL = re.compile(
    r",\s+(?:according\s+to\s+[^,;]{2,80}|[^,;\"“”]{2,60}?\s+(?:said|says|told\s+[^,;]{2,60}|added|reported)"
    r"(?:\s+(?:on\s+)?\w+day)?)\s*(?=[.!]?$)"
)
# Boundaries before trailing clauses that can go without changing what the main clause says.
_CLAUSE = re.compile(
    r"(?:,|;|\s+(?:--|—|–))\s+(?=(?:which|who|while|whilst|after|as|when|where|with|saying|because|although|though"
    r"|but|including|following|amid|despite|before|until|since|according|and|in|on|at|for|to|from|by|over|than|"
    r"[a-z]+ing)\b)"
    r"|\s+(?:--|—|–)\s+|;\s+"
)


def make_tldr(text: str, sentences: list[Sentence], key_points: list[KeyPoint], *, title: str | None = None) -> str:
    """One sentence of at most 35 words, drawn from the article: the best lead key point, compressed if needed.

    Deterministic. Returns "" only when the article has no usable sentence.
    """
    return choose_tldr(text, sentences, key_points, title=title)[0]


def choose_tldr(
    text: str, sentences: list[Sentence], key_points: list[KeyPoint], *, title: str | None = None
) -> tuple[str, tuple[int, int] | None]:
    """`make_tldr`'s sentence and the span of the article sentence it was drawn from (None when there is none)."""
    analysis = analyse(text, sentences)
    candidates = _candidates(analysis, key_points, title)
    compressed = [(info, compress(span_text(text, info))) for info in candidates]
    for info, short in compressed:
        if short and len(short.split()) <= MAX_WORDS:
            return short, (info.start, info.end)
    if not compressed:
        return "", None
    info, short = compressed[0]
    return _hard_cut(short or span_text(text, info)), (info.start, info.end)


def _candidates(analysis: Analysis, key_points: list[KeyPoint], title: str | None) -> list[SentenceInfo]:
    """Key-point sentences (or, without key points, all usable ones) ordered by TL;DR fitness, best first."""
    by_start = {analysis.infos[i].start: i for i in analysis.usable}
    chosen = [by_start[kp.evidence[0][0]] for kp in key_points if kp.evidence and kp.evidence[0][0] in by_start]
    pool = chosen or list(analysis.usable)
    scores = score_sentences(analysis, title)

    def fitness(i: int) -> float:
        info = analysis.infos[i]
        # The lead-most strong sentence wins; a quotation, a short teaser or a line without a full stop (a broken
        # or headline-like line) makes a poor one-line summary.
        body = info.sentence.text
        quote = 0.6 if body.lstrip()[:1] in "\"“‘'" else 0.0
        teaser = 0.5 if info.words < _MIN_WORDS + 4 else 0.0
        unfinished = 0.8 if not body.rstrip("\"'”’)").endswith((".", "!")) else 0.0
        return scores.get(i, 0.0) - quote - teaser - unfinished - 0.15 * pool.index(i)

    return [analysis.infos[i] for i in sorted(pool, key=lambda i: (-fitness(i), i))]


def compress(sentence: str, max_words: int = MAX_WORDS) -> str:
    """`sentence` shortened to at most `max_words` words by dropping whole constituents, or "" if it cannot be."""
    current = _finish(sentence)
    if _words(current) <= max_words:
        return current
    for pattern in _INNER:
        shorter = _finish(pattern.sub("", current))
        if _acceptable(shorter):
            current = shorter
        if _words(current) <= max_words:
            return current
    shorter = _finish(_ATTRIBUTION_TAIL.sub("", current.rstrip(".!")))
    if _acceptable(shorter):
        current = shorter
    # Trailing clauses: cut at the latest boundary that fits (keeps the most), else the earliest acceptable one.
    cuts = [m.start() for m in _CLAUSE.finditer(current)]
    for cut in sorted(cuts, reverse=True):
        shorter = _finish(current[:cut])
        if _words(shorter) <= max_words and _acceptable(shorter):
            return shorter
    return current if _words(current) <= max_words else ""


def _hard_cut(sentence: str, max_words: int = MAX_WORDS) -> str:
    """Last resort for a sentence with no usable clause boundary: the first `max_words` words and an ellipsis."""
    words = sentence.split()
    if len(words) <= max_words:
        return sentence
    return " ".join(words[:max_words]).rstrip(",;:-—–") + "…"


def _words(sentence: str) -> int:
    return len(sentence.split())


def _acceptable(sentence: str) -> bool:
    straight = sentence.count('"') % 2 == 0
    curly = sentence.count("“") == sentence.count("”")
    return _words(sentence) >= _MIN_WORDS and straight and curly and sentence.count("(") == sentence.count(")")


def _finish(sentence: str) -> str:
    """Tidy the ends: no dangling punctuation, a capital first letter, one terminal mark."""
    sentence = re.sub(r"\s+", " ", sentence).strip().rstrip(",;:-—– ")
    if not sentence:
        return ""
    sentence = sentence[0].upper() + sentence[1:]
    if sentence[-1] not in ".!?\"”’'…":
        sentence += "."
    return sentence
