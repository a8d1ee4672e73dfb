"""The attribution rules: for every cue in a sentence, its speaker mention and its content.

A cue (see `cues`) gets a frame: the span of its speaker mention (the subject before it, the inverted subject after it,
the subject of the clause a participle or a coordinated verb hangs on) and whether its content comes before the cue
clause ('"...," Doe said.', '..., Doe said.') or after it ('Doe said (that) ...', 'Doe said: "..."'). The content is
the quotation next to the cue clause or the clause itself; a clause that is (almost) all quotation is a direct quote.
`orphans` then attributes the quotations left without a cue, and `quotes` resolves speakers and emits attributions.
"""

from __future__ import annotations

import bisect
import itertools
import re
from dataclasses import dataclass

from bot.brief import mentions
from bot.brief.cues import ADJUNCT_RE, NOT_A_CUE_BEFORE, cue_class, find_cues, takes_addressee
from bot.brief.quotemarks import QuoteSpan, scan_quotes
from bot.brief.sentences import Sentence, paragraph_spans, split_sentences
from bot.brief.speakers import Speaker, SpeakerIndex

_PREV_WORD = re.compile(r"([\w’'-]+)\s*$")
_THAT = re.compile(r"\s*(?:,\s*)?that\b\s*")
_SEPARATORS = " \t\n,;:—–-"
# Marks that may close a quotation ("“" too: '“It's unusual,“ said Doe' occurs in real articles).
CLOSING_MARKS = "”\"’'»“"

# -- frames: the speaker of a cue ----------------------------------------------------------------------------------
# "is saying", "was telling": a progressive, whose subject is right before it (not the clause it hangs on).
_PROGRESSIVE = re.compile(r"\b(?:is|are|was|were|been|be|keeps?|kept)(?:\s+\w+ly)?\s*$")
# "He called it "shameful" and called on leaders ...": a second verb of the same subject.
_COORDINATED = re.compile(
    r"\s(?:and|but|or|then)(?:\s+(?:also|later|then|again|did|does|do|not|never|has|have|had|would|will|\w+ly)){0,3}\s*$"
)
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
# The end of a clause that a second attribution continues: "..., but U.S. officials have said".
_CONJ_TAIL = re.compile(r"(?:[,;]|,?\s+(?:but|and|while|whereas|though|although|yet))\s*$")

# -- content: what the speaker said ----------------------------------------------------------------------------------
# "... told reporters on Monday that ...": the addressee and adjuncts before "that" (no verb among them).
_ADDRESSEE_THAT = re.compile(r"(?:\s+(?!(?:is|was|are|were|be|has|have|had)\b)[\w’'.\-]+){1,5}?,?\s+that\b\s*")
# Whom a "told"-verb addresses, before content without "that": a name, a pronoun, or a group of listeners.
_ADDRESSEE = re.compile(
    r"\s+(?:(?:The\s+)?(?:[A-Z][\w’'.&\-]*\s+){0,4}[A-Z][\w’'.&\-]*(?:’s|'s)?(?:\s+(?:on|in)\s+[A-Z][\w’'.&\-]*)?"
    r"|[“\"][A-Z][^”\"]{0,40}[”\"]"
    r"|him|her|them|us|me|reporters|journalists|supporters|voters|lawmakers|senators|the\s+crowd|an?\s+\w+\s+crowd"
    r"|the\s+audience|an?\s+audience)(?=\s+[a-z“\"]|[.,])"
)
# The rest of a parenthetical attribution: 'An ambassador's job, he said, should be ...'.
_PARENTHETICAL = re.compile(
    r"(?:\s+[\w’'.\-]+){0,4}?\s*,\s+(?![“\"«]|(?:and|but|adding|saying|noting|while|as|who|which|according)\b)"
)
# Content never starts with a subordinator: 'He tweeted when Clinton ended ...' has none.
_NOT_CONTENT = re.compile(r"(?:when|while|after|before|as|because|since|during|until)\b", re.IGNORECASE)
# "As Clinton told the Daily News, tax relief is ...": the content follows the comma.
_AS_CLAUSE = re.compile(r"(?:^|[,;]\s*|\b(?:And|But|Just)\s+)[Aa]s\s+$")
_AS_COMMA = re.compile(r"[^,.;:“\"]{0,60}?,\s*")
# 'called them on it: "..."': the quotation after a colon is the content.
_COLON_QUOTE = re.compile(r":\s*(?=[“\"«])")
# Words a partial quotation may leave outside its marks and still count as direct ('called it "a mistake"').
_FREE_WORDS = frozenset("that it him her them this as".split())
# 'says he's "excited" as he faces ...': what follows a partial quotation and is no longer the content.
_AFTER_QUOTE = re.compile(r"\s*,?\s+(?:as|while|even as)\s+(?:he|she|they|it|we)\b|\s*,\s+(?:part|a|an|one)\s")
# ', which raised concerns ...', ', sparking a firestorm ...': a relative or participial clause of the writer.
_WRITER_CLAUSE = re.compile(r",\s+(?:which|whose|(?!including\b)[a-z]{3,}ing)\b")
# '... by the plan — a modest boost for Obama ...': a dash opening an aside of the writer.
_ASIDE_DASH = re.compile(r"\s(?:—|–|--)\s(?!and\b|but\b|or\b)")


@dataclass(slots=True)
class Frame:
    """A cue with its speaker mention, before its content is known."""

    cue_start: int
    cue_end: int
    cue: str
    sp_start: int
    sp_end: int
    post: bool  # the content comes before the cue clause
    clause_start: int  # where the cue clause (speaker and cue) begins
    clause_end: int  # where it ends (after adjuncts and an inverted subject)
    speaker: Speaker | None = None  # resolved when the attribution is emitted


# One attributed span: the frame of its cue, its start and end, and its kind ("direct" or "indirect").
Result = tuple[Frame, int, int, str]


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
            if prev and prev.group(1).lower() in NOT_A_CUE_BEFORE and not match.group(0).endswith(("s", "ing")):
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
            self._content(sentence, frame, frames[i - 1] if i else None, frames[i + 1] if i + 1 < len(frames) else None)
        if len(self.results) - first > 1:
            # "Doe said she believes ...", "Doe said Roe told voters ...": an attribution inside the content of another
            # is part of what the outer speaker said (and unverified as a statement of its own speaker).
            mine = self.results[first:]
            nested = {id(r) for r in mine if any(o[0] is not r[0] and o[1] <= r[0].sp_start < o[2] for o in mine)}
            self.results[first:] = [r for r in mine if id(r) not in nested]

    def _frame(self, sentence: Sentence, match: re.Match[str], earlier: list[Frame]) -> Frame | None:
        text = self.text
        cue, c_start, c_end = match.group(0), match.start(), match.end()
        cls = cue_class(cue)
        lo = max(sentence.start, earlier[-1].cue_end if earlier else sentence.start)
        for k in self.quotes_within(sentence.start, c_start):
            if self.quotes[k].close_end <= c_start:
                lo = max(lo, self.quotes[k].close_end)
        before = text[lo:c_start].rstrip()
        if cls == "according":
            span = mentions.subject_after(text, c_end, sentence.end, "speech")
            if not span:
                return None
            at_start = not before or (before[-1] in ",;:" and not text[sentence.start : c_start].strip(" ,"))
            return Frame(c_start, c_end, cue, *span, post=not at_start, clause_start=c_start, clause_end=span[1])
        if cue.endswith("ed") and _PASSIVE_S.search(before):
            return None  # "he's expected to win": a passive, not a cue with a subject
        after_quote = text[sentence.start : c_start].rstrip()[-1:] in CLOSING_MARKS or before[-1:] in CLOSING_MARKS
        lenient = bool(before) and lo > sentence.start and text[lo - 1] in CLOSING_MARKS
        span = mentions.subject_before(text, lo, c_start, cls, lenient=lenient)
        if cue.endswith("ing") and cls == "speech" and not earlier and (not span or before.endswith(",")):
            # "She followed that by saying, ...", "She went on to attack Doe, saying ...": the sentence subject.
            prior = self._sentence_subject(sentence, c_start, cls)
            if prior and (_BY_PARTICIPLE.search(before) or _COMMA_BEFORE.search(text, sentence.start, c_start)):
                return Frame(c_start, c_end, cue, prior.sp_start, prior.sp_end, False, c_start, c_end)
            if not span:
                return None
        if not span and _COORDINATED.search(text, lo, c_start):
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

    def _content(self, sentence: Sentence, frame: Frame, prev: Frame | None, nxt: Frame | None) -> None:
        text = self.text
        if frame.post:
            self._post_content(sentence, frame, prev)
            return
        pos = frame.clause_end
        as_clause = _AS_CLAUSE.search(text, sentence.start, frame.clause_start)
        comma = as_clause and _AS_COMMA.match(text, pos, sentence.end)
        if comma:
            pos = comma.end()  # "As Clinton told the Daily News, tax relief is ...": the content follows the comma
        while True:
            adjunct = ADJUNCT_RE.match(text, pos)
            if not adjunct or adjunct.end() == pos:
                break
            pos = adjunct.end()
        that = _THAT.match(text, pos) or (takes_addressee(frame.cue) and _ADDRESSEE_THAT.match(text, pos))
        if that:
            pos = that.end()
        elif takes_addressee(frame.cue) and (addressee := _ADDRESSEE.match(text, pos, sentence.end)):
            pos = addressee.end()  # "told The Washington Post he was ...": skip whom it was told to
        while pos < sentence.end and text[pos] in " ,:":
            pos += 1
        colon = _COLON_QUOTE.search(text, pos, sentence.end)
        if colon and mentions.count_words(text, pos, colon.start()) <= 12:
            pos = colon.end()  # 'called them on it: "..."': the quotation after the colon is the content
        end = sentence.end
        if text[end - 1] == ":" and not colon:
            self._colon_quote(sentence, frame)
            return
        if nxt and not nxt.post and _CONJ_TAIL.search(text, frame.cue_end, nxt.clause_start):
            end = nxt.clause_start  # "..., but U.S. officials have said ...": a second attribution begins
            conj = _CONJ_TAIL.search(text, pos, end)
            end = conj.start() if conj else end
        elif nxt and nxt.sp_start == frame.sp_start and nxt.clause_start == nxt.cue_start:
            end = nxt.cue_start  # "... and called on leaders ...": the same speaker's next verb
            coordinated = _COORDINATED.search(text, pos, end)
            end = coordinated.start() if coordinated else end
        if nxt and nxt.post and nxt.cue.lower().startswith("according"):
            end = min(end, nxt.clause_start)
        while end > pos and (text[end - 1].isspace() or text[end - 1] in ",;:."):
            end -= 1
        if pos >= end:
            if text[pos - 1 : pos] == ":" or text[sentence.end - 1] == ":":
                self._colon_quote(sentence, frame)
            return
        if not that and _NOT_CONTENT.match(text, pos):
            return
        self._statement(frame, pos, end)

    def _post_content(self, sentence: Sentence, frame: Frame, prev: Frame | None) -> None:
        """Content before the cue clause: the quotation closing right before it, or the clause from the sentence
        start ('..., Doe said.'); for a parenthetical 'A, she said, B.' the longer side."""
        text = self.text
        end = frame.clause_start
        while end > sentence.start and text[end - 1] in _SEPARATORS:
            end -= 1
        start = max(sentence.start, prev.clause_end if prev and prev.post else sentence.start)
        q = self.quote_at(end - 1) if end > sentence.start else None
        if q is not None and text[end - 1] in CLOSING_MARKS and self.quotes[q].close_end >= end:
            lead_words = mentions.count_words(text, start, self.quotes[q].open_at)
            if self.quotes[q].open_at < start or lead_words <= 3:
                self._direct(frame, [q])
                self._split_quote(sentence, frame)
                return
        after = frame.sp_start < frame.cue_start and _PARENTHETICAL.match(text, frame.clause_end, sentence.end)
        if after and mentions.count_words(text, after.end(), sentence.end) > mentions.count_words(text, start, end):
            start, end = after.end(), sentence.end
            while end > start and text[end - 1] in " .;":
                end -= 1
        self._statement(frame, start, end)

    def _statement(self, frame: Frame, start: int, end: int) -> None:
        """Content text[start:end]: direct if it is (almost) all quotation, else indirect."""
        text = self.text
        inside = [k for k in self.quotes_within(start, end) if self.quotes[k].start < end]
        if inside and (after := _AFTER_QUOTE.match(text, self.quotes[inside[-1]].close_end, end)):
            end = after.start()  # 'says he's "excited" as he faces ...': the content ends with the quotation
        elif inside and self._only_adjuncts(self.quotes[inside[-1]].close_end, end):
            end = self.quotes[inside[-1]].close_end  # 'called it "a mistake" on Tuesday'
        if inside:
            first, last = self.quotes[inside[0]], self.quotes[inside[-1]]
            gaps = [(start, first.open_at), (last.close_end, end)]
            gaps += [(self.quotes[a].close_end, self.quotes[b].open_at) for a, b in itertools.pairwise(inside)]
            outside = [w for s, e in gaps for w in mentions.word_list(text, s, e)]
            tail = mentions.count_words(text, last.close_end, end)
            lead = text[start : first.open_at].rstrip()
            short_lead = lead.endswith((",", ":")) and mentions.count_words(text, start, first.open_at) <= 7
            if all(w.lower() in _FREE_WORDS for w in outside) or (short_lead and not tail):
                self._direct(frame, inside)  # 'called it "a mistake"', 'declared in the spin room, "..."'
                return
            self.used.update(inside)
            end = max(end, min(last.close_end, last.end + 1))
        writer = _WRITER_CLAUSE.search(text, start, end)
        if writer and not self.quotes_within(writer.start(), end) and self.quote_at(writer.start()) is None:
            end = writer.start()
        dash = _ASIDE_DASH.search(text, start, end)
        if dash and self.quote_at(dash.start()) is None and not _ASIDE_DASH.search(text, dash.end(), end):
            end = dash.start()  # '... by the plan — a modest boost for Obama ...': an aside of the writer
        while start < end and text[start] in " ,":
            start += 1
        if mentions.count_words(text, start, end) >= 2:
            self.results.append((frame, start, end, "indirect"))

    def _only_adjuncts(self, pos: int, end: int) -> bool:
        """Whether text[pos:end] holds nothing but adjuncts of time or channel ("on Tuesday", "in a statement")."""
        while pos < end:
            adjunct = ADJUNCT_RE.match(self.text, pos, end)
            if not adjunct or adjunct.end() == pos:
                break
            pos = adjunct.end()
        return not self.text[pos:end].strip(" ,.;")

    def _direct(self, frame: Frame, indices: list[int]) -> None:
        for k in indices:
            if k not in self.used:
                self.used.add(k)
                self.results.append((frame, self.quotes[k].start, self.quotes[k].end, "direct"))

    def _split_quote(self, sentence: Sentence, frame: Frame) -> None:
        """'"Part one," she said, "part two."': the quotation resuming after the cue clause."""
        after = self.quotes_within(frame.clause_end, sentence.end)
        if not after:
            return
        q = after[0]
        between = self.text[frame.clause_end : self.quotes[q].open_at].rstrip()
        # 'she said, "..."' or 'he said of people whose rights were restored, "..."'
        if not between.strip(" ,:") or (
            between.endswith((",", ":"))
            and mentions.count_words(self.text, frame.clause_end, self.quotes[q].open_at) <= 16
        ):
            self._direct(frame, [q])

    def _colon_quote(self, sentence: Sentence, frame: Frame) -> None:
        """'She said:' closing a paragraph, and the quotation opening the next one."""
        pos = sentence.end
        while pos < len(self.text) and self.text[pos].isspace():
            pos += 1
        q = self.quote_at(pos)
        if q is not None and self.quotes[q].open_at == pos:
            self._direct(frame, [q])
