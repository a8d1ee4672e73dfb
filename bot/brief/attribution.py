"""The attribution rules: for every cue in a sentence, its speaker mention and its content.

A cue (see `cues`) gets a frame: the span of its speaker mention (the subject before it, the inverted subject after it,
the subject of the clause a participle or a coordinated verb hangs on) and whether its content comes before the cue
clause ('"...," Doe said.', '..., Doe said.') or after it ('Doe said (that) ...', 'Doe said: "..."'). The content is
the quotation next to the cue clause or the clause itself (see `content`).
`orphans` then attributes the quotations left without a cue, and `quotes` resolves speakers and emits attributions.
"""

from __future__ import annotations

import bisect
import re

from bot.brief import mentions
from bot.brief.content import CLOSING_MARKS, COORDINATED, Frame, Result, content
from bot.brief.cue_subjects import INFINITIVE_CUES, clause_subject, governed_subject, is_infinitive
from bot.brief.cues import NOT_A_CUE_BEFORE, cue_class, find_cues
from bot.brief.quotemarks import QuoteSpan, scan_quotes
from bot.brief.sentences import Sentence, paragraph_spans, split_sentences
from bot.brief.speakers import SpeakerIndex

__all__ = ["CLOSING_MARKS", "ArticleState", "Frame", "Result"]

_PREV_WORD = re.compile(r"([\w’'-]+)\s*$")

# -- frames: the speaker of a cue ----------------------------------------------------------------------------------
# "is saying", "was telling": a progressive, whose subject is right before it (not the clause it hangs on).
_PROGRESSIVE = re.compile(r"\b(?:is|are|was|were|been|be|keeps?|kept)(?:\s+\w+ly)?\s*$")
# "he's expected", "she's thought": a passive with a contracted "is".
_PASSIVE_S = re.compile(r"\w[’']s(?:\s+\w+ly)?$")
# "Noting he majored in philosophy, Allen said ...": an opening participle phrase is not the content.
_INTRO_PARTICIPLE = re.compile(r"[A-Z][a-z]+ing\b[^,”\"]*,$")
_BY_AFTER = re.compile(r"\s+by\b")
_COMMA_BEFORE = re.compile(r",[”\"’]?\s*$")
# "She followed that by saying, ...": a participle whose subject opens the sentence.
_BY_PARTICIPLE = re.compile(r"\b(?:by|while|before|after|when)$")
# "WASHINGTON — ", "LOS ANGELES (AP) -- ": a dateline before the first sentence of a story.
_DATELINE = re.compile(r"[A-Z][A-Z.]+(?:[ ,]+[A-Z][A-Za-z.]*)*\s*(?:\([^)]{1,20}\)\s*)?(?:—|–|--|-)\s*")
# A name or pronoun opening a sentence.
_LEADING_NAME = re.compile(r"(?:[A-Z][\w’'.\-]*\s+){0,3}[A-Z][\w’'.\-]*|(?:He|She|They|It|We)\b")


class ArticleState:
    """The state of one extraction: paragraphs, sentences, quotations, entities, frames and results."""

    def __init__(self, text: str, sentences: list[Sentence] | None = None) -> None:
        self.text = text
        self.paragraphs = paragraph_spans(text)
        self.p_starts = [p for p, _ in self.paragraphs]
        self.quotes: list[QuoteSpan] = scan_quotes(text, self.paragraphs)
        self.q_opens = [q.open_at for q in self.quotes]
        self.sentences: list[Sentence] = sentences or split_sentences(text)
        self.sent_starts = [s.start for s in self.sentences]
        self.index = SpeakerIndex(text, self.sent_starts, [q.outer for q in self.quotes])
        self.results: list[Result] = []  # frame, start, end, kind
        self.used: set[int] = set()  # indices of quotations already attributed
        self.frames: dict[int, list[Frame]] = {}  # by sentence index

    # -- helpers ---------------------------------------------------------------------------------------------------

    def quote_at(self, pos: int) -> int | None:
        """Index of the quotation whose marks enclose `pos`, if any (quotations never overlap)."""
        k = bisect.bisect_right(self.q_opens, pos) - 1
        return k if k >= 0 and pos < self.quotes[k].close_end else None

    def quotes_within(self, start: int, end: int) -> list[int]:
        k = bisect.bisect_left(self.q_opens, start)
        out = []
        while k < len(self.quotes) and self.quotes[k].open_at < end:
            out.append(k)
            k += 1
        return out

    def sentence_of(self, pos: int) -> int:
        return max(bisect.bisect_right(self.sent_starts, pos) - 1, 0)

    def paragraph_of(self, pos: int) -> int:
        return bisect.bisect_right(self.p_starts, pos) - 1

    def same_paragraph(self, a: int, b: int) -> bool:
        return self.paragraph_of(a) == self.paragraph_of(b)

    def next_paragraph(self, prev_end: int, q: QuoteSpan) -> bool:
        """A paragraph that opens with a quotation right after a paragraph that ended with a quoted speaker."""
        p = self.paragraph_of(q.open_at)
        return p > 0 and q.open_at == self.p_starts[p] and self.paragraph_of(prev_end) == p - 1

    # -- the passes ------------------------------------------------------------------------------------------------

    def find_frames(self) -> None:
        """Find every cue, its speaker and its content, sentence by sentence."""
        by_sentence: dict[int, list[re.Match[str]]] = {}
        for match in find_cues(self.text):
            if self.quote_at(match.start()) is not None:
                continue
            prev = _PREV_WORD.search(self.text, max(0, match.start() - 30), match.start())
            word = prev.group(1).lower() if prev else ""
            infinitive = word == "to" and match.group(0) in INFINITIVE_CUES  # "went on to say": see `cue_subjects`
            if word in NOT_A_CUE_BEFORE and not infinitive and not match.group(0).endswith(("s", "ing")):
                continue
            if match.group(0).endswith("ed") and _BY_AFTER.match(self.text, match.end()):
                continue  # "— mentioned by Newsmax as ...": a passive participle
            by_sentence.setdefault(self.sentence_of(match.start()), []).append(match)
        for s_index, matches in by_sentence.items():
            self._sentence(self.sentences[s_index], matches)

    def _sentence(self, sentence: Sentence, matches: list[re.Match[str]]) -> None:
        frames: list[Frame] = []
        for match in matches:
            frame = self._frame(sentence, match, frames)
            if frame:
                frames.append(frame)
        if frames:
            self.frames[self.sentence_of(sentence.start)] = frames
        first = len(self.results)
        for i, frame in enumerate(frames):
            content(self, sentence, frame, frames[i - 1] if i else None, frames[i + 1] if i + 1 < len(frames) else None)
        if len(self.results) - first > 1:
            # "Doe said she believes ...", "Doe said Roe told voters ...": an attribution inside the content of another
            # is part of what the outer speaker said (and unverified as a statement of its own speaker); a source named
            # after the clause ('..., the Gazette reported') is never inside another attribution.
            mine = self.results[first:]
            nested = {
                id(r)
                for r in mine
                if not r[0].post and any(o[0] is not r[0] and o[1] <= r[0].sp_start < o[2] for o in mine)
            }
            self.results[first:] = [r for r in mine if id(r) not in nested]

    def _frame(self, sentence: Sentence, match: re.Match[str], earlier: list[Frame]) -> Frame | None:
        text = self.text
        cue, c_start, c_end = match.group(0), match.start(), match.end()
        cls = cue_class(cue)
        lo = clause_lo = max(sentence.start, earlier[-1].cue_end if earlier else sentence.start)
        titled = None  # 'Doe, the author of "Going Viral," said': a quotation inside an aside of the subject
        for k in self.quotes_within(sentence.start, c_start):
            if self.quotes[k].close_end <= c_start:
                lo = max(lo, self.quotes[k].close_end)
                after_word = text[clause_lo : self.quotes[k].open_at].rstrip()[-1:].isalnum()
                titled = self.quotes[k].open_at if after_word and titled is not False else False
        before = text[lo:c_start].rstrip()
        if cls == "according":
            span = mentions.subject_after(text, c_end, sentence.end, "speech")
            if not span:
                return None
            at_start = not before or (before[-1] in ",;:" and not text[sentence.start : c_start].strip(" ,"))
            return Frame(c_start, c_end, cue, *span, post=not at_start, clause_start=c_start, clause_end=span[1])
        if cue.endswith("ed") and _PASSIVE_S.search(before):
            return None  # "he's expected to win": a passive, not a cue with a subject
        infinitive = is_infinitive(text, lo, c_start, cue)
        if infinitive or (cls == "speech" and cue.endswith("ing")):
            # "Doe went on to say", "Doe issued a statement saying": the subject of the verb governing the cue; none
            # for "refused to say" or "urged Roe to say", whose content belongs to the cue before.
            span = None if infinitive and earlier else governed_subject(text, lo, c_start, cls)
            if span:
                return Frame(c_start, c_end, cue, *span, post=False, clause_start=span[0], clause_end=c_end)
            if infinitive:
                return None
        after_quote = text[sentence.start : c_start].rstrip()[-1:] in CLOSING_MARKS or before[-1:] in CLOSING_MARKS
        lenient = bool(before) and lo > sentence.start and text[lo - 1] in CLOSING_MARKS
        span = mentions.subject_before(text, lo, c_start, cls, lenient=lenient)
        if not span and titled and (comma := text.rfind(",", clause_lo, titled)) > clause_lo:
            span = mentions.subject_before(text, clause_lo, comma, cls)
        if cue.endswith("ing") and cls == "speech" and not earlier and (not span or before.endswith(",")):
            # "She followed that by saying, ...", "She went on to attack Doe, saying ...": the sentence subject.
            prior = self._sentence_subject(sentence, c_start, cls)
            comma = _COMMA_BEFORE.search(text, sentence.start, c_start)
            if prior and (_BY_PARTICIPLE.search(before) or comma):
                return Frame(c_start, c_end, cue, prior.sp_start, prior.sp_end, False, c_start, c_end)
            if not prior and comma and (sp := clause_subject(text, sentence.start, comma.start(), cls)):
                return Frame(c_start, c_end, cue, *sp, False, c_start, c_end)  # "In Iowa, Doe hit Roe, saying ..."
            if not span:
                return None
        if not span and COORDINATED.search(text, lo, c_start):
            # "He called it "shameful" and called on leaders ...": a second verb of the same subject.
            prior = earlier[-1] if earlier else self._sentence_subject(sentence, c_start, cls)
            if prior:
                return Frame(c_start, c_end, cue, prior.sp_start, prior.sp_end, False, c_start, c_end)
        if cue.endswith("ing") and cls == "speech" and earlier and not (span and _PROGRESSIVE.search(before)):
            # "..., saying ..." or "emailed supporters saying ...": the subject of the clause it hangs on.
            prior = earlier[-1]
            if (
                _COMMA_BEFORE.search(text, sentence.start, c_start)
                or mentions.count_words(text, prior.cue_end, c_start) <= 3
            ):
                return Frame(c_start, c_end, cue, prior.sp_start, prior.sp_end, False, c_start, c_end)
            return None
        if span:
            lead = text[sentence.start : span[0]].rstrip()
            tail_empty = mentions.clause_tail_is_empty(text, c_end, sentence.end)
            post = bool(lead) and (
                (lead[-1] in CLOSING_MARKS and self._quote_ends_clause(sentence, lead)) or tail_empty
            )
            post = post and (lead[-1] in CLOSING_MARKS or lead[-1] in ",—–-") and not _INTRO_PARTICIPLE.match(lead)
            return Frame(c_start, c_end, cue, *span, post=post, clause_start=span[0], clause_end=c_end)
        before = text[sentence.start : c_start].rstrip()
        if before and (before[-1] in CLOSING_MARKS or before[-1] in ",—–") and cls == "speech":
            span = mentions.subject_after(text, c_end, sentence.end, cls, lenient=after_quote)
            if span:
                return Frame(c_start, c_end, cue, *span, post=True, clause_start=c_start, clause_end=span[1])
        return None

    def _quote_ends_clause(self, sentence: Sentence, lead: str) -> bool:
        """Whether the quotation closing `lead` is the content of what follows ('"...," she said') rather than a
        quotation inside a longer clause ('Walking in to chants of "Marco!," the senator said: ...')."""
        q = self.quote_at(sentence.start + len(lead) - 1)
        if q is None:
            return True
        opened = self.quotes[q].open_at
        aside = self.text[sentence.start : opened].rstrip()[-1:] in {"-", "—", "–", "(", ":"}
        return aside or opened < sentence.start or mentions.count_words(self.text, sentence.start, opened) <= 3

    def _sentence_subject(self, sentence: Sentence, c_start: int, cls: str) -> Frame | None:
        """The subject opening the sentence, for "Doe was quick to ... and said ..." (a frame holding its span)."""
        dateline = _DATELINE.match(self.text, sentence.start, c_start)
        start = dateline.end() if dateline else sentence.start
        match = _LEADING_NAME.match(self.text, start, c_start)
        if not match or match.group(0).endswith(("ing", "ly")):
            return None  # "Speaking to reporters, ...", "Hastily, ...": no subject at the start
        span = mentions.subject_before(self.text, start, match.end(), cls)
        return Frame(c_start, c_start, "", *span, False, c_start, c_start) if span else None
