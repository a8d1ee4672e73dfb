"""Speaker noun phrases around a cue: the subject before it ("NATO's top official on Wednesday warned"), the inverted
subject after it ('..., said Jane Doe, a spokeswoman'), and the test of whether a phrase can be a speaker at all.

Works on word tokens of one sentence, without a tagger: clause words and punctuation bound the phrase, auxiliaries and
time adjuncts between subject and verb are skipped, and the phrase must be a pronoun, a capitalised name or a
description headed by a person, group or organisation noun.
"""

from __future__ import annotations

import re

from bot.brief import speaker_lexicon as lex
from bot.models import Span

_REACH = 200
_PLAIN_WORD = re.compile(r"\w[\w’'.\-]*")
_WORD = re.compile(r"\d{1,3}(?:,\d{3})+|[\w’'&\-]+(?:\.(?=\w)[\w’'&\-]*)*\.?|[^\w\s]")
# Words that bound a subject on its left: a subject never extends over them.
_CLAUSE_WORDS = frozenset(
    """
    that but and while as because although though when where whereas since after before if unless so or than
    who which whom whose what how why whether once until said says told according like about without
    is are was were something nothing anything everything someone somebody anyone nobody everyone
    """.split()
)
# Words between a subject and its cue that belong to neither ("has also said", "on Wednesday warned").
_BETWEEN = frozenset(
    """
    also has have had will would could should may might must can did does do not never always previously recently
    repeatedly already once then later earlier again publicly privately flatly simply reportedly still even often
    first further initially just long now is are was were be been being has’ separately similarly likewise too
    quickly immediately openly famously directly personally explicitly specifically ago himself herself
    themselves itself
    """.split()
)
_TIME_NOUNS = frozenset("week month year weekend morning afternoon evening night day".split())
# Words that end an inverted subject ('said Jane Doe in a statement', 'said the official, who ...').
_AFTER_STOP = frozenset(
    "in on at during after before to about who which that when while as because adding saying noting and but "
    "of from for with via told".split()
)
# Words that may open a clause before its subject ("Meanwhile, ...", "Despite polls ..." is not a subject).
_LEADING_SKIP = frozenset("but and so still meanwhile instead however now then yet also indeed thus plus even".split())
# Adjectives that introduce a post-modifier of a speaker: "a source familiar with", "people close to".
_POSTMODIFIERS = frozenset("familiar close knowledgeable briefed involved speaking".split())
_NOT_ADVERBS = lex.GENERIC_PERSON_HEADS | frozenset("family ally rally".split())
_ABBREVIATIONS = frozenset("mr mrs ms dr sen rep gov gen lt col maj sgt capt cmdr adm rev fr hon prof st jr sr".split())
_PREPOSITIONS = frozenset(
    "in on at from despite with for by after before during under over among like unlike including to into of "
    "against without within across through toward towards amid since".split()
)
# Lower-case words of a plain speaker noun phrase ("the campaign's senior adviser").
_NP_WORDS = lex.DETERMINERS | lex.TITLE_WORDS | lex.ROLE_MODIFIERS | lex.GENERIC_PERSON_HEADS | lex.GROUP_HEADS
_ARTICLES = frozenset("a an the his her their its".split())
_BEFORE_ARTICLE = _PREPOSITIONS | frozenset("all both half".split())
_CLAUSE_SUBJECTS = frozenset("he she they we i there".split())
_OBJECT_PRONOUNS = frozenset("him her them us me it".split())
_OPENING_MARKS = frozenset('“"«„‘')
_PUNCT_BOUNDARY = frozenset(",;:()[]“”\"«»—–-‘’'")


def count_words(text: str, start: int, end: int) -> int:
    """Number of words (not punctuation marks) in text[start:end]."""
    return len(_PLAIN_WORD.findall(text, start, end))


def word_list(text: str, start: int, end: int) -> list[str]:
    """The words (not punctuation marks) of text[start:end]."""
    return _PLAIN_WORD.findall(text, start, end)


def words(text: str, start: int, end: int) -> list[tuple[int, int, str]]:
    """(start, end, word) for the words and punctuation marks of text[start:end]."""
    return [(m.start(), m.end(), m.group(0)) for m in _WORD.finditer(text, start, end)]


def _bare(word: str) -> str:
    low = word.lower()
    if low.endswith(("’s", "'s")):
        low = low[:-2]
    return low.rstrip(".")


def is_speaker_phrase(phrase: list[str], cue_class: str) -> bool:
    """Whether words such as ["the", "NATO", "chief"] or ["U.S.", "officials"] can be the speaker of a cue."""
    if not phrase or len(phrase) > 9:
        return False
    # An all-capital word is an acronym, never a pronoun or clause word ("US Senator Jane Doe", "IT staff").
    low = [_bare(w) if not (len(w) > 1 and w.isupper()) else w for w in phrase]
    if len(phrase) == 1 and low[0] in lex.PRONOUN_FEATURES:
        return low[0] not in {"you", "who"} and (low[0] != "it" or cue_class != "cognition")
    if any(w in lex.PRONOUN_FEATURES or w in _OBJECT_PRONOUNS or w in _CLAUSE_WORDS or w in _BETWEEN for w in low):
        return False
    if any(w.endswith(("ing", "ly")) and w.islower() and w not in _NOT_ADVERBS for w in phrase) or low[0] == "absent":
        return False  # "asking Hillary Clinton", "White America embracing Obama": not a speaker phrase
    if any(
        w in _ARTICLES and low[i - 1] not in _BEFORE_ARTICLE and phrase[i - 1].islower() for i, w in enumerate(low) if i
    ):
        return False  # "Doe released a statement": a verb and its object, not a noun phrase
    head, last = low[-1], phrase[-1]
    if head in lex.QUANTIFIER_HEADS:
        return len(phrase) == 1
    if last[:1].isupper() and head not in lex.STOP_CAPS and head not in lex.DAYS_MONTHS:
        return not phrase[-1].endswith(("’s", "'s"))
    singular = head[:-1] if head.endswith("s") else head
    if head in lex.GROUP_HEADS or head in lex.ORG_HEADS or singular in lex.TITLE_WORDS:
        return len(phrase) <= 7
    if head in lex.TITLE_WORDS or head in lex.GENERIC_PERSON_HEADS:
        return len(phrase) <= 7
    # A plural agent noun names a group of people the lexicon cannot list: "local importers", "dairy farmers".
    return head.endswith(("ers", "ors")) and len(head) > 6 and last.islower() and len(phrase) <= 4


def subject_before(text: str, lo: int, cue_start: int, cue_class: str, lenient: bool = False) -> Span | None:
    """The span of the subject of a cue at `cue_start`, searching back to `lo`; None if there is none. `lenient`
    (right after a closing quotation mark) also accepts a short description with an unknown head ("the designer")."""
    toks = words(text, max(lo, cue_start - _REACH), cue_start)  # a subject and its asides fit in _REACH
    k = len(toks)
    while k > 0:
        w = _bare(toks[k - 1][2])
        if w in _BETWEEN or w in lex.DAYS_MONTHS or (w.endswith("ly") and toks[k - 1][2].islower() and len(w) > 4):
            k -= 1
            if k > 0 and toks[k - 1][2].lower() == "on":
                k -= 1
        elif w in _TIME_NOUNS and k > 1 and toks[k - 2][2].lower() in {"last", "this", "earlier", "next"}:
            k -= 2
        elif k > 1 and toks[k - 1][2] == "," and _bare(toks[k - 2][2]) in lex.DAYS_MONTHS:
            k -= 1
        else:
            break
    span = _subject_ending(toks, k, cue_class, lenient)
    if span is None and k < len(toks) and toks[-1][2] == ",":
        # "Doe, in a statement on Thursday, said": the adjuncts stripped above were the end of an aside.
        span = _subject_ending(toks, len(toks), cue_class, lenient)
    return span


def _subject_ending(toks: list[tuple[int, int, str]], k: int, cue_class: str, lenient: bool) -> Span | None:
    """The speaker phrase ending at token k (after any parenthesis, dashed aside or comma-separated asides)."""
    k = _skip_parenthesis(toks, k)
    if k > 0 and toks[k - 1][2] in {"—", "–", "--"}:
        # "Doe — mentioned as a running mate — told ...": step over the aside between dashes.
        j = k - 1
        while j > 0 and toks[j - 1][2] not in {"—", "–", "--"}:
            j -= 1
        k = j - 1 if j > 0 else 0
    if k > 0 and toks[k - 1][2] == ",":
        # "Jane Doe, the agency's director, said", "Jane Doe, 31, a photographer, said", "Doe, who ..., said": the
        # subject is before the asides (up to three of them).
        k = _before_asides(toks, k - 1, cue_class)
        if k <= 0:
            return None
    if k > 1 and _bare(toks[k - 1][2]) in {"who", "which", "that"}:
        k -= 2 if toks[k - 2][2] == "," else 1  # "Jane Doe, who said", "bottles that said"
    j = _phrase_start(toks, k)
    if j < k and _bare(toks[j][2]) in _PREPOSITIONS:
        # "from Jane Doe, who declared": a name after a preposition; "Despite polls showing" has no subject.
        j += 1
        if not toks[k - 1][2][:1].isupper():
            return None
    phrase = [t[2] for t in toks[j:k]]
    if len(phrase) > 1 and phrase[-1].endswith("ed") and not is_speaker_phrase(phrase, cue_class):
        phrase.pop()  # "the order released Friday said"
        k -= 1
    if is_speaker_phrase(phrase, cue_class) or (lenient and _is_description(phrase)):
        return _conjoined_start(toks, j, cue_class), toks[k - 1][1]
    # "Trump in his announcement speech called", "a source familiar with the investigation said": the subject is
    # the part before a preposition, without a trailing "familiar" or "close".
    for cut in range(1, len(phrase)):
        if _bare(phrase[cut]) in _PREPOSITIONS:
            head = phrase[:cut]
            while len(head) > 1 and _bare(head[-1]) in _POSTMODIFIERS:
                head.pop()
            if is_speaker_phrase(head, cue_class):
                return toks[j][0], toks[j + len(head) - 1][1]
    return None


def _conjoined_start(toks: list[tuple[int, int, str]], j: int, cue_class: str) -> int:
    """Start of a coordinated subject ending with the phrase at token j: "Jane Doe and John Roe said", "the senator
    and candidate said". The first conjunct must be a plain noun phrase (names, determiners, role words)."""
    if j < 2 or toks[j - 1][2].lower() != "and":
        return toks[j][0]
    i = _phrase_start(toks, j - 1)
    first = [t[2] for t in toks[i : j - 1]]
    plain = all(w[:1].isupper() or _bare(w) in _NP_WORDS for w in first)
    return toks[i][0] if plain and 0 < len(first) <= 6 and is_speaker_phrase(first, cue_class) else toks[j][0]


def _skip_parenthesis(toks: list[tuple[int, int, str]], k: int) -> int:
    """Step back over a parenthesis ending at token k ("Sen. Jane Doe (D-Ore.) said")."""
    if k > 0 and toks[k - 1][2] == ")":
        while k > 0 and toks[k - 1][2] != "(":
            k -= 1
        k -= 1
    return k


def _phrase_start(toks: list[tuple[int, int, str]], k: int) -> int:
    """Start of the phrase ending at token k: after the last punctuation mark or clause word, without "But"."""
    j = k
    while j > 0 and toks[j - 1][2] not in _PUNCT_BOUNDARY and _bare(toks[j - 1][2]) not in _CLAUSE_WORDS:
        j -= 1
    while j < k and (_bare(toks[j][2]) in _LEADING_SKIP):
        j += 1
    return j


def _is_description(phrase: list[str]) -> bool:
    """A short phrase led by a determiner: "the designer", "a longtime friend"."""
    rest = [_bare(w) for w in phrase[1:]]
    if any(w in lex.PRONOUN_FEATURES or w in _CLAUSE_WORDS or w in _BETWEEN for w in rest):
        return False  # "that he had access": a clause, not a description
    return 2 <= len(phrase) <= 4 and _bare(phrase[0]) in lex.DETERMINERS and phrase[-1][:1].isalnum()


def _before_asides(toks: list[tuple[int, int, str]], comma: int, cue_class: str) -> int:
    """End (exclusive token index) of the speaker phrase before the comma-separated asides ending at `comma`."""
    k = comma
    for _ in range(3):
        j = k
        depth = 0
        while j > 0 and (depth or toks[j - 1][2] not in {",", ";", ":"}):
            depth += toks[j - 1][2] == ")"
            depth -= toks[j - 1][2] == "(" and depth > 0
            j -= 1
        if j == 0 or toks[j - 1][2] != ",":
            return -1
        k = _skip_parenthesis(toks, j - 1)
        i = _phrase_start(toks, k)
        if i < k and is_speaker_phrase([t[2] for t in toks[i:k]], cue_class):
            return k
        aside = [t[2] for t in toks[j:comma]]
        if comma == len(toks) - 1 and aside and aside[-1][:1].isupper() and is_speaker_phrase(aside, cue_class):
            return comma  # "Another ally, Agriculture Secretary Tom Vilsack, told": the aside is the name
        k = j - 1
    return -1


def subject_after(text: str, pos: int, end: int, cue_class: str, lenient: bool = False) -> Span | None:
    """The span of an inverted subject right after a cue ('"...," said Jane Doe, ...'), or None."""
    toks = words(text, pos, min(end, pos + 200))
    k = 0
    while k < len(toks):
        word = toks[k][2]
        low = _bare(word)
        if word in _PUNCT_BOUNDARY or word in ".!?":
            if word in "-–" and 0 < k < len(toks) - 1 and toks[k - 1][1] == toks[k][0]:
                k += 1
                continue
            break
        if low in _AFTER_STOP and k > 0:
            # "Secretary of State Jane Doe": "of" inside a title continues the name.
            if low in {"of", "for"} and _bare(toks[k - 1][2]) in lex.TITLE_WORDS:
                k += 1
                continue
            break
        if low in lex.DAYS_MONTHS:
            break
        k += 1
        if word.endswith(".") and len(word) > 2 and low not in _ABBREVIATIONS and "." not in word[:-1]:
            toks[k - 1] = (toks[k - 1][0], toks[k - 1][1] - 1, word[:-1])  # "said Doe." ends the sentence
            break
    phrase = [t[2] for t in toks[:k]]
    if phrase and (_bare(phrase[0]) in lex.PRONOUN_FEATURES or _bare(phrase[0]) in _PREPOSITIONS):
        return None  # '"...," said it would ...' is not an inverted subject
    if lenient and _is_description(phrase):
        return toks[0][0], toks[k - 1][1]
    while phrase and not is_speaker_phrase(phrase, cue_class):
        phrase.pop()  # 'said one Democrat familiar with ...': drop the trailing modifier
    if not phrase:
        return None
    return toks[0][0], toks[len(phrase) - 1][1]


def clause_tail_is_empty(text: str, pos: int, end: int) -> bool:
    """True when only adjuncts or an addressee come between `pos` (after a cue) and the end of the clause, so the
    cue's content lies before it ('..., she told reporters on Monday.', '..., he said, adding that ...', 'A, he
    said, B.'); False when a content clause follows ('In Iowa, she said the race was close.')."""
    count = 0
    for _start, _end, word in words(text, pos, min(end, pos + 160)):
        if word in ".!?;":
            return count <= 8
        if word == ",":
            nxt = words(text, _end, min(end, _end + 3))
            return count <= 4 and not (nxt and nxt[0][2] in _OPENING_MARKS)
        if word.lower() in {"that", "whether", "if", ":"} or word in _OPENING_MARKS:
            return False
        if not count and _bare(word.replace("’", "'").split("'")[0]) in _CLAUSE_SUBJECTS:
            return False  # "As for Doe, he said he's not worried.": a clause with its own subject
        count += 1  # noqa: SIM113 - punctuation marks are not counted
        if count > 8:
            return False
    return True
