"""Grounding checks for model output: every quote, speaker, statement, number and date is checked against the article.

Matching uses a *word view* of the text (invisible characters removed, NFKC, case-folded, split into words; each CJK
character is a word), so white space, quote marks, dashes and punctuation do not matter, and every word keeps its
offsets in `Article.text`. A matching quote is shown with the article's own characters for its span.

The rules (`check_quote`):

* The speaker must be named in the article: every word of the name, titles aside, occurs in it.
* A direct quote must occur in the article (at least 3 words). Where the offline attribution rules attribute that
  passage to someone, the speaker must match them (a shared name word); where they do not, the speaker must be named
  in the quote's paragraph, the two before it or the one after it. Otherwise the quote is misattributed: dropped.
* A quote that does not occur verbatim is kept only as a marked paraphrase (`kind="indirect"`, `verified=False`) when
  one sentence in that same window carries at least 80% of its content words; otherwise it is dropped as invented.

`FigureChecker` flags numbers, months and weekdays that the article never mentions (in digits or words); `assemble`
applies all of it to a model reply and says in `warnings` what it left out.
"""

from __future__ import annotations

import bisect
import logging
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import cached_property

from bot.brief.prompts import ModelBriefing
from bot.brief.sanitize import LeakGuard, allowed_hosts, is_invisible, sanitize_text
from bot.brief.sentences import paragraph_spans, split_sentences
from bot.models import Briefing, Implication, KeyPoint, Quote, Span

__all__ = ["ArticleIndex", "FigureChecker", "QuoteVerdict", "Words", "assemble", "check_quote", "support"]

log = logging.getLogger(__name__)

_WORD = re.compile(
    r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]|[^\W\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]+"
)
_STOP = frozenset(
    """a an and are as at be been but by for from had has have he her his i in is it its of on or our she that the
    their them they this to was we were will with would you said says say told according not no also than then there
    which who whom what when where while into over after before about more most very just""".split()
)
_TITLES = frozenset(
    """mr mrs ms miss mx dr prof sir dame lord lady sen senator rep gov governor gen general col lt capt sgt adm
    president vice minister secretary chief mayor judge justice rev father sister hon the of a an""".split()
)
_PRONOUNS = frozenset("he she they it we i you his her their its one someone".split())
# Words that may be capitalised in an article but never name a speaker (and are what injections try to quote as).
_NOT_NAMES = _PRONOUNS | frozenset(
    "everyone everybody somebody nobody anyone all here channel system assistant user".split()
)
MIN_QUOTE_WORDS = 3
_NAME_LIKE = re.compile(r"\b[^\W\d_][\w’'-]*")
PARAPHRASE_SUPPORT = 0.8  # a paraphrase may change a word or two, not add claims


@dataclass(frozen=True)
class Words:
    """The word view of a text: words (case-folded) and each word's span in the original text."""

    words: tuple[str, ...]
    spans: tuple[Span, ...]

    @classmethod
    def of(cls, text: str, base: int = 0) -> Words:
        """Words of `text`; spans are offsets into `text` (plus `base`)."""
        clean, index = _fold(text)
        words, spans = [], []
        for m in _WORD.finditer(clean):
            words.append(m.group())
            start, end = (m.start(), m.end()) if index is None else (index[m.start()], index[m.end() - 1] + 1)
            spans.append((base + start, base + end))
        return cls(tuple(words), tuple(spans))

    @cached_property
    def joined(self) -> tuple[str, list[int]]:
        """The words joined by single spaces, and where each word starts in that string."""
        starts, pos = [], 0
        for w in self.words:
            starts.append(pos)
            pos += len(w) + 1
        return " ".join(self.words), starts

    def find_all(self, needle: tuple[str, ...]) -> list[Span]:
        """Spans (in the original text) of every occurrence of the word sequence `needle`."""
        if not needle:
            return []
        text, starts = self.joined
        target, found, at = " ".join(needle), [], 0
        while (pos := text.find(target, at)) != -1:
            at = pos + 1
            end = pos + len(target)
            i = bisect.bisect_left(starts, pos)
            if i < len(starts) and starts[i] == pos and (end == len(text) or text[end] == " "):
                found.append((self.spans[i][0], self.spans[i + len(needle) - 1][1]))
        return found


def _fold(text: str) -> tuple[str, list[int] | None]:
    """`text` without invisible characters, NFKC-normalised and case-folded, with each character's original offset
    (None when nothing moved: plain ASCII, the common case, folds by lower() in place)."""
    if text.isascii():
        return text.lower(), None
    kept: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(text):
        if ch.isascii():
            kept.append(ch.lower())
            index.append(i)
        elif not is_invisible(ch):  # removed, not a separator: "ig\u200bnore" must read as "ignore"
            for out in unicodedata.normalize("NFKC", ch).casefold():
                kept.append(out)
                index.append(i)
    return "".join(kept), index


def words(text: str) -> tuple[str, ...]:
    """The case-folded words of `text` (see `Words`)."""
    return tuple(_WORD.findall(_fold(text)[0]))


def content_words(text: str) -> set[str]:
    """Words that carry meaning: not stop words, and not one-letter Latin fragments."""
    return {w for w in words(text) if w not in _STOP and (len(w) > 1 or not w.isascii())}


def name_words(name: str) -> set[str]:
    """The words of a person's or body's name without titles, articles and one-letter initials."""
    return {w for w in words(name) if w not in _TITLES and (len(w) > 1 or not w.isascii())}


class ArticleIndex:
    """Everything the checks need about one article, computed once."""

    def __init__(self, text: str, attributions: list[Quote] | None = None) -> None:
        self.text = text
        self.view = Words.of(text)
        self.vocabulary = set(self.view.words)
        self.paragraphs = paragraph_spans(text) or [(0, len(text))]
        self.sentences = split_sentences(text)
        self.sentence_words = [content_words(s.text) for s in self.sentences]
        # Only attributions that name someone: a pronoun left unresolved says nothing about who spoke.
        self.attributions = [a for a in attributions or [] if name_words(a.speaker) - _PRONOUNS]
        # Words the article writes with a capital: names. Lower-case words ("everyone", "system") are not speakers.
        self.capitalised = {
            w.casefold() for w in _NAME_LIKE.findall(unicodedata.normalize("NFKC", text)) if w[0].isupper()
        }

    @cached_property
    def figures(self) -> FigureChecker:
        return FigureChecker(self.text)

    def names(self, speaker: str) -> bool:
        """True if `speaker` is named in the article."""
        wanted = name_words(speaker)
        return bool(wanted) and wanted <= self.vocabulary

    def paragraph_of(self, offset: int) -> int:
        starts = [p[0] for p in self.paragraphs]
        return max(0, bisect.bisect_right(starts, offset) - 1)

    def window(self, span: Span) -> Span:
        """The quote's paragraph, the two before and the one after: where its speaker should be named."""
        first = self.paragraph_of(span[0])
        last = self.paragraph_of(max(span[0], span[1] - 1))
        return self.paragraphs[max(0, first - 2)][0], self.paragraphs[min(len(self.paragraphs) - 1, last + 1)][1]

    def named_near(self, speaker: str, span: Span) -> bool:
        """True if a capitalised word of `speaker` (or a word of a script without case) occurs near `span`."""
        start, end = self.window(span)
        names = {w for w in name_words(speaker) - _NOT_NAMES if w in self.capitalised or w.upper() == w.lower()}
        return bool(names & set(Words.of(self.text[start:end]).words))

    def attributed_to(self, span: Span) -> list[Quote]:
        """The offline engine's attributions overlapping `span`."""
        return [a for a in self.attributions if a.start < span[1] and span[0] < a.end]


@dataclass(frozen=True)
class QuoteVerdict:
    """The outcome for one model quote: the quote to show (or None) and why it was changed or dropped."""

    quote: Quote | None
    problem: str | None = None


def _same_speaker(a: str, b: str) -> bool:
    return bool(name_words(a) & name_words(b))


def _role_if_grounded(role: str | None, index: ArticleIndex) -> str | None:
    if not role:
        return None
    wanted = content_words(role)
    return role.strip() if wanted and len(wanted & index.vocabulary) * 2 >= len(wanted) else None


def check_quote(index: ArticleIndex, speaker: str, text: str, *, direct: bool, role: str | None = None) -> QuoteVerdict:
    """Verify one quote from the model (see the module docstring); the result carries article offsets."""
    speaker = " ".join(speaker.split())
    label = f"{speaker}: {' '.join(text.split())[:60]}"
    if not index.names(speaker):
        return QuoteVerdict(None, f"speaker not named in the article ({label})")
    who = {"speaker": speaker, "speaker_role": _role_if_grounded(role, index)}
    needle = words(text)
    mismatch = None
    for span in index.view.find_all(needle) if len(needle) >= MIN_QUOTE_WORDS else []:
        owners = index.attributed_to(span)
        if owners and not any(_same_speaker(speaker, o.speaker) for o in owners):
            mismatch = f"misattributed quote ({label}; the article attributes it to {owners[0].speaker})"
            continue
        if not owners and not index.named_near(speaker, span):
            mismatch = f"misattributed quote ({label}; the speaker is not named near it)"
            continue
        shown = index.text[span[0] : span[1]]  # the article's own characters, so the quote is verbatim
        return QuoteVerdict(
            Quote(**who, text=shown, kind="direct" if direct else "indirect", start=span[0], end=span[1], verified=True)
        )
    if mismatch:
        return QuoteVerdict(None, mismatch)
    backing = _paraphrase_support(index, speaker, text)
    if backing is None:
        return QuoteVerdict(None, f"quote not in the article ({label})")
    start, end = backing
    paraphrase = " ".join(text.split()).strip("\"“”'‘’ ")
    quote = Quote(**who, text=paraphrase, kind="indirect", start=start, end=end, verified=False)
    return QuoteVerdict(quote, f"quote not verbatim, kept as a paraphrase ({label})" if direct else None)


def _paraphrase_support(index: ArticleIndex, speaker: str, text: str) -> Span | None:
    wanted = content_words(text)
    if len(wanted) < 2:
        return None
    best: tuple[float, Span] | None = None
    for sentence, sentence_words in zip(index.sentences, index.sentence_words, strict=True):
        share = len(wanted & sentence_words) / len(wanted)
        span = (sentence.start, sentence.end)
        if share >= PARAPHRASE_SUPPORT and (best is None or share > best[0]) and index.named_near(speaker, span):
            best = (share, span)
    return best[1] if best else None


def support(index: ArticleIndex, text: str, *, max_evidence: int = 2) -> tuple[float, list[Span]]:
    """How grounded a statement is: the share of its content words found in the article, and the spans of the
    sentences that share most words with it (its evidence)."""
    wanted = content_words(text)
    if not wanted:
        return 0.0, []
    share = len(wanted & index.vocabulary) / len(wanted)
    scored = []
    for sentence, sentence_words in zip(index.sentences, index.sentence_words, strict=True):
        overlap = len(wanted & sentence_words)
        if overlap >= 2 or overlap == len(wanted):
            scored.append((-overlap, sentence.start, sentence.end))
    evidence = sorted((s, e) for _, s, e in sorted(scored)[:max_evidence])
    return share, evidence


# --- numbers and dates -------------------------------------------------------------------------------------------

_NUMBER = re.compile(
    r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(?:\s*(million|billion|trillion|thousand|bn|m|k)\b)?", re.IGNORECASE
)
_SCALE = {"thousand": 1e3, "k": 1e3, "million": 1e6, "m": 1e6, "billion": 1e9, "bn": 1e9, "trillion": 1e12}
_UNITS = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen"
_NUMBER_WORDS: dict[str, float] = dict(zip(f"{_UNITS} seventeen eighteen nineteen".split(), range(20), strict=True))
_NUMBER_WORDS |= dict(
    zip("twenty thirty forty fifty sixty seventy eighty ninety".split(), range(20, 100, 10), strict=True)
)
_NUMBER_WORDS |= dict(hundred=100, thousand=1e3, million=1e6, billion=1e9, dozen=12, half=50, quarter=25)
_DATE_WORD = re.compile(
    r"\b(?:(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?"
    r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\b\.?|(mon|tues|wednes|thurs|fri|satur|sun)day\b)",
    re.IGNORECASE,
)


def _values(text: str) -> set[float]:
    values: set[float] = set()
    for m in _NUMBER.finditer(text):
        whole = float(m.group(1).replace(",", "") + ("." + m.group(2) if m.group(2) else ""))
        values.add(whole)
        if m.group(3):
            values.add(round(whole * _SCALE[m.group(3).lower()], 3))
    return values


def _dates(text: str) -> dict[str, str]:
    found = {}
    for m in _DATE_WORD.finditer(text):
        if m.group(1) and m.group(0)[0].islower():
            continue  # "may", "march" as ordinary words
        key = ("m" + m.group(1)[:3].lower()) if m.group(1) else ("d" + m.group(2).lower())
        found[key] = m.group(0).rstrip(".")
    return found


class FigureChecker:
    """Knows the article's numbers (in digits and in words) and dates; flags the ones model text adds."""

    def __init__(self, article_text: str) -> None:
        vocabulary = set(words(article_text))
        self.values = _values(article_text) | {float(v) for w, v in _NUMBER_WORDS.items() if w in vocabulary}
        self.dates = set(_dates(article_text))

    def unsupported(self, text: str) -> list[str]:
        """The figures in `text`, as written there, that the article does not contain."""
        flagged = []
        for m in _NUMBER.finditer(text):
            if not (_values(m.group(0)) & self.values):
                flagged.append(m.group(0).strip())
        flagged += [raw for key, raw in _dates(text).items() if key not in self.dates]
        return list(dict.fromkeys(flagged))


# --- a verified briefing from a model reply ------------------------------------------------------------------------

_WARNINGS = {
    "unverified": "Left out {n} quote(s) that do not appear in the article or whose speaker it does not name.",
    "misattributed": "Left out {n} quote(s) attributed to someone the article does not attribute them to.",
    "paraphrased": "{n} quote(s) did not match the article word for word and are shown as unverified paraphrases.",
    "unsupported": "Left out {n} statement(s) the article does not support.",
    "leak": "Left out model output that repeated the bot's own instructions.",
    "unsafe": "Left out {n} item(s) made mostly of links or mentions.",
}
MOSTLY_KEPT = 0.6  # an item that loses more than 40% of its text to sanitising was mostly links and mentions
KEY_POINT_SUPPORT = 0.5  # share of a statement's content words that must occur in the article
IMPLICATION_SUPPORT = 0.34  # implications go beyond the text, so they need less of its wording


def assemble(
    data: ModelBriefing, grounding: Briefing, index: ArticleIndex, guard: LeakGuard, *, part: bool
) -> Briefing:
    """A briefing from a model reply, keeping only what the article supports (see the module docstring). Sections
    left empty are refilled from the offline `grounding` briefing, except for `part` notes (one part of a long
    article), which also keep only verified quotes."""
    hosts = allowed_hosts(grounding.source.url)
    problems: Counter[str] = Counter()

    def clean(raw: str | None) -> str | None:
        text = sanitize_text(raw or "", hosts)
        if text and guard.leaks(text):
            problems["leak"] += 1
            return None
        if len(text) < MOSTLY_KEPT * len(" ".join((raw or "").split())):  # mostly links and mentions: no content
            problems["unsafe"] += 1
            return None
        return text or None

    def statements(items: list[str], threshold: float, limit: int) -> list[tuple[str, list[Span]]]:
        kept: dict[str, tuple[str, list[Span]]] = {}
        for item in items:
            text = clean(item)
            if text is None or text.casefold() in kept:
                continue
            share, evidence = support(index, text)
            if share < threshold or len(content_words(text)) < 3:
                problems["unsupported"] += 1
                log.info("dropped unsupported statement: %.80s", text)
                continue
            kept[text.casefold()] = (text, evidence)
        return list(kept.values())[:limit]

    tldr = clean(data.tldr)
    if tldr and support(index, tldr)[0] < KEY_POINT_SUPPORT:
        problems["unsupported"] += 1
        tldr = None
    key_points = [KeyPoint(text=t, evidence=e) for t, e in statements(data.key_points, KEY_POINT_SUPPORT, 6)]
    implications = [Implication(text=t, evidence=e) for t, e in statements(data.implications, IMPLICATION_SUPPORT, 3)]
    quotes: list[Quote] = []
    for item in data.quotes[:12]:
        speaker, text = clean(item.speaker), clean(item.text)
        if not speaker or not text:
            continue
        verdict = check_quote(index, speaker, text, direct=item.direct, role=clean(item.role))
        quote = verdict.quote
        if quote is None or (part and not quote.verified):
            problems["misattributed" if (verdict.problem or "").startswith("misattributed") else "unverified"] += 1
            log.info("dropped quote: %s", verdict.problem or "unverified paraphrase in part notes")
            continue
        if verdict.problem:
            problems["paraphrased"] += 1
        if not any(q.start < quote.end and quote.start < q.end for q in quotes):
            quotes.append(quote)
    if not part:
        tldr = tldr or grounding.tldr or (key_points[0].text if key_points else "")
        key_points = key_points or list(grounding.key_points)
        quotes = quotes or list(grounding.quotes)
    warnings = [_WARNINGS[k].format(n=n) for k, n in problems.items()]
    written = [tldr or "", *(k.text for k in key_points), *(i.text for i in implications)]
    flagged = index.figures.unsupported(" \n".join(written))
    if flagged:
        warnings.append("Check these figures, which do not appear in the article: " + ", ".join(flagged) + ".")
    return Briefing(
        tldr=tldr or "",
        key_points=key_points,
        quotes=sorted(quotes, key=lambda q: q.start)[:8],
        implications=implications,
        source=grounding.source,
        engine="llm",
        warnings=warnings,
    )
