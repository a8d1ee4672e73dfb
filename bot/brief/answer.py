"""Follow-up questions answered from the article: offline extractive answers, refusals, and LLM context selection.

`answer_offline` reads a question in its thread (`read_question`: its answer type and words, earlier questions
and the article's main subject as context), ranks the article's sentences for it (retrieval.ArticleIndex), and
quotes the best window of the expected answer type with its offsets - or says "The article doesn't say." when that
window does not support an answer (bot/brief/support.py), showing the window that came closest under the refusal.

A question about what someone said ("what did the mayor say about trucks?") is answered from the article's
attributions instead (bot/brief/said.py): the statement of the speaker it names, or a refusal when they said nothing
on the topic.

The service binds one or more articles to a thread: pass one text, or (doc_id, text) pairs; an answer then carries
the `doc_id` of the article its citations index.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field

from bot.brief.paraphrases import SYNONYMS
from bot.brief.qa_terms import (
    GENERIC_STEMS,
    MONEY_WORDS,
    SHELL_STEMS,
    TYPE_ADJECTIVES,
    analyse,
    content_terms,
    fold,
    name_terms,
    words,
)
from bot.brief.retrieval import ArticleIndex, Candidate, Documents, Query, tense_of
from bot.brief.said import (
    SaidQuestion,
    introducing_unit,
    matching_statements,
    person_for_role,
    read_said_question,
    read_who_is,
    statement_units,
    topic_overlap,
)
from bot.brief.support import DEFAULT_POLICY, RefusalPolicy, support
from bot.models import Span

__all__ = [
    "CLOSEST_LABEL",
    "EMPTY_QUESTION",
    "REFUSAL",
    "Answer",
    "ArticleIndex",
    "Passage",
    "RefusalPolicy",
    "answer_offline",
    "citation_note",
    "closest_note",
    "index_for",
    "retrieve",
    "select_passages_for_llm",
]

ENGINE_NAME = "extractive"
REFUSAL = "The article doesn't say."
CLOSEST_LABEL = "The closest it comes:"
EMPTY_QUESTION = "Ask a question about the article."
# "What is this about?" and friends have no content terms but a clear answer: the story's lead.
_SUMMARY = re.compile(
    r"\b(?:what(?:'s| is| was) (?:this|it|the (?:article|story|piece)) about|summar|tl;? ?dr|gist|main point)"
)


SYNONYM_WEIGHT = 0.6  # a paraphrase match counts for less than the question's own word
VARIANT_WEIGHT = 0.8  # a word the articles lack, matched by a long shared prefix ("evacuees" ~ "evacuated")
ALIAS_WEIGHT = 0.8  # a name the articles give a question noun by apposition
GENERIC_WEIGHT = 0.35  # everyday words (qa_terms.GENERIC)
TOPIC_WEIGHT = 0.3  # the article's main subject, standing in for "it", "she" or an unstated subject
CLOSEST_MIN_SUPPORT = 0.2  # a refused best passage this well matched is shown as the closest one
MIN_TOPIC_OVERLAP = 0.3  # "what did X say about Y": share of Y's terms a statement of X must touch
HISTORY_WEIGHTS = (0.5, 0.25)  # the previous questions' terms, most recent first
_ANAPHORA = frozenset(
    "he she him her his hers they them their it its that this those these there then one ones".split()
)


class Answer(BaseModel):
    """An answer to a follow-up question. `citations` index the text of article `doc_id` (None: the only one)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str
    citations: list[Span] = Field(default_factory=list)
    refused: bool = False
    reason: str | None = None
    engine: str = ENGINE_NAME
    doc_id: str | None = None
    support: float = 0.0  # IDF-weighted share of the question's terms the cited passage covers
    # With a refusal: the passage that came closest to an answer, so a reader can judge for themselves (an offline
    # answerer misses paraphrases). Never an answer: adapters show it under the refusal, labelled CLOSEST_LABEL.
    closest: str | None = None
    closest_citations: list[Span] = Field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Passage:
    """A stretch of one article: `text == article_text[start:end]`; `doc_id` names the article when several are
    bound. `score` is the retrieval score (BM25 with type and lead adjustments), comparable only within a question."""

    start: int
    end: int
    text: str
    score: float
    doc_id: str | None = None


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
    """The `k` best non-overlapping windows of `text` (one article, or (doc_id, text) pairs) for `question`."""
    if not question.strip():
        return []
    index = index or index_for(text)
    chosen: list[tuple[int, Passage]] = []
    for candidate in index.candidates(read_question(index, question, history)):
        ids = sorted({candidate.anchor, candidate.neighbour} - {None})
        first, last = index.units[ids[0]], index.units[ids[-1]]
        if any(d == first.doc and first.start < p.end and p.start < last.end for d, p in chosen):
            continue
        chosen.append((first.doc, _passage(index, first.doc, first.start, last.end, round(candidate.score, 6))))
        if len(chosen) == k:
            break
    return [p for _, p in chosen]


def _passage(index: ArticleIndex, doc: int, start: int, end: int, score: float) -> Passage:
    doc_id, text = index.documents[doc]
    return Passage(start, end, text[start:end], score, doc_id)


def read_question(
    index: ArticleIndex, question: str, history: Sequence[str] = (), *, always_use_history: bool = False
) -> Query:
    """`question` as a Query on `index`: its terms, answer type and word roles. Context joins at lower weights: the
    last questions' terms when the question leans on them ("what did he say about that?") or if asked, and the
    article's main subject when it has a pronoun, a shell noun ("the project") or no subject of its own."""
    form = analyse(question)
    # "How *heavy* is it": the adjective says what kind of number is wanted; it weighs as an everyday word. So
    # do money words of a money question that the articles never use ("how much were they *worth*").
    everyday = GENERIC_STEMS | TYPE_ADJECTIVES | (MONEY_WORDS - index.df.keys() if form.required == "MONEY" else set())
    own = {t: GENERIC_WEIGHT if t in everyday else 1.0 for t in content_terms(form.rest)}
    weights = dict(own)
    tokens = words(form.rest)
    vague = sum(w >= 1.0 for w in own.values()) <= 1 or bool(_ANAPHORA.intersection(tokens) or own.keys() & SHELL_STEMS)
    if vague or always_use_history:
        for previous, weight in zip(reversed(history), HISTORY_WEIGHTS, strict=False):
            for term in content_terms(analyse(previous).rest):
                weights.setdefault(term, weight * (GENERIC_WEIGHT if term in GENERIC_STEMS else 1.0))
    # "The first *one*" stands for a noun of the conversation, not for the main subject.
    implicit = index.topic - weights.keys() if vague and not {"one", "ones"} & set(tokens) else frozenset()
    weights.update(dict.fromkeys(implicit, TOPIC_WEIGHT))
    names = frozenset(name_terms(question))
    alternates = {t: a for t in weights if (a := _alternates(index, t, exact=t in names))}
    return Query(
        weights=weights,
        own=frozenset(own),
        required=form.required,
        bonus=form.bonus,
        alternates=alternates,
        names=names,
        focus=frozenset(t for t in form.focus if t in own and t not in everyday | MONEY_WORDS),
        nominal=frozenset(t for t in form.nominal if t in own),
        implicit=frozenset(implicit),
        everyday=frozenset(t for t, w in own.items() if w < 1.0),
        tense=tense_of(question, question=True),
    )


def _alternates(index: ArticleIndex, term: str, *, exact: bool = False) -> tuple[tuple[str, float], ...]:
    """Article words that may stand in for a question term: its synonyms, the names the articles give it, and,
    when they lack the term itself, words sharing a long prefix (stems the light stemmer leaves apart) - but not
    for a name (`exact`): "Ticketmaster" is not "ticketing"."""
    found = [(s, SYNONYM_WEIGHT) for s in sorted(SYNONYMS.get(term, ())) if s in index.df]
    # The doer and the deed: "ride" ~ "riders", "voters" ~ "voted" (the stemmer keeps "-er" to spare "water").
    if not exact and term.isalpha() and len(term) >= 3:
        agentive = [term + "er", term + "r"] if not term.endswith("er") else [term[:-2], term[:-1]]
        found += [(w, SYNONYM_WEIGHT) for w in agentive if len(w) >= 3 and w in index.df]
    # The names the articles give the thing, or a paraphrase of it, by apposition ("the vessel, named Seabright").
    for noun, factor in [(term, ALIAS_WEIGHT), *((s, SYNONYM_WEIGHT) for s in sorted(SYNONYMS.get(term, ())))]:
        found += [(name, factor) for name in sorted(index.aliases.get(noun, ())) if name in index.df]
    if not exact and term not in index.df and len(term) >= 4 and term.isalpha():
        for word in index.by_prefix.get(term[:4], ()):
            shared = next(
                (n for n, (a, b) in enumerate(zip(term, word, strict=False)) if a != b), min(len(term), len(word))
            )
            # "evacuees" ~ "evacuated" (5+ letters shared), or a compound of the term ("walk" ~ "walkway").
            if shared >= max(5, 0.75 * min(len(term), len(word))) or (shared == len(term) and len(word) > shared + 2):
                found.append((word, VARIANT_WEIGHT))
        if term.startswith("un") and term[2:] in index.df:
            found.append((term[2:], VARIANT_WEIGHT))  # "unfilled" ~ "fill": the negation is the answer's job
        # The term as a compound ending in an article word: "farmland" ~ "land", "underwater" ~ "water".
        found += [(term[-size:], VARIANT_WEIGHT) for size in range(4, len(term) - 2) if term[-size:] in index.df]
    return tuple(found)


def answer_offline(
    text: Documents,
    question: str,
    *,
    index: ArticleIndex | None = None,
    history: Sequence[str] = (),
    policy: RefusalPolicy = DEFAULT_POLICY,
) -> Answer:
    """Answer `question` by quoting the article(s), or refuse with "The article doesn't say.".

    `text` is one article or (doc_id, text) pairs; pass the thread's cached `index` to skip rebuilding it. `history`
    holds the thread's earlier questions, oldest first, for follow-ups that lean on them ("and what did he say?").
    """
    if not question.strip():
        return Answer(text="", refused=True, reason=EMPTY_QUESTION)
    index = index or index_for(text)
    if (asked := read_said_question(question)) is not None and (said := _said_answer(index, asked)) is not None:
        return said
    if (role := read_who_is(question)) is not None and (who := _who_answer(index, role)) is not None:
        return who
    query = read_question(index, question, history)
    if not query.weights.keys() - query.implicit:
        if _SUMMARY.search(fold(question).replace("’", "'")):
            return _lead_answer(index)
        return _refusal()
    if query.own <= query.everyday and query.weights.keys() == query.own:
        return _refusal()  # "When is the first one?" with no thread to say what "one" is: nothing to look for
    # Only the best passage of the expected answer type is judged: a weaker one further down that covers the terms
    # better is usually another topic sharing the question's words (tuning confirmed looking further gains nothing).
    best = next((c for c in index.candidates(query) if c.type_ok), None)
    if best is None:
        return _refusal()
    found = support(index, query, best, policy)
    if found.passes(policy):
        return _quote(index, best, found.coverage)
    return _refusal(found.coverage, closest=(index, _window(best)) if found.coverage >= CLOSEST_MIN_SUPPORT else None)


def _refusal(best_support: float = 0.0, *, closest: tuple[ArticleIndex, list[int]] | None = None) -> Answer:
    refusal = Answer(text=REFUSAL, refused=True, reason=REFUSAL, support=round(best_support, 4))
    if closest is None:
        return refusal
    near = _cite(*closest, best_support)
    return refusal.model_copy(update={"closest": near.text, "closest_citations": near.citations, "doc_id": near.doc_id})


def _window(candidate: Candidate) -> list[int]:
    return sorted({candidate.anchor, candidate.neighbour} - {None})  # type: ignore[arg-type]


def _said_answer(index: ArticleIndex, asked: SaidQuestion) -> Answer | None:
    """The statement of the speaker the question names that is most about its topic (the first one when it names
    none), or a refusal when no speaker matches or none of their statements touches the topic. None (answer it as
    any question) for a reaction by someone who made no statement: "how did the shares react?" """
    statements = matching_statements(index, asked)
    if not statements and asked.reaction:
        return None
    topic = read_question(index, asked.topic) if asked.topic else None
    best: tuple[float, list[int]] | None = None
    for doc, attribution in statements:
        ids = statement_units(index, doc, attribution)
        overlap = topic_overlap(index, topic, ids) if topic and ids else 1.0
        if ids and (best is None or overlap > best[0] + 1e-9):
            best = (overlap, ids)
    if best is None:
        return _refusal()
    if best[0] < MIN_TOPIC_OVERLAP:  # the speaker spoke, but not about this: their nearest statement is shown
        return _refusal(best[0], closest=(index, best[1]) if best[0] > 0 else None)
    return _cite(index, best[1], best[0])


def _who_answer(index: ArticleIndex, role: tuple[str, frozenset[str]]) -> Answer | None:
    """ "Who is the NATO chief?": the sentence that introduces the speaker the role fits (the quote finder resolved
    "the NATO chief" to Jens Stoltenberg); None, to answer it as any question, when no speaker fits."""
    found = person_for_role(index, *role)
    if found is None:
        return None
    unit = introducing_unit(index, found[0], found[1].speaker)
    return _cite(index, [unit], 1.0) if unit is not None else None


def _quote(index: ArticleIndex, candidate: Candidate, coverage: float) -> Answer:
    return _cite(index, _window(candidate), coverage)


def _cite(index: ArticleIndex, ids: list[int], coverage: float) -> Answer:
    units = [index.units[i] for i in ids]
    doc_id, article = index.documents[units[0].doc]
    citations = [(u.start, u.end) for u in units]
    return Answer(
        text=" ".join(article[s:e] for s, e in citations),
        citations=citations,
        doc_id=doc_id,
        support=round(coverage, 4),
    )


def citation_note(answer: Answer) -> str:
    """Where an answer comes from, as every adapter shows it: "cited from the article, characters 120–340"."""
    if not answer.citations:
        return "from the article"
    return f"cited from the article, characters {_spans(answer.citations)}"


def closest_note(answer: Answer) -> str:
    """Where a refusal's closest passage is: "article characters 120–340"."""
    return f"article characters {_spans(answer.closest_citations)}"


def _spans(spans: Sequence[Span]) -> str:
    return ", ".join(f"{start}–{end}" for start, end in spans)


def _lead_answer(index: ArticleIndex) -> Answer:
    """The first full sentence of the first article (a headline line has no closing punctuation)."""
    units = [u for u in index.units if u.doc == 0]
    doc_id, article = index.documents[0]
    for unit in units:
        if article[unit.end - 1] in '.!?"”’':
            return Answer(text=article[unit.start : unit.end], citations=[(unit.start, unit.end)], doc_id=doc_id)
    return _refusal()


def select_passages_for_llm(
    text: Documents,
    question: str,
    history: list[str],
    *,
    budget_chars: int,
    index: ArticleIndex | None = None,
    k: int = 5,
) -> list[Passage]:
    """The passages an LLM answer prompt should see, in article order, within `budget_chars` in all.

    The top `k` windows for the question (history questions join at lower weight, so "what did he say about that?"
    still finds the earlier topic), each with the sentences either side for context, then the lead sentences of each
    article, then the further windows in rank order, then every other sentence in article order, while budget
    remains: an article that fits is sent whole, so the model never misses an answer the ranking missed. Adjacent
    picks merge into one passage; the best window always gets in, cut to the budget if it alone exceeds it.
    """
    if budget_chars <= 0:
        return []
    index = index or index_for(text)
    # Context, not an answer: earlier questions always contribute, whatever the current one says.
    query = read_question(index, question, history, always_use_history=True)
    picks: dict[int, float] = {}  # sentence index -> score of the window that brought it in
    used = 0

    def take(ids: list[int], score: float) -> bool:
        nonlocal used
        fresh = [i for i in ids if i not in picks]
        cost = sum(index.units[i].end - index.units[i].start + 1 for i in fresh)
        if used + cost > budget_chars:
            return False
        used += cost
        for i in ids:
            picks[i] = max(picks.get(i, 0.0), score)
        return True

    candidates = index.candidates(query) if query.weights else []
    for rank, candidate in enumerate(candidates[:k]):
        doc = index.units[candidate.anchor].doc
        window = sorted({candidate.anchor, candidate.neighbour} - {None})
        lo, hi = min(window), max(window)
        context = [i for i in range(lo - 1, hi + 2) if 0 <= i < len(index.units) and index.units[i].doc == doc]
        if not take(context, candidate.score) and not take(window, candidate.score) and rank == 0:
            unit = index.units[candidate.anchor]
            end = min(unit.end, unit.start + budget_chars)
            return [_passage(index, unit.doc, unit.start, end, round(candidate.score, 6))]
    for doc in range(len(index.documents)):
        lead = [i for i, u in enumerate(index.units) if u.doc == doc][:2]
        take(lead, 0.0)
    for candidate in candidates[k:]:
        take(sorted({candidate.anchor, candidate.neighbour} - {None}), candidate.score)
    for i in range(len(index.units)):
        take([i], 0.0)
    return _merge(index, picks)


def _merge(index: ArticleIndex, picks: dict[int, float]) -> list[Passage]:
    """Runs of consecutive picked sentences of one article as passages, in article order."""
    passages: list[Passage] = []
    run: list[int] = []
    for i in [*sorted(picks), None]:
        if run and (i is None or i != run[-1] + 1 or index.units[i].doc != index.units[run[-1]].doc):
            first, last = index.units[run[0]], index.units[run[-1]]
            score = round(max(picks[j] for j in run), 6)
            passages.append(_passage(index, first.doc, first.start, last.end, score))
            run = []
        if i is not None:
            run.append(i)
    return passages
