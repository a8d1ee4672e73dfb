"""Whether the best passage supports an answer, or the question deserves "The article doesn't say.".

Support (see `support`) means: the question's specific words all occur in the articles (directly or as a
paraphrase), enough of them in the window, the names it mentions there, the expected answer type in a sentence
about the question's key term, and an amount next to it for "how much/many". The thresholds of `RefusalPolicy`
were tuned on the development splits of bench/data/qa (bench/qa_eval.py --tune).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.brief.qa_terms import MONEY_WORDS, SHELL_STEMS
from bot.brief.retrieval import ArticleIndex, Candidate, Query


@dataclass(frozen=True)
class RefusalPolicy:
    """When the best passage counts as support. Tuned on bench/data/qa (tune and dev splits)."""

    min_coverage: float = 0.35  # IDF-weighted share of the question's terms found in the passage
    check_names: bool = True  # apply Support.names_ok
    check_typed_key: bool = True  # apply Support.typed_key
    check_missing: bool = True  # apply Support.missing
    topical_share: float = 0.2  # a name in more than this share of sentences is the topic, needed in no window
    check_placed: bool = True  # apply Support.placed
    placed_words: int = 10  # how close an amount must stand to the key term


DEFAULT_POLICY = RefusalPolicy()


@dataclass(frozen=True)
class Support:
    """How well a candidate window supports an answer to the query."""

    coverage: float  # IDF-weighted share of the question's terms in the window (everyday words discounted)
    names_ok: bool  # every name the question mentions is in the articles, and a rare one is in the window
    typed_key: bool  # a sentence with the expected answer type ("how much": an amount) has the key term too
    missing: bool = False  # a specific word of the question appears nowhere in the articles, nor a paraphrase
    placed: bool = True  # "how many/much": an amount stands by the key term

    def passes(self, policy: RefusalPolicy) -> bool:
        return (
            self.coverage >= policy.min_coverage
            and (self.names_ok or not policy.check_names)
            and (self.typed_key or not policy.check_typed_key)
            and (not self.missing or not policy.check_missing)
            and (self.placed or not policy.check_placed)
        )


def support(index: ArticleIndex, query: Query, candidate: Candidate, policy: RefusalPolicy = DEFAULT_POLICY) -> Support:
    """Measure how well `candidate` supports an answer to `query`."""

    def absent(t: str) -> bool:
        return t not in index.df and t not in query.alternates

    def rarity(t: str) -> float:  # a word the articles lack but paraphrase is as specific as the paraphrase
        options = [index.idf(a) for a, _ in query.alternates.get(t, ())] if t not in index.df else []
        return max(options) if options else index.idf(t)

    # A specific question word the articles never use, nor any paraphrase of it ("what *formation*", "how much
    # *snow*", "who will *replace* her"), names a fact they do not give. An everyday word they never use is loose
    # phrasing ("how far did it *come* down") and does not count at all.
    weight = {t: 0.0 if absent(t) and w < 1.0 else index.idf(t) * w for t, w in query.weights.items()}
    # The main subject standing in for "it" counts once, as in ranking: by its best term in the window.
    subject = [(weight.pop(t), candidate.matched.get(t, 0.0)) for t in query.implicit if t in weight]
    total = sum(weight.values()) + max((w for w, _ in subject), default=0.0)
    if not total:
        return Support(0.0, False, False)
    covered = sum(w * candidate.matched.get(t, 0.0) for t, w in weight.items()) + max(
        (w * m for w, m in subject), default=0.0
    )
    missing = any(absent(t) for t in query.own if query.weights[t] >= 1.0)
    # The key term: what the question asks about if the articles name it ("how much *rain* fell"), else its rarest
    # noun, else its rarest specific word; none if it has only everyday words. Never money words of a money question,
    # which restate its type ("how much *money* did they lose") or shell nouns ("the *project*"); not the main subject
    # ("the *club*") when the question names anything else, which stand for the story itself.
    exclude = SHELL_STEMS | (MONEY_WORDS if query.required == "MONEY" else frozenset())
    present = {t for t, w in query.weights.items() if w >= 1.0 and not absent(t)} - exclude
    specific = next(
        (
            found
            for terms in (present - index.topic, present)
            if (found := (query.focus & terms) or (terms & query.nominal) or terms)
        ),
        set(),
    )
    top = max((rarity(t) for t in specific), default=0.0)
    keys = {t for t in specific if rarity(t) >= top - 1e-9}
    window = sorted({candidate.anchor, candidate.neighbour} - {None})
    # "How much did a ticket cost?" is not answered by "Insurance alone now costs more than £200,000" next to a
    # sentence about tickets: the amount must stand by the key term, or by another question word in a sentence
    # that names the key ("NASA ... program, which paid Astrion $118 million").
    placed = query.required not in ("QUANTITY", "MONEY") or any(
        index.near(index.units[i], query, frozenset(keys or query.own), policy.placed_words)
        or (bool(keys & index.match(index.units[i], query).keys()) and index.near(index.units[i], query))
        for i in window
    )
    return Support(
        coverage=covered / total,
        names_ok=_names_ok(index, query, candidate, policy),
        typed_key=_typed_key(index, query, candidate, keys, specific, policy),
        missing=missing,
        placed=placed,
    )


def _typed_key(
    index: ArticleIndex, query: Query, candidate: Candidate, keys: set[str], specific: set[str], policy: RefusalPolicy
) -> bool:
    """Whether the sentence holding the expected answer type is about the question's key term.

    "How much will a season ticket cost?" must not be answered by "the stadium will cost £410 million" next to
    "season-ticket waiting list". When the key term is the articles' topic (in many sentences, like "water" in a
    water-authority story), any specific question term will do.
    """
    if not query.required or not specific:
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
