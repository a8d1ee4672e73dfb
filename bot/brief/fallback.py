"""The speaker of a real quotation (long enough, not in a headline) that no cue and no orphan rule took: the subject
of the clause that introduces it ('Doe had a message for the council: "..."', 'Doe wants to "..."'), else the person
named last before it. The frame has no cue: the attribution is the writer's framing, not a verb of saying.
"""

from __future__ import annotations

import bisect

from bot.brief import mentions
from bot.brief.attribution import ArticleState, Frame
from bot.brief.cue_subjects import clause_subject
from bot.brief.quotemarks import QuoteSpan

# Words a quotation needs to be attributed without a cue; a shorter one only after a colon or a comma ('Doe: "..."').
_MIN_WORDS = 8
_MIN_WORDS_INTRODUCED = 4
# How far back (in sentences) the last named person may be.
_PERSON_LOOKBACK = 3


def fallback_frame(state: ArticleState, q: QuoteSpan, headline: bool) -> Frame | None:
    """A cue-less frame for quotation `q` (in a headline paragraph if `headline`), or None."""
    text = state.text
    n = mentions.count_words(text, q.start, q.end)
    pos = q.open_at - 1
    while pos >= 0 and text[pos].isspace():
        pos -= 1
    introduced = pos >= 0 and text[pos] in ":," and text[q.start : q.start + 1].isupper()
    if headline or n < _MIN_WORDS_INTRODUCED or (n < _MIN_WORDS and not introduced):
        return None
    sentence = state.sentences[state.sentence_of(q.open_at)]
    if mentions.count_words(text, sentence.start, q.open_at) >= 2:
        span = clause_subject(text, sentence.start, pos if introduced else q.open_at, "speech", initial=True)
        if span and not text[span[0] : span[1]].isupper():
            return _frame(q, *span)
    return _last_person(state, q)


def _frame(q: QuoteSpan, sp_start: int, sp_end: int) -> Frame:
    return Frame(q.open_at, q.open_at, "", sp_start, sp_end, post=False, clause_start=sp_start, clause_end=q.open_at)


def _last_person(state: ArticleState, q: QuoteSpan) -> Frame | None:
    """A frame for the person named last before `q` (within a few sentences, outside quotations)."""
    lo = state.sentences[max(state.sentence_of(q.open_at) - _PERSON_LOOKBACK, 0)].start
    found = state.index.mentions
    k = bisect.bisect_left(found, q.open_at, key=lambda m: m[0]) - 1
    while k >= 0 and found[k][0] >= lo:
        start, end, entity = found[k]
        if entity.kind == "person" and state.quote_at(start) is None and not state.text[start:end].isupper():
            return _frame(q, start, end)
        k -= 1
    return None
