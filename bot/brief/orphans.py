"""Quotations without a cue of their own: a dash attribution ('"..." — Jane Doe'), a name and a colon ('Jane Doe:
"..."'), a subject and cue opening the next sentence ('"Why?" Doe asked.'), the continuation of the speaker quoted
just before (in the same paragraph, or the paragraph before when this one opens with the quotation), and, failing
all of these, the speaker `fallback` finds from the text around the quotation.
"""

from __future__ import annotations

import bisect
import re

from bot.brief import mentions
from bot.brief.attribution import CLOSING_MARKS, ArticleState, Frame
from bot.brief.fallback import fallback_frame
from bot.brief.quotemarks import QuoteSpan

# '"..." — Jane Doe': a dash attribution.
_DASH_SPEAKER = re.compile(r"[ \t]*(?:--|[-–—])[ \t]*(?=[A-Z])")
# What may come before 'Doe:' introducing a quotation: an adjunct and a comma or dash, or "from".
_COLON_LEAD = re.compile(r"(?:[,—–]|\s-|\bfrom)\s*$")


def attribute_orphans(state: ArticleState) -> None:
    """Attribute the quotations no cue took (adds to `state.results`); short ones (scare quotes) stay unattributed."""
    done = sorted(state.results, key=lambda r: r[1])
    starts = [r[1] for r in done]
    producing = {id(r[0]) for r in state.results}
    for k, q in enumerate(state.quotes):
        if k in state.used or mentions.count_words(state.text, q.start, q.end) < 3:
            continue
        i = bisect.bisect_left(starts, q.start) - 1
        prev = done[i] if i >= 0 else None
        if prev and prev[3] != "direct" and not prev[0].post:
            # "...," Doe said, suggesting that ... "...": continue the quotation of the same speaker.
            same = next((r for r in reversed(done[:i]) if r[3] == "direct" and r[0].sp_start == prev[0].sp_start), None)
            # "As for Trump, he said he's not worried. "First of all, ..."": the indirect statement's speaker goes on.
            prev = same if same and state.same_paragraph(same[2], prev[1]) else prev
        if _char_before(state.text, q.open_at)[1] not in {".", "!", "?", ":", "”", '"', "’", ""}:
            prev = None  # only a quotation that opens a sentence continues the previous speaker
        bare_next, next_frame = _next_sentence_frame(state, q, producing)
        frame = _dash_frame(state, q) or _colon_frame(state, q) or bare_next
        if frame is None and prev and state.same_paragraph(prev[2], q.open_at):
            frame = prev[0]
        frame = frame or next_frame
        if frame is None and prev and state.next_paragraph(prev[2], q):
            frame = prev[0]
        if frame is None:
            headline = _is_headline(state.text, state.paragraphs[state.paragraph_of(q.open_at)])
            frame = fallback_frame(state, q, headline)
        if frame is not None:
            state.used.add(k)
            state.results.append((frame, q.start, q.end, "direct"))
            at = bisect.bisect_left(starts, q.start)
            starts.insert(at, q.start)
            done.insert(at, state.results[-1])


def _char_before(text: str, pos: int) -> tuple[int, str]:
    """The last character before `pos` that is not white space, and its position (-1, "" if none)."""
    pos -= 1
    while pos >= 0 and text[pos].isspace():
        pos -= 1
    return pos, text[pos] if pos >= 0 else ""


def _dash_frame(state: ArticleState, q: QuoteSpan) -> Frame | None:
    dash = _DASH_SPEAKER.match(state.text, q.close_end)
    if not q.closed or not dash:
        return None
    span = mentions.subject_after(state.text, dash.end(), len(state.text), "speech")
    if not span:
        return None
    return Frame(q.close_end, q.close_end, "", *span, post=True, clause_start=dash.start(), clause_end=span[1])


def _is_headline(text: str, paragraph: tuple[int, int]) -> bool:
    """A title-case line: most of its words are capitalised."""
    words = text[paragraph[0] : paragraph[1]].split()
    return len(words) > 3 and sum(w[:1].isupper() for w in words) >= 0.7 * len(words)


def _colon_frame(state: ArticleState, q: QuoteSpan) -> Frame | None:
    """'Republican pollster Jane Doe: "..."': a name and a colon introducing the quotation."""
    text = state.text
    head = text[state.sentences[state.sentence_of(q.open_at)].start : q.open_at].rstrip()
    if not head.endswith(":") or _is_headline(text, state.paragraphs[state.paragraph_of(q.open_at)]):
        return None  # 'Doe: "We Will Win"' as a title repeats a quotation of the story
    colon = _char_before(text, q.open_at)[0]
    lo = colon - len(head) + 1
    span = mentions.subject_before(text, lo, colon, "speech")
    if not span or not text[span[1] - 1].isalpha() or not text[span[0]].isupper():
        return None
    if text[lo : span[0]].strip() and not _COLON_LEAD.search(text, lo, span[0]):
        return None  # 'In a tweet, Doe: "..."', 'More from Doe: "..."' but not 'It was hard for Doe: "..."'
    return Frame(colon, colon, "", *span, post=False, clause_start=span[0], clause_end=colon)


def _next_sentence_frame(state: ArticleState, q: QuoteSpan, producing: set[int]) -> tuple[Frame | None, Frame | None]:
    """A subject and cue opening the sentence after a quotation: ('"Why?" Doe asked.' -> a bare cue clause with
    no content of its own, '"...." She added that ...' -> a cue clause with content), or None."""
    s = state.sentence_of(q.end)
    for frame in state.frames.get(s, []) + state.frames.get(s + 1, []):
        if frame.sp_start < q.close_end or not state.same_paragraph(q.end, frame.cue_start):
            continue
        head = state.text[q.close_end : frame.sp_start].strip()
        if frame.sp_start < frame.cue_start and (not head or head in CLOSING_MARKS):
            return (None, frame) if id(frame) in producing else (frame, None)
    return None, None
