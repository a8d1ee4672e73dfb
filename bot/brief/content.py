"""What a speaker said: the content of a cue frame, as the quotation next to the cue clause or the clause itself.

Content after the cue ('Doe said (that) ...', 'Doe told reporters: "..."') runs to the end of the clause, past adjuncts
and the addressee; content before it ('"...," Doe said.', '..., Doe said.') is the quotation closing right before the
cue clause or the clause from the sentence start. A clause that is (almost) all quotation is a direct quote.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.brief import mentions
from bot.brief.cues import ADJUNCT_RE, LEMMA_OF, takes_addressee
from bot.brief.sentences import Sentence
from bot.brief.speakers import Speaker

if TYPE_CHECKING:
    from bot.brief.attribution import ArticleState

_THAT = re.compile(r"\s*(?:,\s*)?that\b\s*")
_SEPARATORS = " \t\n,;:—–-"
# Marks that may close a quotation ("“" too: '“It's unusual,“ said Doe' occurs in real articles).
CLOSING_MARKS = "”\"’'»“"
# "He called it "shameful" and called on leaders ...": a second verb of the same subject.
COORDINATED = re.compile(
    r"\s(?:and|but|or|then)(?:\s+(?:also|later|then|again|did|does|do|not|never|has|have|had|would|will|\w+ly)){0,3}\s*$"
)
# The end of a clause that a second attribution continues: "..., but U.S. officials have said".
_CONJ_TAIL = re.compile(r"(?:[,;]|,?\s+(?:but|and|while|whereas|though|although|yet))\s*$")

# "... told reporters on Monday that ...": the addressee and adjuncts before "that" (no verb among them).
_ADDRESSEE_THAT = re.compile(r"(?:\s+(?!(?:is|was|are|were|be|has|have|had)\b)[\w’'.\-]+){1,5}?,?\s+that\b\s*")
# "... said during a town hall meeting that ...": a prepositional adjunct before "that" (no verb in it), not a
# relative clause ("agreed on a program that is ...").
_ADJUNCT_THAT = re.compile(
    r"\s*(?:during|at|in|on|after|before|from|with|via|over|through)\b"
    r"(?:\s+(?!(?:is|was|are|were|be|has|have|had|will|would)\b)[\w’'.\-]+){1,8}?,?\s+that\b"
    r"(?!\s+(?:is|was|are|were|has|have|had|will|would|can|could)\b)\s*"
)
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
_NOT_CONTENT = re.compile(r"(?:when|while|after|before|as|since|during|until)\b", re.IGNORECASE)
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
# Verbs that name or describe something with a quotation ('called it "a mistake"'); not "called for", "called on".
_NAMING_VERBS = frozenset("call dub label brand term describe characterize characterise portray deem".split())
_NOT_NAMING = re.compile(r"\s*(?:for|on|upon|out|in|off|up|back)\b")
# 'called it "a mistake" and ranked ...': a second verb phrase of the subject after a quoted name.
_NEXT_VERB = re.compile(r",?\s+(?:and|but|then|before|while)\s+(?:(?:also|later|then)\s+)?[a-z]+(?:ed|ing)\b")
# What may link the quoted names of one naming cue: 'a "train wreck" and "outsourcer in chief"'.
_QUOTE_LINK = re.compile(r"[\s,]*(?:(?:and|or)\s+)?(?:(?:a|an|the)\s+)?")
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


def content(state: ArticleState, sentence: Sentence, frame: Frame, prev: Frame | None, nxt: Frame | None) -> None:
    """Add the content of `frame` to `state.results`; `prev` and `nxt` are the frames around it in the sentence."""
    text = state.text
    if frame.post:
        _post_content(state, sentence, frame, prev)
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
    that = (
        _THAT.match(text, pos)
        or (takes_addressee(frame.cue) and _ADDRESSEE_THAT.match(text, pos))
        or _ADJUNCT_THAT.match(text, pos)
    )
    if that:
        pos = that.end()
    elif takes_addressee(frame.cue) and (addressee := _ADDRESSEE.match(text, pos, sentence.end)):
        pos = addressee.end()  # "told The Washington Post he was ...": skip whom it was told to
    while pos < sentence.end and text[pos] in " ,:":
        pos += 1
    # 'Doe declared the need for change: "...," she said.': the quotation after the colon is the next cue's content.
    end = _colon_before(state, nxt.clause_start) if nxt and nxt.post else None
    end = end if end is not None and end > pos else sentence.end
    colon = _COLON_QUOTE.search(text, pos, end)
    if colon and mentions.count_words(text, pos, colon.start()) <= 12:
        pos = colon.end()  # 'called them on it: "..."': the quotation after the colon is the content
    if text[sentence.end - 1] == ":" and not colon and end == sentence.end:
        _colon_quote(state, sentence, frame)
        return
    if nxt and not nxt.post and _CONJ_TAIL.search(text, frame.cue_end, nxt.clause_start):
        end = nxt.clause_start  # "..., but U.S. officials have said ...": a second attribution begins
        conj = _CONJ_TAIL.search(text, pos, end)
        end = conj.start() if conj else end
    elif nxt and nxt.sp_start == frame.sp_start and nxt.clause_start == nxt.cue_start:
        end = nxt.cue_start  # "... and called on leaders ...": the same speaker's next verb
        coordinated = COORDINATED.search(text, pos, end)
        end = coordinated.start() if coordinated else end
    if nxt and nxt.post:
        end = min(end, nxt.clause_start)  # '... that the work was legal, the Post reported': the writer's source
    while end > pos and (text[end - 1].isspace() or text[end - 1] in ",;:."):
        end -= 1
    if pos >= end:
        if text[pos - 1 : pos] == ":" or text[sentence.end - 1] == ":":
            _colon_quote(state, sentence, frame)
        return
    if not that and _NOT_CONTENT.match(text, pos) and not (text.startswith("as", pos) and _naming_cue(frame)):
        return  # but 'described it as "..."' names it
    _statement(state, frame, pos, end)


def _colon_before(state: ArticleState, pos: int) -> int | None:
    """The position of the colon opening the quotation that closes right before `pos` ('...: "...," she said')."""
    text = state.text
    while pos > 0 and text[pos - 1] in _SEPARATORS:
        pos -= 1
    q = state.quote_at(pos - 1) if pos else None
    if q is None or text[pos - 1] not in CLOSING_MARKS:
        return None
    colon = state.quotes[q].open_at - 1
    while colon > 0 and text[colon].isspace():
        colon -= 1
    return colon if text[colon] == ":" else None


def _post_content(state: ArticleState, sentence: Sentence, frame: Frame, prev: Frame | None) -> None:
    """Content before the cue clause: the quotation closing right before it, or the clause from the sentence
    start ('..., Doe said.'); for a parenthetical 'A, she said, B.' the longer side."""
    text = state.text
    end = frame.clause_start
    while end > sentence.start and text[end - 1] in _SEPARATORS:
        end -= 1
    start = max(sentence.start, prev.clause_end if prev and prev.post else sentence.start)
    q = state.quote_at(end - 1) if end > sentence.start else None
    if q is not None and text[end - 1] in CLOSING_MARKS and state.quotes[q].close_end >= end:
        lead_words = mentions.count_words(text, start, state.quotes[q].open_at)
        if state.quotes[q].open_at < start or lead_words <= 3 or _colon_before(state, end) is not None:
            direct(state, frame, [q])
            _split_quote(state, sentence, frame)
            return
    after = frame.sp_start < frame.cue_start and _PARENTHETICAL.match(text, frame.clause_end, sentence.end)
    if after and mentions.count_words(text, after.end(), sentence.end) > mentions.count_words(text, start, end):
        start, end = after.end(), sentence.end
        while end > start and text[end - 1] in " .;":
            end -= 1
    _statement(state, frame, start, end)


def _statement(state: ArticleState, frame: Frame, start: int, end: int) -> None:
    """Content text[start:end]: direct if it is (almost) all quotation, else indirect."""
    text = state.text
    inside = [k for k in state.quotes_within(start, end) if state.quotes[k].start < end]
    if inside and _naming(state, frame, start, inside[0]):
        # 'called the merger "a terrible deal" and ranked ...': the object and its quoted name, then another verb
        chain = inside[:1]
        while len(chain) < len(inside) and _QUOTE_LINK.fullmatch(
            text, state.quotes[chain[-1]].close_end, state.quotes[inside[len(chain)]].open_at
        ):
            chain.append(inside[len(chain)])
        if _NEXT_VERB.match(text, state.quotes[chain[-1]].close_end, end):
            inside, end = chain, state.quotes[chain[-1]].close_end
    if inside and (after := _AFTER_QUOTE.match(text, state.quotes[inside[-1]].close_end, end)):
        end = after.start()  # 'says he's "excited" as he faces ...': the content ends with the quotation
    elif inside and _only_adjuncts(state, state.quotes[inside[-1]].close_end, end):
        end = state.quotes[inside[-1]].close_end  # 'called it "a mistake" on Tuesday'
    if inside:
        first, last = state.quotes[inside[0]], state.quotes[inside[-1]]
        gaps = [(start, first.open_at), (last.close_end, end)]
        gaps += [(state.quotes[a].close_end, state.quotes[b].open_at) for a, b in itertools.pairwise(inside)]
        outside = [w for s, e in gaps for w in mentions.word_list(text, s, e)]
        tail = mentions.count_words(text, last.close_end, end)
        lead = text[start : first.open_at].rstrip()
        short_lead = lead.endswith((",", ":")) and mentions.count_words(text, start, first.open_at) <= 7
        if all(w.lower() in _FREE_WORDS for w in outside) or (short_lead and not tail):
            direct(state, frame, inside)  # 'called it "a mistake"', 'declared in the spin room, "..."'
            return
        state.used.update(inside)
        end = max(end, min(last.close_end, last.end + 1))
    writer = _WRITER_CLAUSE.search(text, start, end)
    if writer and not state.quotes_within(writer.start(), end) and state.quote_at(writer.start()) is None:
        end = writer.start()
    dash = _ASIDE_DASH.search(text, start, end)
    if dash and state.quote_at(dash.start()) is None and not _ASIDE_DASH.search(text, dash.end(), end):
        end = dash.start()  # '... by the plan — a modest boost for Obama ...': an aside of the writer
    while start < end and text[start] in " ,":
        start += 1
    if mentions.count_words(text, start, end) >= 2:
        state.results.append((frame, start, end, "indirect"))


def _naming_cue(frame: Frame) -> bool:
    return LEMMA_OF.get(frame.cue.lower()) in _NAMING_VERBS


def _naming(state: ArticleState, frame: Frame, start: int, first: int) -> bool:
    """Whether the cue names or describes something with the quotation `first` near its start ('called it "a
    mistake"', 'described him as "volatile"'), not 'called for ...' or 'called on ...'."""
    return (
        _naming_cue(frame)
        and not _NOT_NAMING.match(state.text, start)
        and mentions.count_words(state.text, start, state.quotes[first].open_at) <= 10
    )


def _only_adjuncts(state: ArticleState, pos: int, end: int) -> bool:
    """Whether text[pos:end] holds nothing but adjuncts of time or channel ("on Tuesday", "in a statement")."""
    while pos < end:
        adjunct = ADJUNCT_RE.match(state.text, pos, end)
        if not adjunct or adjunct.end() == pos:
            break
        pos = adjunct.end()
    return not state.text[pos:end].strip(" ,.;")


def direct(state: ArticleState, frame: Frame, indices: list[int]) -> None:
    for k in indices:
        if k not in state.used:
            state.used.add(k)
            state.results.append((frame, state.quotes[k].start, state.quotes[k].end, "direct"))


def _split_quote(state: ArticleState, sentence: Sentence, frame: Frame) -> None:
    """'"Part one," she said, "part two."': the quotation resuming after the cue clause."""
    after = state.quotes_within(frame.clause_end, sentence.end)
    if not after:
        return
    q = after[0]
    between = state.text[frame.clause_end : state.quotes[q].open_at].rstrip()
    # 'she said, "..."' or 'he said of people whose rights were restored, "..."'
    if not between.strip(" ,:") or (
        between.endswith((",", ":"))
        and mentions.count_words(state.text, frame.clause_end, state.quotes[q].open_at) <= 16
    ):
        direct(state, frame, [q])


def _colon_quote(state: ArticleState, sentence: Sentence, frame: Frame) -> None:
    """'She said:' closing a paragraph, and the quotation opening the next one."""
    pos = sentence.end
    while pos < len(state.text) and state.text[pos].isspace():
        pos += 1
    q = state.quote_at(pos)
    if q is not None and state.quotes[q].open_at == pos:
        direct(state, frame, [q])
