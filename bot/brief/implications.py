"""Implications: the article's own sentences about consequences, stakes and what comes next.

A general lexicon of forward-looking language (modals and future markers, plans and deadlines, consequences, risks,
warnings, conditions) scores each usable sentence; a little centrality keeps the picks on the story, MMR keeps them
distinct, and sentences already shown as key points are passed over while others are available. Items come back in
article order (they read as a short narrative of what follows), each the sentence itself, at most trimmed of a
leading "But"/"And"/dateline, with its span as evidence. Nothing is generated, so nothing can be invented.
"""

from __future__ import annotations

from collections.abc import Set
from itertools import pairwise

from bot.brief.keypoints import Analysis, analyse, mmr_select, span_text, tokens
from bot.brief.sentences import Sentence
from bot.models import Implication, Span

# A general lexicon of forward-looking language: group -> (weight, single words, phrases of two or three words). A group
# counts once per sentence, so one strong cue outweighs a pile of weak modals. Words are matched as whole lower-cased
# tokens (sets, not regexes: this runs on every sentence and must stay cheap).
_LEXICON: dict[str, tuple[float, str, str]] = {
    "stakes": (2.0, "consequence consequences implication implications repercussions fallout ramifications",
               "at stake"),
    "risk": (1.5, "risk risks risky threat threats threaten threatens danger dangerous jeopardize jeopardise jeopardy "
             "cost costs costly impact undermine harm", "could face|would face|will face|may face"),
    "warning": (1.2, "warn warns warned warning fear fears concern concerns worry worries worried caution cautioned",
                ""),
    "effect": (1.0, "mean means meaning", "lead to|leads to|result in|results in|pave the way|so that"),
    "intent": (1.6, "scheduled deadline poised", "expected to|set to|is due|are due|plans to|plan to|planning to|"
               "aims to|aim to|intends to|intend to|likely to|on track|next step|next steps|agreed to|pledged to|"
               "vowed to|promised to|committed to|seeks to|seek to"),
    "future": (1.3, "will won't shall", "going to"),
    "modal": (1.3, "would could might may must should wouldn't couldn't shouldn't", ""),
    "ahead": (1.0, "upcoming future eventually soon", "next week|next month|next year|next round|later this|"
              "in the coming|ahead of|on the horizon|by 20*"),
    "process": (0.8, "vote ruling decision hearing meeting review talks negotiations proposal plan program programme "
                "bill priority strategy approve approval election referendum appeal verdict weighing considering",
                ""),
    "condition": (0.8, "if unless whether until", ""),
}  # fmt: skip
_WORD_GROUP = {word: group for group, (_, words, _) in _LEXICON.items() for word in words.split()}
_PHRASE_GROUP = {
    tuple(phrase.split()): group
    for group, (_, _, phrases) in _LEXICON.items()
    for phrase in phrases.split("|")
    if phrase
}
_TIMED = frozenset({"intent", "future", "ahead"})  # groups that place the sentence in the future outright
_PAST = frozenset({"was", "were", "had", "did"})
_PAST_FACTOR = 0.6  # past narrative with only a modal or a noun cue ("had been evicted so that owners could ...")
_CENTRALITY = 1.5  # stay on the story: a forward-looking aside about something else ranks lower
_USED_PENALTY = 3.0  # key points are already on screen; repeat one only when nothing else is left
_MIN_CUE = 1.0  # below this a sentence isn't forward-looking; such sentences only fill up to the minimum of two


def find_implications(
    text: str,
    sentences: list[Sentence],
    *,
    exclude: Set[Span] = frozenset(),
    max_items: int = 4,
) -> list[Implication]:
    """2–4 forward-looking sentences from the article (fewer only if it has fewer usable ones), in article order.

    `exclude` holds evidence spans already used (the key points); their sentences are picked only to reach two items.
    """
    analysis = analyse(text, sentences)
    cues = {i: cue_score(analysis.infos[i].tokens) for i in analysis.usable}
    used = {i for i in analysis.usable if _overlaps(analysis, i, exclude)}
    scores = {i: _score(analysis, i, cues[i]) - (_USED_PENALTY if i in used else 0.0) for i in analysis.usable}
    forward = {i: s for i, s in scores.items() if cues[i] >= _MIN_CUE and i not in used}
    chosen = mmr_select(analysis.infos, forward, max(0, min(max_items, 4)))
    if len(chosen) < 2:  # fill to two: other forward-looking sentences first (even key points), then the rest
        rest = {i: s + (10.0 if cues[i] >= _MIN_CUE else 0.0) for i, s in scores.items() if i not in chosen}
        for i in sorted(rest, key=lambda i: (-rest[i], i))[: 2 - len(chosen)]:
            chosen.append(i)
        chosen.sort()
    picked = [analysis.infos[i] for i in chosen[:max_items]]
    return [Implication(text=span_text(text, info), evidence=[(info.start, info.end)]) for info in picked]


def cue_score(sentence: str | tuple[str, ...]) -> float:
    """How strongly a sentence (or its lower-cased tokens) talks about consequences, stakes or the future; 0 if not."""
    words = tuple(tokens(sentence)) if isinstance(sentence, str) else sentence
    groups = {_WORD_GROUP[w] for w in _WORD_GROUP.keys() & set(words)}
    pairs = set(pairwise(words))
    grams = pairs | set(zip(words, words[1:], words[2:], strict=False))
    grams.update(("by", "20*") for first, year in pairs if first == "by" and len(year) == 4 and year[:2] == "20")
    groups.update(_PHRASE_GROUP[g] for g in _PHRASE_GROUP.keys() & grams)
    if "modal" in groups and all(_perfect(words, k) for k, w in enumerate(words) if _WORD_GROUP.get(w) == "modal"):
        groups.discard("modal")  # "may (not) have played a part": speculation about the past
    score = sum(_LEXICON[g][0] for g in groups)
    if groups.isdisjoint(_TIMED) and not _PAST.isdisjoint(words):
        score *= _PAST_FACTOR
    return score


def _perfect(words: tuple[str, ...], k: int) -> bool:
    """Whether the modal at `k` is followed by "have" (or "not have")."""
    after = words[k + 1 : k + 3]
    return after[:1] == ("have",) or after == ("not", "have")


def _score(analysis: Analysis, i: int, cue: float) -> float:
    info = analysis.infos[i]
    length = 0.0 if 10 <= info.words <= 45 else 0.5  # very short or run-on sentences make weak items
    return cue + _CENTRALITY * (analysis.centroid[i] + analysis.directed[i]) / 2 - length


def _overlaps(analysis: Analysis, i: int, spans: Set[Span]) -> bool:
    info = analysis.infos[i]
    return any(start < info.sentence.end and info.sentence.start < end for start, end in spans)
