"""Speakers of cues whose subject is not right before them: an infinitive ('Doe went on to say ...') or a participle
after a noun of a message ('Doe released a statement saying ...') take the subject of the verb governing them, found
by `clause_subject`, which also serves participles after a clause ('In Iowa, Doe hit Roe, saying ...') and quotations
without a cue (see `fallback`).
"""

from __future__ import annotations

import re

from bot.brief import mentions
from bot.models import Span

# Verbs whose object, not their subject, says what the infinitive says ("urged Doe to say", "asked him to explain").
_CONTROL = frozenset(
    """
    ask asks asked asking tell tells told telling urge urges urged urging invite invites invited inviting order
    orders ordered ordering force forces forced forcing allow allows allowed allowing encourage encourages
    encouraged encouraging pressure pressured pressuring persuade persuaded persuading challenge challenged
    challenging dare dared beg begged begging push pushed pushing press pressed pressing get gets got getting
    expect expects expected want wants wanted need needs needed
    """.split()
)
_CLAUSE_REACH = 14  # words
# Words that may open a clause before its subject ("But Doe ...").
_OPENERS = frozenset("but and so then yet still also now".split())
# Verbs of saying whose infinitive reports speech ("went on to say"); "to welcome", "to praise" report acts.
INFINITIVE_CUES = frozenset(
    """
    say tell add write explain ask note argue insist claim declare announce warn suggest describe state answer reply
    respond repeat reiterate stress emphasize emphasise acknowledge admit deny confirm predict promise vow tweet post
    comment remark mention recall reveal disclose assert contend concede
    """.split()
)
_NOT_VERBS = frozenset("a an the his her their its of for to in on at by with from about into as".split())
_TO_BEFORE = re.compile(r"(?<![\w’'-])to\s+$")
# Nouns of a message whose participle ("a statement saying", "signs reading") speaks for the sentence subject.
_MESSAGE_NOUN = re.compile(
    r"(?<![\w’'-])(?:statement|release|e-?mail|letter|memo|message|note|tweet|post|video|ad|advertisement|sign|"
    r"banner|placard|poster|cover|headline|op-ed|column|editorial|petition|notice|mailer|flyer)s?"
    r"(?:\s+[\w’'.-]+){0,3}?,?\s+$",
    re.IGNORECASE,
)


def is_infinitive(text: str, lo: int, cue_start: int, cue: str) -> bool:
    """Whether the cue at `cue_start` is the infinitive of a verb of saying ("to say", not "to welcome")."""
    return cue in INFINITIVE_CUES and bool(_TO_BEFORE.search(text, max(lo, cue_start - 8), cue_start))


def governed_subject(text: str, lo: int, cue_start: int, cue_class: str) -> Span | None:
    """The subject of the verb that governs a cue: an infinitive ("Doe went on to say", "The judge pointed to a
    previous case to say", "Doe was quick to add") or a participle after a noun of a message ("Doe released a
    statement saying", "Doe sent out a text message to supporters saying"); None if there is no such verb."""
    to = _TO_BEFORE.search(text, max(lo, cue_start - 8), cue_start)
    noun = to or _MESSAGE_NOUN.search(text, max(lo, cue_start - 60), cue_start)
    return clause_subject(text, lo, noun.start(), cue_class) if noun else None


def clause_subject(text: str, lo: int, pos: int, cue_class: str, initial: bool = False) -> Span | None:
    """The subject of the clause ending at `pos`, found before one of its last words (its verb): "Doe launched an
    attack on Roe" -> "Doe". None when a verb of the clause makes its object the speaker ("urged Doe"). `initial`
    accepts only a subject that opens the clause (after a punctuation mark or `lo`)."""
    toks = mentions.words(text, max(lo, pos - 120), pos)[-_CLAUSE_REACH:]
    marks = [i for i, t in enumerate(toks) if not t[2][:1].isalnum()]
    if initial and not marks and toks and mentions.count_words(text, lo, toks[0][0]):
        return None  # the clause starts beyond reach
    toks = toks[marks[-1] + 1 :] if marks else toks  # the words after the last punctuation mark
    if not toks or any(word.lower() in _CONTROL for _s, _e, word in toks):
        return None
    for start, _end, word in reversed(toks):
        if not word.islower() or word in _NOT_VERBS:
            continue  # the subject ends before a verb: not before a name, an article or a preposition
        span = mentions.subject_before(text, lo, start, cue_class)
        if span and (not initial or all(w.lower() in _OPENERS for w in mentions.word_list(text, toks[0][0], span[0]))):
            return span
    return None
