"""BM25 retrieval of the sentences of one or more articles that may answer a follow-up question.

The unit is a sentence, optionally widened by one neighbour: whole sentences keep a cited quote compact, and the
neighbour recovers what one sentence loses to pronouns (`... freeze prices. "We will look after our fans," he
said.`). BM25 over sentences (IDF over every bound article's sentences) is multiplied by evidence for an answer: the
question's answer type in the sentence ("how many" wants a number), that expression within a few words of a
question term ("launched on Jan. 28"), a count right before the counted noun ("three doses"); the lead gets a small
bonus and headlines a discount. Question words match their stems, general paraphrases, prefix variants and the
names the article gives a noun by apposition ("the lander, named Cormorant"), each at a discount; a question with
a pronoun or no subject of its own ("when does she start?") is read with the article's main subject in mind.
An `ArticleIndex` is built once per thread (`index_for` caches it); each question costs one scan of the sentences.
"""

from __future__ import annotations

import bisect
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.brief.answer_types import ACCEPTS, type_offsets
from bot.brief.qa_terms import (
    GENERIC,
    GENERIC_STEMS,
    content_terms,
    name_terms,
    stem,
    word_offsets,
)
from bot.brief.sentences import split_sentences

# One article's text, or several bound to one thread as (doc_id, text) pairs.
Documents = str | Sequence[tuple[str, str]]

K1, B = 0.8, 0.3  # sentences vary little in length: a full length penalty lets one-clause sentences win
TYPE_WEIGHT = 0.6  # the anchor sentence has the expected answer type
NEIGHBOUR_TYPE_WEIGHT = 0.2  # ... only its neighbour has it (the amount may belong to something else)
BONUS_TYPE_WEIGHT = 0.4  # a preferred sub-type (a real time span for "how long")
NEAR_WEIGHT, NEAR_WORDS = 0.4, 4  # an expression of the answer type within NEAR_WORDS words of a question term
COUNT_WEIGHT = 0.6  # "how many doses": a number right before the counted noun ("three doses")
NEIGHBOUR_WEIGHT = 0.5  # terms found only in the adjacent sentence, same paragraph
CROSS_PARAGRAPH_WEIGHT = 0.3  # ... or across a paragraph break (attribution before a quote paragraph)
LEAD_WEIGHT = 0.1  # first two paragraphs of an article: the inverted pyramid
TENSE_WEIGHT = 0.8  # the sentence is marked as speaking of another time ("last year") than the question ("will")
HEADLINE_WEIGHT = 0.5  # a one-line paragraph without closing punctuation: a headline or caption, thin on facts
SHORT_SENTENCE = 10  # words: a sentence this short ("Two people died.") is quoted with the next one
TOPIC_TERMS = 3  # how many of the lead's most repeated terms make the main subject
_TIME_WORDS = frozenset("year month week day hour minute season decade".split())  # "14 months" is no subject

# Apposition, the way news says who or what a name is: "the lander, named Cormorant,", "chief executive Maya
# Lindgren", "Renata Oyelaran, the county's chief medical officer". Not a name after a preposition ("In Germany, the
# average price"): that is a place or a time (checked after matching: a look-behind per preposition is slow).
_PREPOSITION = re.compile(r"\b(?:in|on|at|for|by|from|with|after|before|since|under|over|of|to)\s+$", re.I)
_DET = r"(?:[Tt]he|[Aa]n?|[Ii]ts|[Tt]heir|[Hh]is|[Hh]er|\w+'s)"
_PROPER = (
    r"(?!(?:In|On|At|For|By|From|With|After|Before|When|While|If|As|Since|Under|Over|The|A|An|But|And|So)\b)"
    r"[A-Z][\w'’-]+(?:\s+(?:[A-Z]\.\s+)?[A-Z][\w'’-]+)*"
)
_APPOSITIONS = [
    re.compile(rf"\b{_DET}\s+(?:[a-z-]+\s+){{0,2}}(?P<noun>[a-z]+),\s+(?:named\s+|called\s+)?(?P<name>{_PROPER})[,.]"),
    re.compile(
        rf"(?<![\w'’])(?P<name>{_PROPER}),\s+{_DET}\s+(?:[\w-]+\s+){{0,3}}?(?P<noun>[a-z]+)\b"
        r"(?=[,.;]|\s+(?:of|at|for|in|who|which|that|and)\b)"
    ),
    re.compile(r"\b(?P<noun>[a-z]+) (?P<name>(?:[A-Z][a-z'’-]+ )+[A-Z][a-z'’-]+)"),
]


def appositions(text: str) -> list[tuple[str, str]]:
    """(noun stem, name stem) pairs for the names `text` introduces by apposition."""
    return [
        (stem(m.group("noun")), term)
        for pattern in _APPOSITIONS
        for m in pattern.finditer(text)
        if m.group("noun") not in GENERIC
        and content_terms(m.group("noun"))
        and not (pattern is _APPOSITIONS[1] and _PREPOSITION.search(text[max(0, m.start() - 8) : m.start()]))
        for term in content_terms(m.group("name"))
        if not term[:1].isdigit() and term != stem(m.group("noun"))
    ]


# ---- the index ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Unit:
    doc: int
    start: int
    end: int
    paragraph: int
    tf: dict[str, int]
    headline: bool
    short: bool
    names: frozenset[str]  # terms of capitalised words after the first: candidate answers to "who", "which"
    stems: tuple[str, ...]  # every word's stem in order, stop words included, for word-distance checks
    typed: dict[str, tuple[int, ...]]  # answer type -> the word positions where an expression of it starts
    tense: str | None  # the time a sentence is marked as speaking of: "past" ("last year"), "future" ("will")

    @property
    def length(self) -> int:
        return sum(self.tf.values())


@dataclass(frozen=True)
class Query:
    """A question as terms: `weights` for ranking (own terms 1.0, everyday words and context less), `own` its own."""

    weights: dict[str, float]
    own: frozenset[str]
    required: str | None = None
    bonus: tuple[str, ...] = ()
    # term -> words of the articles that stand in for it (synonyms, prefix variants, names), with their discount
    alternates: dict[str, tuple[tuple[str, float], ...]] = field(default_factory=dict)
    names: frozenset[str] = frozenset()  # terms of the names and numbers the question mentions
    focus: frozenset[str] = frozenset()  # the noun the question counts or names ("how many *flights*")
    nominal: frozenset[str] = frozenset()  # own terms in a noun phrase ("what *formation*"): the things asked about
    implicit: frozenset[str] = frozenset()  # the main subject's terms, standing in for "it" or "she"
    everyday: frozenset[str] = frozenset()  # own terms weighted as everyday words
    tense: str | None = None  # "past" ("when did ...") or "future", which includes now ("will", "is")


@dataclass(frozen=True)
class Candidate:
    """A scored window: the anchor sentence, an optional neighbour, and which query terms it matched and how well."""

    anchor: int
    neighbour: int | None
    score: float
    matched: dict[str, float] = field(default_factory=dict)  # term -> 1.0 (own word) or the stand-in's discount
    type_ok: bool = True


class ArticleIndex:
    """A BM25 index over the sentences of one or more articles. Build once per thread; reuse for every question."""

    def __init__(self, documents: Documents) -> None:
        self.documents: tuple[tuple[str | None, str], ...] = (
            ((None, documents),) if isinstance(documents, str) else tuple((d, t) for d, t in documents)
        )
        self.units: list[_Unit] = []
        self.aliases: dict[str, set[str]] = {}  # noun -> the names it refers to ("lander" -> "cormorant")
        for doc, (_, text) in enumerate(self.documents):
            sentences = split_sentences(text)
            per_paragraph = Counter(s.paragraph for s in sentences)
            for s in sentences:
                positions = word_offsets(s.text)
                offsets = [o for _, o in positions]
                typed = {
                    kind: tuple(sorted({max(0, bisect.bisect_right(offsets, c) - 1) for c in chars}))
                    for kind, chars in type_offsets(s.text).items()
                }
                headline = per_paragraph[s.paragraph] == 1 and s.text[-1] not in '.!?"”’)'
                names = frozenset(t for t in name_terms(s.text) if not t[:1].isdigit())
                tf = dict(Counter(content_terms(s.text)))
                short = len(s.text.split()) < SHORT_SENTENCE
                stems = tuple(t for t, _ in positions)
                tense = tense_of(s.text)
                self.units.append(
                    _Unit(doc, s.start, s.end, s.paragraph, tf, headline, short, names, stems, typed, tense)
                )
            for noun, name in appositions(text):
                self.aliases.setdefault(noun, set()).add(name)
        self.df: Counter[str] = Counter(t for u in self.units for t in u.tf)
        self.by_prefix: dict[str, list[str]] = {}  # the articles' terms by their first four letters
        for term in sorted(self.df):
            if len(term) >= 4 and term.isalpha():
                self.by_prefix.setdefault(term[:4], []).append(term)
        self.avg_length = sum(u.length for u in self.units) / len(self.units) if self.units else 1.0
        self._idf: dict[str, float] = {}
        self.topic = self._main_subject()

    def _main_subject(self) -> frozenset[str]:
        """Each article's main subject: the terms of its headline and lead that recur most across its sentences
        ("bridge"), and the name it mentions most ("Haines"). A follow-up's "it" or "she" usually means it."""
        found: set[str] = set()
        for doc in range(len(self.documents)):
            units = [u for u in self.units if u.doc == doc]
            lead = {t for u in units[:2] for t in u.tf if t not in GENERIC_STEMS | _TIME_WORDS and not t[:1].isdigit()}
            df = Counter(t for u in units for t in u.tf if t in lead)
            found.update(sorted((t for t in lead if df[t] >= 3), key=lambda t: (-df[t], t))[:TOPIC_TERMS])
            names = Counter(t for u in units for t in u.names if t in u.tf)
            found.update(t for t, n in names.most_common(1) if n >= 3)
        return frozenset(found)

    def idf(self, term: str) -> float:
        """BM25 IDF over sentences; a term absent from the articles gets the highest value."""
        value = self._idf.get(term)
        if value is None:
            df = self.df.get(term, 0)
            value = self._idf[term] = math.log(1 + (len(self.units) - df + 0.5) / (df + 0.5))
        return value

    def match(self, unit: _Unit, query: Query) -> dict[str, tuple[float, float]]:
        """Query term -> (BM25 contribution, strength) for the terms `unit` contains, directly or by a stand-in."""
        norm = K1 * (1 - B + B * unit.length / self.avg_length)
        found: dict[str, tuple[float, float]] = {}
        for term, weight in query.weights.items():
            options = [(term, 1.0), *query.alternates.get(term, ())] if term not in unit.tf else [(term, 1.0)]
            scored = [
                (f * self.idf(w) * unit.tf[w] * (K1 + 1) / (unit.tf[w] + norm), f) for w, f in options if w in unit.tf
            ]
            if scored:
                score, strength = max(scored)
                found[term] = (weight * score, strength)
        return found

    def candidates(self, query: Query) -> list[Candidate]:
        """Every sentence as an anchor, widened by its best neighbour, best first (ties: earlier first)."""
        matches = [self.match(u, query) for u in self.units]
        out: list[Candidate] = []
        for i, unit in enumerate(self.units):
            j, gain = self._neighbour(i, matches, query)
            score = _total(matches[i], query) + gain
            if score <= 0:
                continue
            matched = {t: strength for t, (_, strength) in matches[i].items()}
            for t, (_, strength) in matches[j].items() if j is not None else ():
                matched.setdefault(t, strength)
            type_ok = True
            if query.required:
                if self.has_type(unit, query):
                    score *= 1 + TYPE_WEIGHT
                elif j is not None and self.has_type(self.units[j], query):
                    score *= 1 + NEIGHBOUR_TYPE_WEIGHT
                else:
                    type_ok = False
            score *= 1 + BONUS_TYPE_WEIGHT * any(b in unit.typed for b in query.bonus)
            score *= 1 + NEAR_WEIGHT * self.near(unit, query)
            score *= 1 + COUNT_WEIGHT * (query.required in ("QUANTITY", "MONEY") and _counts(unit.stems, query))
            score *= (1 + LEAD_WEIGHT * (unit.paragraph <= 1)) * (HEADLINE_WEIGHT if unit.headline else 1.0)
            score *= TENSE_WEIGHT if query.tense and unit.tense and unit.tense != query.tense else 1.0
            out.append(Candidate(i, j, score, matched, type_ok))
        out.sort(key=lambda c: (-c.score, c.anchor))
        return out

    def _neighbour(
        self, i: int, matches: list[dict[str, tuple[float, float]]], query: Query
    ) -> tuple[int | None, float]:
        """The sentence that widens anchor `i` (or None) and the score it adds."""
        unit = self.units[i]
        best_gain, best_j = 0.0, None
        for j in (i - 1, i + 1):
            # A headline is never a neighbour: it restates the lead and says nothing a quote needs.
            if 0 <= j < len(self.units) and self.units[j].doc == unit.doc and not self.units[j].headline:
                factor = NEIGHBOUR_WEIGHT if self.units[j].paragraph == unit.paragraph else CROSS_PARAGRAPH_WEIGHT
                gain = factor * _total({t: m for t, m in matches[j].items() if t not in matches[i]}, query)
                if gain > best_gain:
                    best_gain, best_j = gain, j
        same = [j for j in (i + 1, i - 1) if 0 <= j < len(self.units) and self.units[j].paragraph == unit.paragraph]
        same = [j for j in same if self.units[j].doc == unit.doc]
        if best_j is None and unit.short:
            # "Some analysts were unconvinced." says little alone: the next sentence usually says what.
            best_j = next(iter(same), None)
        if query.required and not self._typed(i, query) and not self._typed(best_j, query):
            # "...has struggled to fill teaching jobs. It began the year with 17 vacancies.": the amount is in the
            # sentence after the one that names the topic.
            best_j = next((j for j in same if self._typed(j, query)), best_j)
        return best_j, best_gain

    def _typed(self, i: int | None, query: Query) -> bool:
        return i is not None and self.has_type(self.units[i], query)

    @staticmethod
    def has_type(unit: _Unit, query: Query) -> bool:
        """Whether `unit` has the answer type `query` expects. A "who" answer is a name the question lacks:
        "Who voted against the fund?" is not answered by a sentence whose only name is the fund's."""
        if query.required in ("PERSON", "ENTITY"):  # a name; for "who", an institution ("paid by the government")
            roles = (p for p in unit.typed.get("PERSON", ()) if unit.stems[p] not in query.own)
            return bool(unit.names - query.names - query.own) or (query.required == "PERSON" and any(roles))
        return any(t in unit.typed for t in ACCEPTS.get(query.required or "", (query.required,)))

    @staticmethod
    def near(unit: _Unit, query: Query, terms: frozenset[str] | None = None, width: int = NEAR_WORDS) -> bool:
        """Whether an expression of the expected answer type stands within `width` words of a question term (of
        `terms` if given): in "Cormorant launched on Jan. 28" the date is the launch's; in "postponed the launch
        three times ... last spring" it is not."""
        kinds = ACCEPTS.get(query.required, (query.required,)) if query.required else query.bonus
        spots = [p for kind in kinds for p in unit.typed.get(kind, ())]
        if kinds == ("PERSON",):  # "who started the festival?" is not answered by "Brightwater Festival" itself
            spots = [p for p in spots if unit.stems[p] not in query.own | query.names | query.implicit]
        wanted = set(terms if terms is not None else (query.own - query.everyday) or query.own)
        wanted.update(a for t in list(wanted) for a, _ in query.alternates.get(t, ()))
        places = [p for p, s in enumerate(unit.stems) if s in wanted]
        return any(abs(a - b) <= width for a in spots for b in places)


def _total(found: dict[str, tuple[float, float]], query: Query) -> float:
    """A sentence's score from its matched terms. The main subject counts once, by its best term: it says the
    sentence is about the subject, and the lead, which names the subject in every way, must not win on that."""
    explicit = sum(s for t, (s, _) in found.items() if t not in query.implicit)
    return explicit + max((s for t, (s, _) in found.items() if t in query.implicit), default=0.0)


def _counts(stems: tuple[str, ...], query: Query) -> bool:
    """Whether a number stands right before (at most one word between) the counted noun or its stand-in (any
    question term when the question names none): "three doses", "more than 1,300 stores", not "two days of a dose"."""
    wanted = set(query.focus or query.own)
    wanted.update(a for t in list(wanted) for a, _ in query.alternates.get(t, ()))
    return any(
        t in wanted and any(n[:1].isdigit() or n in _COUNT_WORDS for n in stems[max(0, p - 2) : p])
        for p, t in enumerate(stems)
    )


_COUNT_WORDS = frozenset(
    "two three four five six seven eight nine ten eleven twelve twenty thirty hundred thousand million billion".split()
)


# A question about now or next is not answered by what happened "last year", nor one about the past by what "is
# scheduled to" happen. Questions are read by their auxiliaries, sentences by explicit time markers only.
_PAST = re.compile(
    r"\b(?:last (?:year|month|week|spring|summer|autumn|fall|winter)|ago|previous(?:ly)?|earlier|former"
    r"|(?:was|were) (?:scheduled|expected|due|supposed|meant) to)\b",
    re.I,
)
_FUTURE = re.compile(
    r"\b(?:will|'ll|(?<!was )(?<!were )(?:scheduled|expected|due) to|plans? to|next (?:year|month|week)|later this)\b",
    re.I,
)
_PAST_QUESTION = re.compile(r"\b(?:did|was|were|had)\b|\b\w+ed\b(?!\s+by)", re.I)
_FUTURE_QUESTION = re.compile(r"\b(?:will|going to|gonna|are|is|now|next)\b", re.I)


def tense_of(text: str, *, question: bool = False) -> str | None:
    """The time `text` speaks of: "past", "future" (now included) or None (see above)."""
    past, future = (_PAST_QUESTION, _FUTURE_QUESTION) if question else (_PAST, _FUTURE)
    if question:  # a question's first clue decides: "when did ... will" is about the past
        return "past" if past.search(text) else "future" if future.search(text) else None
    is_past, is_future = bool(past.search(text)), bool(future.search(text))
    return "past" if is_past and not is_future else "future" if is_future and not is_past else None
