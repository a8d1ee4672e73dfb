"""Follow-up questions answered from the article: offline extractive answers, refusals, and LLM context selection.

`answer_offline` quotes the best supporting sentence (plus the neighbour that completes it) and cites its offsets,
or says "The article doesn't say." when no passage supports an answer. Support means, for the best passage of the
expected answer type: enough of the question's content terms (IDF-weighted, so specific words
count more than everyday ones), the question's most specific term itself, the names it mentions, and - for "how
much", "when", "who" - an answer of that type in a sentence about the question's key term. Thresholds were tuned
on the tune and dev splits of bench/data/qa and checked on its held-out split (bench/qa_eval.py).

The service binds one or more articles to a thread: pass one text, or (doc_id, text) pairs; an answer then carries
the `doc_id` of the article its citations index.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from bot.brief.qa_terms import fold
from bot.brief.retrieval import ArticleIndex, Candidate, Documents, Passage, Query, index_for, retrieve
from bot.models import Span

__all__ = [
    "EMPTY_QUESTION",
    "REFUSAL",
    "Answer",
    "ArticleIndex",
    "Passage",
    "RefusalPolicy",
    "answer_offline",
    "index_for",
    "retrieve",
    "select_passages_for_llm",
]

ENGINE_NAME = "extractive"
REFUSAL = "The article doesn't say."
EMPTY_QUESTION = "Ask a question about the article."
# "What is this about?" and friends have no content terms but a clear answer: the story's lead.
_SUMMARY = re.compile(
    r"\b(?:what(?:'s| is| was) (?:this|it|the (?:article|story|piece)) about|summar|tl;? ?dr|gist|main point)"
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


@dataclass(frozen=True)
class RefusalPolicy:
    """When the best passage counts as support. Tuned on bench/data/qa (tune split); see the module docstring."""

    min_coverage: float = 0.4  # IDF-weighted share of the question's terms found in the passage
    require_key_term: bool = True  # the question's most specific term must be in the passage
    check_names: bool = True  # apply Support.names_ok
    check_typed_key: bool = True  # apply Support.typed_key
    topical_share: float = 0.2  # a name in more than this share of sentences is the topic, needed in no window


DEFAULT_POLICY = RefusalPolicy()


@dataclass(frozen=True)
class Support:
    """How well a candidate window supports an answer to the query."""

    coverage: float  # IDF-weighted share of the question's terms in the window (everyday words discounted)
    key_present: bool  # the question's most specific term is in the window
    names_ok: bool  # every name the question mentions is in the articles, and a rare one is in the window
    typed_key: bool  # a sentence with the expected answer type ("how much": an amount) has the key term too


def support(index: ArticleIndex, query: Query, candidate: Candidate, policy: RefusalPolicy = DEFAULT_POLICY) -> Support:
    """Measure how well `candidate` supports an answer to `query`."""
    # History terms (a follow-up's "it", "she") count at their lower weight: "when is the first one?" after "will
    # there be public meetings?" is supported by the sentence about the first meeting.
    terms = frozenset(query.weights)
    # An everyday word the articles never use is loose phrasing ("how far did it *come* down"), not a missing
    # fact: it does not count. A specific word they never use does, at full weight.
    weight = {
        t: 0.0
        if query.weights[t] < 1.0 and t not in index.df and t not in query.alternates
        else index.idf(t) * query.weights[t]
        for t in terms
    }
    total = sum(weight.values())
    if not total:
        return Support(0.0, False, False, False)
    covered = sum(weight[t] * candidate.matched.get(t, 0.0) for t in terms)
    # The key term: the question's most specific term (rarest in these articles, or absent from them), everyday
    # words only when there is nothing else. Several can tie, typically words the articles lack; any will do.
    specific = (
        {t for t in terms if query.weights[t] >= 1.0}
        or {t for t in terms if query.weights[t] >= max(query.weights.values()) and t not in query.own}
        or set(terms)
    )
    top = max(index.idf(t) for t in specific)
    keys = {t for t in specific if index.idf(t) >= top - 1e-9}
    return Support(
        coverage=covered / total,
        key_present=any(t in candidate.matched for t in keys),
        names_ok=_names_ok(index, query, candidate, policy),
        typed_key=_typed_key(index, query, candidate, keys, specific, policy),
    )


def _typed_key(
    index: ArticleIndex, query: Query, candidate: Candidate, keys: set[str], specific: set[str], policy: RefusalPolicy
) -> bool:
    """Whether the sentence holding the expected answer type is about the question's key term.

    "How much will a season ticket cost?" must not be answered by "the stadium will cost £410 million" next to
    "season-ticket waiting list". When the key term is the articles' topic (in many sentences, like "water" in a
    water-authority story), any specific question term will do.
    """
    if not query.required:
        return True
    n = max(len(index.units), 1)
    window = sorted({candidate.anchor, candidate.neighbour} - {None})
    typed = [i for i in window if index.has_type(index.units[i], query)]
    wanted = {t for t in keys if index.df.get(t, 0) / n <= policy.topical_share} or specific

    def about(i: int) -> bool:
        return bool(wanted & index.match(index.units[i], query).keys())

    if any(about(i) for i in typed):
        return True
    # A sentence that follows its topic sentence in the same paragraph elaborates on it ("... Canvasly Studio ... .
    # Raman said the product ... would be released in September."): the pair counts.
    if len(window) == 2:
        first, second = window
        same_paragraph = index.units[first].paragraph == index.units[second].paragraph
        return same_paragraph and second in typed and about(first)
    return False


def _names_ok(index: ArticleIndex, query: Query, candidate: Candidate, policy: RefusalPolicy) -> bool:
    """Names and numbers: one the articles never mention means the question is about something else ("Starbucks");
    the rarest must be in the window unless it is the articles' topic (in many sentences, like "Ghana")."""
    if not query.names:
        return True
    if any(index.df.get(t, 0) == 0 and t not in query.alternates for t in query.names):
        return False
    rarest = min(sorted(query.names), key=lambda t: index.df.get(t, 0))
    if index.df.get(rarest, 0) / max(len(index.units), 1) <= policy.topical_share:
        return rarest in candidate.matched
    return True


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
    query = index.query(question, history)
    if not query.weights:
        if _SUMMARY.search(fold(question).replace("’", "'")):
            return _lead_answer(index)
        return _refusal()
    # Only the best passage of the expected answer type is judged: a weaker one further down that covers the terms
    # better is usually another topic sharing the question's words (tuning confirmed looking further gains nothing).
    best = next((c for c in index.candidates(query) if c.type_ok), None)
    if best is None:
        return _refusal()
    found = support(index, query, best, policy)
    if (
        found.coverage >= policy.min_coverage
        and (found.key_present or not policy.require_key_term)
        and (found.names_ok or not policy.check_names)
        and (found.typed_key or not policy.check_typed_key)
    ):
        return _quote(index, best, found.coverage)
    return _refusal(found.coverage)


def _refusal(best_support: float = 0.0) -> Answer:
    return Answer(text=REFUSAL, refused=True, reason=REFUSAL, support=round(best_support, 4))


def _quote(index: ArticleIndex, candidate: Candidate, coverage: float) -> Answer:
    ids = [candidate.anchor] if candidate.neighbour is None else sorted((candidate.anchor, candidate.neighbour))
    units = [index.units[i] for i in ids]
    doc_id, article = index.documents[units[0].doc]
    citations = [(u.start, u.end) for u in units]
    return Answer(
        text=" ".join(article[s:e] for s, e in citations),
        citations=citations,
        doc_id=doc_id,
        support=round(coverage, 4),
    )


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
    article while budget remains. Adjacent picks merge into one passage; the best window always gets in, cut to the
    budget if it alone exceeds it.
    """
    if budget_chars <= 0:
        return []
    index = index or index_for(text)
    # Context, not an answer: earlier questions always contribute, whatever the current one says.
    query = index.query(question, history, always_use_history=True)
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

    candidates = index.candidates(query)[:k] if query.weights else []
    for rank, candidate in enumerate(candidates):
        doc = index.units[candidate.anchor].doc
        window = sorted({candidate.anchor, candidate.neighbour} - {None})
        lo, hi = min(window), max(window)
        context = [i for i in range(lo - 1, hi + 2) if 0 <= i < len(index.units) and index.units[i].doc == doc]
        if not take(context, candidate.score) and not take(window, candidate.score) and rank == 0:
            unit = index.units[candidate.anchor]
            end = min(unit.end, unit.start + budget_chars)
            return [index.passage(unit.doc, unit.start, end, round(candidate.score, 6))]
    for doc in range(len(index.documents)):
        lead = [i for i, u in enumerate(index.units) if u.doc == doc][:2]
        take(lead, 0.0)
    return _merge(index, picks)


def _merge(index: ArticleIndex, picks: dict[int, float]) -> list[Passage]:
    """Runs of consecutive picked sentences of one article as passages, in article order."""
    passages: list[Passage] = []
    run: list[int] = []
    for i in [*sorted(picks), None]:
        if run and (i is None or i != run[-1] + 1 or index.units[i].doc != index.units[run[-1]].doc):
            first, last = index.units[run[0]], index.units[run[-1]]
            score = round(max(picks[j] for j in run), 6)
            passages.append(index.passage(first.doc, first.start, last.end, score))
            run = []
        if i is not None:
            run.append(i)
    return passages
