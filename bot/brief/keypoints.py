"""Unsupervised ranking of an article's key statements, with redundancy removal.

News is written as an inverted pyramid, so position is the strongest signal. Centrality refines it: similarity to the
whole article (TF-IDF centroid) and, above all, how much the rest of the article elaborates a sentence (PacSum-style
directed centrality). Title overlap, names and numbers add a little; MMR keeps the picks from repeating one another.
Before any scoring, sentences that must never be picked are ruled out: photo captions and credits, boilerplate
(subscribe, share, author bios), fragments, question-only teasers and near-duplicates. `analyse` does that once per
article (reused while the same `text` and `sentences` objects come back) for the TL;DR and implications too.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.brief.sentence_noise import is_bio, reject_reason
from bot.brief.sentences import Sentence
from bot.models import KeyPoint, Span

_STOPWORDS = frozenset(
    """
    a about above after again against all also am an and any are as at be because been before being below between
    both but by can could did do does doing down during each few for from further had has have having he her here
    hers herself him himself his how i if in into is it its itself just me more most my myself no nor not now of off
    on once only or other our ours out over own same she should so some such than that the their theirs them then
    there these they this those through to too under until up very was we were what when where which while who whom
    why will with would you your yours said says say told according mr mrs ms one two new last year years time
    """.split()
)
_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")
_DIGIT = re.compile(r"\d")
_CAPITALISED = re.compile(r"(?<=[a-z,] )[A-Z][a-z]+")  # capitalised mid-sentence: a name, most likely
_QUOTE_MARKS = re.compile(r"[\"“”]|(?<!\w)['‘]|['’](?!\w)")

# Light, meaning-preserving trims at the start of a sentence: a wire dateline ("LONDON (Reuters) --", "(CNN)"), a
# "Scroll down for video" prompt glued on by extraction, a one- or two-word label ("Update:"), and a connective.
_LEAD_JUNK = re.compile(
    r"""(?:
        (?:[A-Z][A-Za-z.'-]+(?:[ ,]+[A-Z][A-Za-z.'-]+){0,3}\s*)?\((?:CNN|AP|AFP|Reuters|UPI|Bloomberg)\)
        \s*(?:--|[-—–:])?\s*
      | [A-Z][A-Z.'-]{2,}(?:[ ,]+[A-Z][A-Z.'-]+){0,3}\s*(?:--|[—–])\s*
      | (?i:scroll\ down\ for\ (?:video|more))[.:]?\s*
    )""",
    re.VERBOSE,
)
# "Update:", "Pictured:", "Strictly business:" -- but not "The verdict: Guilty", where the label is the subject.
_LABEL = re.compile(
    r"(?!(?:The|A|An|This|That|These|Those|His|Her|Their|Its|Our|My|Your)\b)[A-Z][a-z'’-]*(?: [a-z'’-]+)?: (?=[A-Z])"
)
_CONNECTIVE = re.compile(r"(?:But|And|Yet)\s+(?=\S)|(?:However|Meanwhile|Still|Also|Now|So),\s+(?=\S)")
_SPEECH_CUE = re.compile(r"\b(?:said|says|told|added|asked|explained|wrote|insisted|warned|stated)\b", re.IGNORECASE)

# Scoring weights, tuned on CNN/DailyMail dev articles with bench/summary_eval.py; the optimum is flat around them.
_POSITION = 2.5  # weight of 1 / (1 + rank) ** _DECAY, rank among usable sentences
_DECAY = 0.7
_CENTROID = 1.0  # cosine to the article's TF-IDF centroid
_DIRECTED = 0.5  # directed centrality, normalised to [.., 1]
_BACKWARD = 0.3  # how much echoing earlier sentences counts against a sentence
_TITLE = 0.3  # share of title terms covered (real titles help; noisy URL slugs hurt, so it stays modest)
_NAME = 0.04  # per mid-sentence capitalised word, up to 4
_NUMBER = 0.05
_QUOTED = 0.15  # direct quotes go to "who said what"; key points state facts
_LONG_WORDS, _LONG_PENALTY = 40, 0.01  # per word beyond 40: run-ons and glued captions are long
_NO_STOP = 0.1  # no terminal punctuation: a heading, caption or broken line more often than a sentence
_MID_PARAGRAPH = 0.1  # a paragraph's first sentence is its topic sentence
_ANAPHORA = 0.2  # "They also took stock ...": a sentence leaning on the one before reads badly on its own
_LEANING_PRONOUNS = frozenset("they he she it".split())
_LEANING_DEMONSTRATIVES = frozenset("this that these those".split())
_AUXILIARIES = frozenset("is was are were will would has have had could may might means meant".split())
_DIVERSITY = 0.5  # MMR: weight of the similarity to sentences already chosen


@dataclass(frozen=True, slots=True)
class SentenceInfo:
    """A sentence with the span to show (light leading trims applied), its content terms, and why it's unusable."""

    sentence: Sentence
    start: int
    end: int
    terms: frozenset[str]
    tokens: tuple[str, ...]  # every lower-cased word, stop words included
    words: int
    rejected: str | None = None  # "caption", "boilerplate", "fragment", "question", "headline" or "duplicate"

    @property
    def usable(self) -> bool:
        return self.rejected is None


@dataclass(frozen=True, slots=True)
class Analysis:
    """Per-article facts every ranker needs: sentence infos and, for the usable ones, centrality scores."""

    infos: tuple[SentenceInfo, ...]
    usable: tuple[int, ...]  # indices into `infos`, in article order
    centroid: dict[int, float]  # cosine to the TF-IDF centroid, by info index
    directed: dict[int, float]  # directed centrality, by info index
    scores: dict[str | None, dict[int, float]] = field(default_factory=dict)  # score_sentences memo, by title


_STEMS: dict[str, str] = {}


def _stem(word: str) -> str:
    # A crude suffix stripper: enough to match "warned", "warns" and "warning" without a stemmer dependency.
    for suffix in ("ings", "ing", "ed", "es", "s", "ly"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def tokens(text: str) -> list[str]:
    """The lower-cased words of `text`."""
    return _WORD.findall(text.lower())


def content_terms(text: str | Sequence[str]) -> list[str]:
    """Lower-cased, stemmed content words of `text` or of its `tokens` (stop words dropped)."""
    if len(_STEMS) > 200_000:  # a long-running bot sees an open vocabulary; keep the memo bounded
        _STEMS.clear()
    terms = []
    for word in tokens(text) if isinstance(text, str) else text:
        stem = _STEMS.get(word)
        if stem is None:
            stem = _STEMS[word] = "" if word in _STOPWORDS or len(word) < 2 else _stem(word)
        if stem:
            terms.append(stem)
    return terms


def trim_span(text: str, start: int, end: int) -> Span:
    """Narrow a sentence span past a leading dateline, video prompt, label or connective; never past the middle."""
    original = start
    for _ in range(3):
        match = _LEAD_JUNK.match(text, start, end) or _CONNECTIVE.match(text, start, end)
        if not match:
            label = _LABEL.match(text, start, end)
            if label and not _SPEECH_CUE.search(label.group(0)) and '"' not in label.group(0):
                match = label
        if not match or match.end() == start:
            break
        start = match.end()
    if text.count(" ", start, end) < 3:  # trimming left too little: keep the sentence whole
        return original, end
    return start, end


# The last analysis, keyed by the identity of its inputs: the key points, TL;DR and implications of one briefing are
# computed from the same `text` and `sentences` objects, so they share one analysis without hashing the article.
_last: tuple[str, list[Sentence], int, Analysis] | None = None


def analyse(text: str, sentences: list[Sentence]) -> Analysis:
    """Trim and vet every sentence, then score the usable ones' centrality (reused for the same input objects)."""
    global _last
    last = _last
    if last is not None and last[0] is text and last[1] is sentences and last[2] == len(sentences):
        return last[3]
    analysis = _analyse(text, sentences)
    _last = (text, sentences, len(sentences), analysis)
    return analysis


def _analyse(text: str, sentences: list[Sentence]) -> Analysis:
    spans = [trim_span(text, s.start, s.end) for s in sentences]
    bodies = [text[start:end] for start, end in spans]
    words = [len(body.split()) for body in bodies]
    reasons = [reject_reason(s.text, body, n) for s, body, n in zip(sentences, bodies, words, strict=True)]
    # A caption taints its paragraph, and so does boilerplate or a staff bio opening one (bios only near the end).
    bio_from = max(1, (sentences[-1].paragraph * 2) // 3) if sentences else 1
    tainted = {}
    for k, (s, body, reason) in enumerate(zip(sentences, bodies, reasons, strict=True)):
        opens = k == 0 or sentences[k - 1].paragraph != s.paragraph
        if reason == "caption" or (opens and reason == "boilerplate"):
            tainted[s.paragraph] = reason
        elif opens and s.paragraph >= bio_from and is_bio(body):
            tainted[s.paragraph] = "boilerplate"
    # A headline line (a paragraph of its own before the story, without a full stop) restates the lead in
    # fragments: the TL;DR and key points come from the story's sentences.
    headline = len(sentences) > 3 and sentences[0].paragraph != sentences[1].paragraph
    if headline and reasons[0] is None and not bodies[0].rstrip("\"'”’)").endswith((".", "!", "?", "…")):
        reasons[0] = "headline"
    words_of = [tuple(tokens(body)) for body in bodies]
    terms = [frozenset(content_terms(t)) for t in words_of]
    reasons = [tainted.get(s.paragraph, reason) for s, reason in zip(sentences, reasons, strict=True)]
    _mark_duplicates(terms, reasons)
    infos = tuple(
        SentenceInfo(s, start, end, t, w, n, reason)
        for s, (start, end), t, w, n, reason in zip(sentences, spans, terms, words_of, words, reasons, strict=True)
    )
    usable = tuple(i for i, info in enumerate(infos) if info.usable)
    df: dict[str, int] = {}
    for i in usable:
        for term in infos[i].terms:
            df[term] = df.get(term, 0) + 1
    idf = {term: math.log((len(usable) + 1) / count) for term, count in df.items()}
    # Centroid: each term weighted by how many sentences repeat it, times its IDF; a sentence scores its TF-IDF cosine.
    centroid = {term: count * idf[term] for term, count in df.items()}
    norm = math.sqrt(sum(v * v for v in centroid.values())) or 1.0
    lengths = [math.sqrt(sum(idf[t] ** 2 for t in infos[i].terms)) or 1.0 for i in usable]
    cosine = {
        i: sum(centroid[t] * idf[t] for t in infos[i].terms) / (norm * length)
        for i, length in zip(usable, lengths, strict=True)
    }
    directed = _directed_centrality([infos[i].terms for i in usable], lengths, idf)
    return Analysis(infos, usable, cosine, dict(zip(usable, directed, strict=True)))


def _mark_duplicates(terms: list[frozenset[str]], reasons: list[str | None]) -> None:
    """Reject each usable sentence that nearly repeats an earlier usable one (an inverted index avoids all pairs)."""
    postings: dict[str, list[int]] = {}
    for index, mine in enumerate(terms):
        if reasons[index] is not None:
            continue
        shared: dict[int, int] = {}
        for term in mine:
            for other in postings.get(term, ()):
                shared[other] = shared.get(other, 0) + 1
        if any(_near_duplicate(mine, terms[other], count) for other, count in shared.items()) or (
            len(mine) < 3 and any(mine == terms[other] for other in shared)
        ):
            reasons[index] = "duplicate"
            continue
        for term in mine:
            postings.setdefault(term, []).append(index)


def _near_duplicate(a: frozenset[str], b: frozenset[str], shared: int) -> bool:
    if len(a) < 3 or len(b) < 3:
        return False
    return shared >= 0.8 * min(len(a), len(b)) or shared >= 0.6 * (len(a) + len(b) - shared)


def _directed_centrality(terms: list[frozenset[str]], lengths: list[float], idf: dict[str, float]) -> list[float]:
    """How much each sentence is echoed by the sentences after it, minus a little for echoing those before it.

    A sentence that introduces what the rest of the article elaborates is summary-like (PacSum's position-aware
    centrality, on TF-IDF cosine). Linear time: per-term running sums of 1/length replace the pairwise loop.
    """
    n = len(terms)
    ids: dict[str, int] = {}
    seqs = [[ids.setdefault(t, len(ids)) for t in mine] for mine in terms]  # list indexing beats dict lookups here
    weight = [idf[term] ** 2 for term in ids]  # ids were handed out in insertion order
    forward, backward = [0.0] * n, [0.0] * n
    for order, out in ((range(n - 1, -1, -1), forward), (range(n), backward)):
        acc = [0.0] * len(ids)
        for a in order:
            seq = seqs[a]
            out[a] = sum([weight[k] * acc[k] for k in seq]) / lengths[a]
            step = 1.0 / lengths[a]
            for k in seq:
                acc[k] += step
    raw = [f - _BACKWARD * b for f, b in zip(forward, backward, strict=True)]
    top = max(raw, default=0.0)
    return [r / top for r in raw] if top > 0 else [0.0] * n


def similarity(a: frozenset[str], b: frozenset[str]) -> float:
    """Cosine similarity of two term sets (binary vectors)."""
    if not a or not b:
        return 0.0
    return len(a & b) / math.sqrt(len(a) * len(b))


def score_sentences(analysis: Analysis, title: str | None = None) -> dict[int, float]:
    """Salience of each usable sentence, keyed by its index in `analysis.infos`. Higher is more central."""
    if title in analysis.scores:
        return analysis.scores[title]
    title_terms = frozenset(content_terms(title)) if title else frozenset()
    infos = analysis.infos
    scores: dict[int, float] = {}
    for rank, i in enumerate(analysis.usable):
        info = infos[i]
        body = info.sentence.text
        score = (
            _POSITION / (1.0 + rank) ** _DECAY
            + _CENTROID * analysis.centroid[i]
            + _DIRECTED * analysis.directed[i]
            + _NAME * min(len(_CAPITALISED.findall(body)), 4)
        )
        if title_terms:
            score += _TITLE * len(info.terms & title_terms) / len(title_terms)
        score += _NUMBER * bool(_DIGIT.search(body)) - _QUOTED * (len(_QUOTE_MARKS.findall(body)) >= 2)
        score -= _MID_PARAGRAPH * (i > 0 and infos[i - 1].sentence.paragraph == info.sentence.paragraph)
        score -= _ANAPHORA * _leans_back(info.tokens)
        score -= _LONG_PENALTY * max(0, info.words - _LONG_WORDS)
        scores[i] = score - _NO_STOP * (not body.rstrip("\"'”’)").endswith((".", "!")))
    analysis.scores[title] = scores
    return scores


def _leans_back(words: tuple[str, ...]) -> bool:
    """Whether a sentence opens with a pronoun subject ("They also ...", "This is ...") that needs the one before."""
    if not words:
        return False
    if words[0] in _LEANING_PRONOUNS:
        return True
    return words[0] in _LEANING_DEMONSTRATIVES and len(words) > 1 and words[1] in _AUXILIARIES


def choose_count(analysis: Analysis, max_points: int) -> int:
    """How many key points: 3 up to ~1,000 words, 4 to ~2,000, 5 to ~3,500, then 6 (ROUGE-style F penalises padding)."""
    words = sum(analysis.infos[i].words for i in analysis.usable)
    wanted = 3 if words < 1000 else 4 if words < 2000 else 5 if words < 3500 else 6
    return max(0, min(wanted, max_points))


def mmr_select(
    infos: tuple[SentenceInfo, ...],
    scores: dict[int, float],
    count: int,
    diversity: float = _DIVERSITY,
    *,
    said: tuple[int, ...] = (),
) -> list[int]:
    """Maximal marginal relevance: take the best sentence, discounted by its similarity to those already taken (and
    to the sentences `said` elsewhere in the briefing, which are never taken)."""
    chosen: list[int] = []
    penalty = {i: max((similarity(infos[i].terms, infos[j].terms) for j in said), default=0.0) for i in scores}
    for j in said:
        penalty.pop(j, None)
    while penalty and len(chosen) < count:
        best = max(penalty, key=lambda i: scores[i] - diversity * penalty[i])
        chosen.append(best)
        del penalty[best]
        for i in penalty:
            penalty[i] = max(penalty[i], similarity(infos[i].terms, infos[best].terms))
    return sorted(chosen)


def span_text(text: str, info: SentenceInfo) -> str:
    """The trimmed sentence, its first letter upper-cased when a leading connective or dateline was trimmed."""
    body = text[info.start : info.end]
    return body[:1].upper() + body[1:] if info.start != info.sentence.start else body


def rank_key_points(
    text: str,
    sentences: list[Sentence],
    *,
    title: str | None = None,
    max_points: int = 5,
    besides: tuple[int, int] | None = None,
    shown: Sequence[tuple[int, int]] = (),
) -> list[KeyPoint]:
    """The article's 3–6 key statements (fewer only for very short articles, or besides), in article order, with
    evidence.

    Usable sentences are scored by position, centrality, title overlap, names and numbers; MMR picks `choose_count`
    of them (3 up to ~1,000 words; capped by `max_points`). Each evidence span is exactly the returned text, except
    for an upper-cased first letter after a trimmed leading "But"/"And"/dateline. `besides` is the span of a
    sentence the briefing already gives (the TL;DR's): it is not repeated, counts towards the number of points,
    and points like it are discounted. Sentences overlapping a `shown` span (direct quotes shown elsewhere) are
    left out, unless nothing else is left.
    """
    analysis = analyse(text, sentences)
    scores = score_sentences(analysis, title)
    said = tuple(
        i
        for i in analysis.usable
        if besides and analysis.infos[i].start < besides[1] and besides[0] < analysis.infos[i].end
    )
    # The sentence said elsewhere counts towards the summary's length: a reader gets as many statements as before.
    count = max(1, choose_count(analysis, max_points) - len(said)) if said else choose_count(analysis, max_points)
    if shown:  # sentences quoted word for word under "who said what" are not key points too
        scores = {
            i: v
            for i, v in scores.items()
            if not any(s < analysis.infos[i].end and analysis.infos[i].start < e for s, e in shown)
        } or scores
    chosen = mmr_select(analysis.infos, scores, count, said=said)
    picked = [analysis.infos[i] for i in chosen]
    return [KeyPoint(text=span_text(text, info), evidence=[(info.start, info.end)]) for info in picked]
