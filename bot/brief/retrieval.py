"""BM25 retrieval of the passages of one or more articles that may answer a follow-up question.

The unit of retrieval is a sentence, optionally widened by one neighbour. Whole sentences keep the cited quote
compact (a paragraph of a news story runs 2-4 sentences, and citing all of them buries the answer); the neighbour
recovers what a single sentence loses to pronouns: in `Whitcombe said the club would freeze prices. "We will look
after our fans," he said.` the second sentence alone does not say who "he" is. The neighbour only adds the question
terms the anchor sentence lacks, at a discount, so a self-contained sentence wins over a pair.

On top of BM25 over sentences (k1=1.2, b=0.3: sentences vary less in length than documents, and a full length
penalty made one-clause sentences win on a single shared word; IDF over the sentences of every bound article), the
question's expected answer type ("how many" wants a number, "when" a date, "who" a name the question lacks)
multiplies a sentence's score and lets the answer step rule out passages of the wrong type; a small lead bonus
reflects the inverted pyramid of news, and headlines are discounted (thin on facts). Question words are stemmed
(qa_terms), everyday words weigh less, and synonyms and prefix variants stand in at a discount.

An `ArticleIndex` is built once per article (or per set of articles bound to a thread; `index_for` caches it), so
each question costs one scan of the sentences.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from bot.brief.qa_terms import (
    GENERIC_STEMS,
    MONEY_WORDS,
    SYNONYMS,
    TYPE_ADJECTIVES,
    content_terms,
    name_terms,
    question_type,
    sentence_features,
    words,
)
from bot.brief.sentences import split_sentences

# One article's text, or several bound to one thread as (doc_id, text) pairs.
Documents = str | Sequence[tuple[str, str]]

K1 = 1.2
B = 0.3
SYNONYM_WEIGHT = 0.6  # a paraphrase match counts for less than the question's own word
VARIANT_WEIGHT = 0.8  # a word the articles lack, matched by a long shared prefix ("evacuees" ~ "evacuated")
GENERIC_WEIGHT = 0.35  # everyday words (qa_terms.GENERIC)
COUNT_WEIGHT = 0.3  # "how many doses": a number right before a question term ("three doses")
SHORT_SENTENCE = 10  # words: a sentence this short ("Two people died.") is quoted with the next one
HEADLINE_WEIGHT = 0.5  # a one-line paragraph without closing punctuation: a headline or caption, thin on facts
NEIGHBOUR_WEIGHT = 0.5  # terms found only in the adjacent sentence, same paragraph
CROSS_PARAGRAPH_WEIGHT = 0.3  # ... or across a paragraph break (attribution before a quote paragraph)
TYPE_WEIGHT = 0.6  # the anchor sentence has the expected answer type
BONUS_TYPE_WEIGHT = 0.4  # a preferred sub-type (money for "how much does it cost")
LEAD_WEIGHT = 0.1  # first two paragraphs of an article
HISTORY_WEIGHTS = (0.5, 0.25)  # the previous questions' terms, most recent first
_ANAPHORA = frozenset(
    "he she him her his hers they them their it its that this those these there then one ones".split()
)


@dataclass(frozen=True, slots=True)
class Passage:
    """A stretch of one article: `text == article_text[start:end]`; `doc_id` names the article when several are
    bound. `score` is the retrieval score (BM25 with type and lead adjustments), comparable only within a question."""

    start: int
    end: int
    text: str
    score: float
    doc_id: str | None = None


@dataclass(frozen=True, slots=True)
class _Unit:
    doc: int
    start: int
    end: int
    paragraph: int
    tf: dict[str, int]
    length: int
    features: frozenset[str]
    headline: bool
    terms: tuple[str, ...]  # content terms in order, for "number before term" checks
    short: bool
    names: frozenset[str]  # terms of capitalised words after the first: candidate answers to "who", "which"


@dataclass(frozen=True)
class Query:
    """A question as terms: `weights` for ranking (own terms 1.0, history terms less), `own` the question's own."""

    weights: dict[str, float]
    own: frozenset[str]
    required: str | None = None
    bonus: tuple[str, ...] = ()
    # term -> words of the articles that stand in for it (synonyms, prefix variants), with their discount
    alternates: dict[str, tuple[tuple[str, float], ...]] = field(default_factory=dict)
    names: frozenset[str] = frozenset()  # terms of the names and numbers the question mentions


@dataclass(frozen=True)
class Candidate:
    """A scored window: the anchor sentence, an optional neighbour, and which query terms it matched and how well."""

    anchor: int
    neighbour: int | None
    score: float
    matched: dict[str, float] = field(default_factory=dict)  # term -> 1.0 (own word) or SYNONYM_WEIGHT
    type_ok: bool = True


class ArticleIndex:
    """A BM25 index over the sentences of one or more articles. Build once per thread; reuse for every question."""

    def __init__(self, documents: Documents) -> None:
        self.documents: tuple[tuple[str | None, str], ...] = (
            ((None, documents),) if isinstance(documents, str) else tuple((d, t) for d, t in documents)
        )
        units: list[_Unit] = []
        for doc, (_, text) in enumerate(self.documents):
            sentences = split_sentences(text)
            per_paragraph = Counter(s.paragraph for s in sentences)
            for s in sentences:
                terms = content_terms(s.text)
                headline = per_paragraph[s.paragraph] == 1 and s.text[-1] not in '.!?"”’)'
                tf = dict(Counter(terms))
                short = len(s.text.split()) < SHORT_SENTENCE
                features = sentence_features(s.text)
                names = frozenset(t for t in name_terms(s.text) if not t[:1].isdigit())
                units.append(
                    _Unit(doc, s.start, s.end, s.paragraph, tf, len(terms), features, headline, terms, short, names)
                )
        self.units = units
        self.df: Counter[str] = Counter(t for u in units for t in u.tf)
        self._vocabulary_by_prefix: dict[str, list[str]] = {}
        for term in sorted(self.df):
            if len(term) >= 4 and term.isalpha():
                self._vocabulary_by_prefix.setdefault(term[:4], []).append(term)
        self.avg_length = sum(u.length for u in units) / len(units) if units else 1.0
        self._idf: dict[str, float] = {}

    def idf(self, term: str) -> float:
        """BM25 IDF over sentences; a term absent from the articles gets the highest value."""
        value = self._idf.get(term)
        if value is None:
            df = self.df.get(term, 0)
            value = self._idf[term] = math.log(1 + (len(self.units) - df + 0.5) / (df + 0.5))
        return value

    def query(self, question: str, history: Sequence[str] = (), *, always_use_history: bool = False) -> Query:
        """The question's terms and expected answer type. History adds context when the question leans on it
        ("what did he say about that?"), or always if asked: the last questions' terms join at a lower weight."""
        required, bonus, rest = question_type(question)
        # In "how much were the contracts worth", "worth" restates the answer type; if the articles lack the word,
        # it must not count against the passages that state the amount.
        # "How *heavy* is it": the adjective says what kind of number is wanted; it weighs as an everyday word.
        everyday = GENERIC_STEMS | TYPE_ADJECTIVES
        if required == "MONEY":
            everyday |= MONEY_WORDS - self.df.keys()
        own = {t: GENERIC_WEIGHT if t in everyday else 1.0 for t in content_terms(rest)}
        weights = dict(own)
        leans_on_history = len(own) <= 1 or any(w in _ANAPHORA for w in words(rest))
        if leans_on_history or always_use_history:
            for previous, weight in zip(reversed(history), HISTORY_WEIGHTS, strict=False):
                for term in content_terms(question_type(previous)[2]):
                    weights.setdefault(term, weight * (GENERIC_WEIGHT if term in GENERIC_STEMS else 1.0))
        alternates = {t: self._alternates(t) for t in weights}
        names = frozenset(name_terms(question))
        return Query(weights, frozenset(own), required, bonus, {t: a for t, a in alternates.items() if a}, names)

    def _alternates(self, term: str) -> tuple[tuple[str, float], ...]:
        """Article words that may stand in for a question term: its synonyms, and, when the articles lack the term
        itself, words sharing a long prefix with it (a cheap fallback for stems the light stemmer leaves apart)."""
        found = [(s, SYNONYM_WEIGHT) for s in sorted(SYNONYMS.get(term, ())) if s in self.df]
        if term not in self.df and len(term) >= 4 and term.isalpha():
            for word in self._vocabulary_by_prefix.get(term[:4], ()):
                shared = len(_common_prefix(term, word))
                # "evacuees" ~ "evacuated" (5+ letters shared), or a compound of the term ("walk" ~ "walkway").
                if shared >= max(5, 0.75 * min(len(term), len(word))) or (
                    shared == len(term) and len(word) > shared + 2
                ):
                    found.append((word, VARIANT_WEIGHT))
            if term.startswith("un") and term[2:] in self.df:
                found.append((term[2:], VARIANT_WEIGHT))  # "unfilled" ~ "fill": the negation is the answer's job
            for size in range(4, len(term) - 2):
                # The term as a compound ending in an article word: "farmland" ~ "land", "underwater" ~ "water".
                if term[-size:] in self.df:
                    found.append((term[-size:], VARIANT_WEIGHT))
        return tuple(found)

    def match(self, unit: _Unit, query: Query) -> dict[str, tuple[float, float]]:
        """Query term -> (BM25 contribution, strength) for the terms `unit` contains, directly or as a synonym."""
        norm = K1 * (1 - B + B * unit.length / self.avg_length)
        found: dict[str, tuple[float, float]] = {}
        for term, weight in query.weights.items():
            tf = unit.tf.get(term, 0)
            if tf:
                found[term] = (weight * self.idf(term) * tf * (K1 + 1) / (tf + norm), 1.0)
                continue
            best, strength = 0.0, 0.0
            for alternate, factor in query.alternates.get(term, ()):
                atf = unit.tf.get(alternate, 0)
                score = factor * self.idf(alternate) * atf * (K1 + 1) / (atf + norm) if atf else 0.0
                if score > best:
                    best, strength = score, factor
            if best:
                found[term] = (weight * best, strength)
        return found

    def candidates(self, query: Query) -> list[Candidate]:
        """Every sentence as an anchor, widened by its best neighbour, best first (ties: earlier first)."""
        matches = [self.match(u, query) for u in self.units]
        out: list[Candidate] = []
        for i, unit in enumerate(self.units):
            here = matches[i]
            j, gain = self._neighbour(i, matches, query)
            score = sum(s for s, _ in here.values()) + gain
            if score <= 0:
                continue
            matched = {t: strength for t, (_, strength) in here.items()}
            if j is not None:
                for t, (_, strength) in matches[j].items():
                    matched.setdefault(t, strength)
            type_ok = True
            if query.required:
                if self.has_type(unit, query):
                    score *= 1 + TYPE_WEIGHT
                elif j is not None and self.has_type(self.units[j], query):
                    score *= 1 + TYPE_WEIGHT / 2
                else:
                    type_ok = False
            if any(b in unit.features for b in query.bonus):
                score *= 1 + BONUS_TYPE_WEIGHT
            if query.required in ("QUANTITY", "MONEY") and _counts(unit.terms, query):
                score *= 1 + COUNT_WEIGHT
            if unit.paragraph <= 1:
                score *= 1 + LEAD_WEIGHT
            if unit.headline:
                score *= HEADLINE_WEIGHT
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
            if 0 <= j < len(self.units) and self.units[j].doc == unit.doc:
                factor = NEIGHBOUR_WEIGHT if self.units[j].paragraph == unit.paragraph else CROSS_PARAGRAPH_WEIGHT
                gain = factor * sum(s for t, (s, _) in matches[j].items() if t not in matches[i])
                if gain > best_gain:
                    best_gain, best_j = gain, j
        if best_j is None and unit.short:
            # "Some analysts were unconvinced." says little alone: the next sentence usually says what.
            best_j = next((j for j in (i + 1, i - 1) if self._same_paragraph(i, j)), None)
        if query.required and not self._typed(i, query) and not self._typed(best_j, query):
            # "...has struggled to fill teaching jobs. It began the year with 17 vacancies.": the amount is in the
            # sentence after the one that names the topic.
            typed = (j for j in (i + 1, i - 1) if self._same_paragraph(i, j) and self._typed(j, query))
            best_j = next(typed, best_j)
        return best_j, best_gain

    def _typed(self, i: int | None, query: Query) -> bool:
        return i is not None and self.has_type(self.units[i], query)

    @staticmethod
    def has_type(unit: _Unit, query: Query) -> bool:
        """Whether `unit` has the answer type `query` expects. A "who" answer is a name the question lacks:
        "Who voted against the fund?" is not answered by a sentence whose only name is the fund's."""
        if query.required == "PERSON":
            return bool(unit.names - query.names)
        return query.required in unit.features

    def _same_paragraph(self, i: int, j: int) -> bool:
        if not 0 <= j < len(self.units):
            return False
        a, b = self.units[i], self.units[j]
        return a.doc == b.doc and a.paragraph == b.paragraph

    def span(self, candidate: Candidate) -> tuple[int, int, int]:
        """(doc index, start, end) of a candidate's window."""
        ids = [candidate.anchor] if candidate.neighbour is None else sorted((candidate.anchor, candidate.neighbour))
        first, last = self.units[ids[0]], self.units[ids[-1]]
        return first.doc, first.start, last.end

    def passage(self, doc: int, start: int, end: int, score: float) -> Passage:
        """A Passage for a span of document `doc`."""
        doc_id, text = self.documents[doc]
        return Passage(start, end, text[start:end], score, doc_id)

    def retrieve(self, question: str, *, k: int = 3, history: Sequence[str] = ()) -> list[Passage]:
        """The `k` best non-overlapping windows for `question`, best first."""
        chosen: list[Passage] = []
        spans: list[tuple[int, int, int]] = []
        for candidate in self.candidates(self.query(question, history)):
            doc, start, end = self.span(candidate)
            if any(d == doc and start < e and s < end for d, s, e in spans):
                continue
            spans.append((doc, start, end))
            chosen.append(self.passage(doc, start, end, round(candidate.score, 6)))
            if len(chosen) == k:
                break
        return chosen


def _counts(terms: tuple[str, ...], query: Query) -> bool:
    """Whether a number stands right before (at most one word between) a question term or its stand-in."""
    wanted = set(query.weights)
    for alternates in query.alternates.values():
        wanted.update(a for a, _ in alternates)
    for pos, term in enumerate(terms):
        if term in wanted and any(_is_number(t) for t in terms[max(0, pos - 2) : pos]):
            return True
    return False


def _is_number(term: str) -> bool:
    return term[:1].isdigit() or term in _COUNT_WORDS


_COUNT_WORDS = frozenset(
    "two three four five six seven eight nine ten eleven twelve twenty thirty hundred thousand".split()
)


def _common_prefix(a: str, b: str) -> str:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]


@lru_cache(maxsize=64)
def _cached_index(key: str | tuple[tuple[str, str], ...]) -> ArticleIndex:
    return ArticleIndex(key)


def index_for(documents: Documents) -> ArticleIndex:
    """The cached index of `documents` (a text, or (doc_id, text) pairs): a thread's questions share one build."""
    key = documents if isinstance(documents, str) else tuple((d, t) for d, t in documents)
    return _cached_index(key)


def retrieve(
    text: Documents, question: str, *, k: int = 3, index: ArticleIndex | None = None, history: Sequence[str] = ()
) -> list[Passage]:
    """The `k` passages of `text` (one article, or (doc_id, text) pairs) most likely to answer `question`."""
    if not question.strip():
        return []
    return (index or index_for(text)).retrieve(question, k=k, history=history)
