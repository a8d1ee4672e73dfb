"""'What did the mayor say about trucks?' answered from the article's attributions, not from word overlap.

A question about what someone said, thought or how they reacted names a speaker. The offline quote finder
(quotes.find_attributions, the same one behind "who said what") knows who said what in the article, so the answer
is the statement of a matching speaker, and the honest reply when no speaker matches, or none of theirs is about
the topic asked, is that the article doesn't say: a sentence that merely mentions the mayor is no answer.

A speaker matches by a word of their name or role ("the mayor" ~ "Mayor Gloria Tennant"), by a name the article
gives the question's noun by apposition ("the utility, Northway Electric"), or by a general paraphrase of it.
Pronouns ("what did she say?") are left to the general answerer, which reads them with the thread in mind.

"Who is the NATO chief?" is answered from the same speakers: the sentence that introduces the named person whose
role, or the article's descriptions of them, fit the role asked about.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from bot.brief.paraphrases import SYNONYMS
from bot.brief.qa_terms import GENERIC_STEMS, content_terms, expand_abbreviations, fold
from bot.brief.quotes import Attribution, find_attributions
from bot.brief.retrieval import ArticleIndex, Query

_SAID_QUESTION = re.compile(
    r"^\s*(?:and |so )?(?:(?:what|how) )?(?:did|does|do|has|have|had|is|are|was|were) (?P<who>.+?) "
    r"(?:(?P<react>respond|responded|responding|react|reacted|reacting|feel|felt|feeling)|say|said|saying|think|thought"
    r"|thinking|tell|told|telling|reply|replied|comment|commented|argue|argued|warn|warned|claim|claimed)\b"
    r"(?:\s+anything)?(?:\s+(?:about|of|on|to|at|regarding|over)\s+(?P<topic>.+?))?\s*[?.!]*\s*$"
)
_PRONOUNS = frozenset("he she they it him her them we you i".split())


@dataclass(frozen=True, slots=True)
class SaidQuestion:
    """A question about what someone said: the speaker's terms and the topic asked about (may be empty).
    `reaction`: asked how they reacted, which may be a deed ("shares rose") as well as words."""

    speaker: frozenset[str]
    topic: str
    reaction: bool = False


def read_said_question(question: str) -> SaidQuestion | None:
    """The speaker and topic of "what did X say (about Y)?" or "did X say anything (about Y)?", or None for any other
    question or a pronoun speaker."""
    # Abbreviations first, while their capitals still say what they are ("the U.S." -> "the United States").
    match = _SAID_QUESTION.match(fold(expand_abbreviations(question)).replace("’", "'"))
    if not match:
        return None
    who = _titles(match.group("who"))
    if set(who.split()) & _PRONOUNS or not (terms := frozenset(content_terms(who))):
        return None
    topic = match.group("topic") or ""
    # "What did the chairman say about *her*?": a pronoun topic is the thread's subject; any statement will do.
    return SaidQuestion(terms, topic if content_terms(topic) else "", bool(match.group("react")))


def _titles(text: str) -> str:
    """A deputy's title as one word: "the vice president" is not "the president", nor "a deputy mayor" the mayor."""
    return re.sub(r"\b(vice|deputy|assistant)[ -]+(\w)", r"\1\2", text, flags=re.I)


@lru_cache(maxsize=64)
def _attributions(text: str) -> tuple[Attribution, ...]:
    return tuple(find_attributions(text))


@lru_cache(maxsize=64)
def _descriptions(text: str) -> dict[str, frozenset[str]]:
    """Speaker -> the terms of their name, their roles and every description the article uses for them where they
    speak ("NATO's top official warned ..."). Read-only: the dict is shared by every question on the article."""
    described: dict[str, list[str]] = {}
    for a in _attributions(text):
        described.setdefault(a.speaker, [a.speaker]).extend(
            (a.speaker_role or "", text[a.speaker_start : a.speaker_end])
        )
    return {speaker: frozenset(content_terms(_titles(" ".join(parts)))) for speaker, parts in described.items()}


def speaker_terms(index: ArticleIndex, text: str, attribution: Attribution) -> frozenset[str]:
    """The words a question may use for this speaker of `text`: their name, roles and descriptions, and the nouns
    the article gives them by apposition."""
    own = _descriptions(text)[attribution.speaker]
    return own | {noun for noun, names in index.aliases.items() if names & own}


def matching_statements(index: ArticleIndex, asked: SaidQuestion) -> list[tuple[int, Attribution]]:
    """(document, attribution) for every statement of the speaker the question names, in article order. When
    several speakers match, those matching more of the question's words win: "the county guy for the island" is the
    island's county representative, not the island's residents."""
    # Generic words ("people", "officials") may name a speaker only by themselves: "the power company" is no match
    # for every company spokesperson when the article never calls anyone "the power company".
    specific = asked.speaker - GENERIC_STEMS or asked.speaker
    wanted = set(specific) | {s for t in specific for s in SYNONYMS.get(t, ())}
    found: list[tuple[int, int, Attribution]] = []
    for doc, (_, text) in enumerate(index.documents):
        for attribution in _attributions(text):
            terms = speaker_terms(index, text, attribution)
            if specific & terms or (wanted & terms and not specific & index.df.keys()):
                strength = len(specific & terms) or len(wanted & terms)
                found.append((strength, doc, attribution))
    best = max((strength for strength, _, _ in found), default=0)
    return [(doc, attribution) for strength, doc, attribution in found if strength == best]


_WHO_IS = re.compile(
    r"^\s*(?:and |so )?who(?:'s| is| was| are| were)\s+(?:(?:the|a|an|their|its|his|her)\s+)?(?P<what>[a-z][\w' .-]*?)"
    r"\s*[?.!]*\s*$"
)


def read_who_is(question: str) -> tuple[str, frozenset[str]] | None:
    """The role asked about in "who is the new coach?" / "who's the boss of Westline?" as (head, modifiers): the
    head noun's term and the terms before it ("new" is generic and dropped); None for any other question."""
    match = _WHO_IS.match(fold(expand_abbreviations(question)).replace("’", "'"))
    if not match:
        return None
    # The noun phrase before a relative clause or a prepositional tail: "the health minister (who left in March)".
    phrase = re.split(r"\s+(?:who|that|which|of|at|in|for|on|from|with|there|here|now)\b", match.group("what"))[0]
    if any(w.endswith("ing") for w in phrase.split()):
        return None  # "who is the one paying": a deed, not a role
    terms = content_terms(_titles(phrase))
    if not terms:
        return None
    return terms[-1], frozenset(terms[:-1]) - GENERIC_STEMS


def person_for_role(index: ArticleIndex, head: str, modifiers: frozenset[str]) -> tuple[int, Attribution] | None:
    """The named speaker whose role, or the article's names for them, has the role's head noun (or a paraphrase:
    "boss" ~ "chief executive") and each of its modifiers ("health minister" is not the transport minister), as
    (document, their first statement); None when nobody fits."""

    def fits(term: str, terms: frozenset[str]) -> bool:
        return term in terms or bool(SYNONYMS.get(term, frozenset()) & terms)

    for doc, (_, text) in enumerate(index.documents):
        for attribution in _attributions(text):
            name = attribution.speaker.split()
            if len(name) < 2 or not all(w[:1].isupper() for w in name):
                continue  # a person's name, not "the club's owners"
            terms = speaker_terms(index, text, attribution)
            if fits(head, terms) and all(fits(m, terms) for m in modifiers):
                return doc, attribution
    return None


def introducing_unit(index: ArticleIndex, doc: int, name: str) -> int | None:
    """The first sentence of document `doc` that gives the whole name (where the article introduces the person)."""
    text = index.documents[doc][1]
    for i, unit in enumerate(index.units):
        if unit.doc == doc and name in text[unit.start : unit.end]:
            return i
    return None


def statement_units(index: ArticleIndex, doc: int, attribution: Attribution) -> list[int]:
    """The sentences (unit indexes) that hold a statement and its speaker, at most two, first ones first."""
    start = min(attribution.start, attribution.speaker_start)
    end = max(attribution.end, attribution.speaker_end)
    ids = [i for i, u in enumerate(index.units) if u.doc == doc and u.start < end and start < u.end]
    return ids[:2]


PARAGRAPH_WEIGHT = 0.5  # a topic word in the statement's paragraph but not in its own sentences


def topic_overlap(index: ArticleIndex, query: Query, ids: list[int]) -> float:
    """IDF-weighted share of the topic's terms that the statement's sentences contain (in the rest of their
    paragraph, at a discount: the sentence before a quote often names what it is about)."""
    if not query.weights:
        return 1.0
    paragraph = {index.units[i].paragraph for i in ids}
    doc = index.units[ids[0]].doc
    around = [j for j, u in enumerate(index.units) if u.doc == doc and u.paragraph in paragraph]
    matched: dict[str, float] = {}
    for j in around:
        factor = 1.0 if j in ids else PARAGRAPH_WEIGHT
        for term, (_, strength) in index.match(index.units[j], query).items():
            matched[term] = max(matched.get(term, 0.0), strength * factor)
    total = sum(index.idf(t) * w for t, w in query.weights.items())
    return sum(index.idf(t) * w * matched.get(t, 0.0) for t, w in query.weights.items()) / total if total else 0.0
