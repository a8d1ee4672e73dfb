"""The offline extractive engine: the default briefing when no LLM is configured, and the LLM engine's fallback.

Everything in the briefing is drawn from the article itself: the TL;DR and key points are ranked sentences, quotes are
found and attributed by rules, implications are the article's own forward-looking sentences. It is deterministic and
needs nothing downloaded.
"""

from __future__ import annotations

import asyncio

from bot.brief.implications import find_implications
from bot.brief.keypoints import rank_key_points
from bot.brief.quotes import extract_quotes
from bot.brief.sentences import Sentence, split_sentences
from bot.brief.tldr import choose_tldr
from bot.models import Article, Briefing, Coverage, KeyPoint, Quote, SourceInfo

ENGINE_NAME = "extractive"
# Enough quotes to say who said what without retelling the article.
MAX_QUOTES = 8


class ExtractiveBriefer:
    """Briefs an article with rules and statistics only (see the module docstring)."""

    name = ENGINE_NAME

    async def brief(self, article: Article) -> Briefing:
        """Brief `article` in a worker thread (it is CPU-bound, a few milliseconds per article)."""
        return await asyncio.to_thread(self.brief_sync, article)

    def brief_sync(self, article: Article, *, warnings: list[str] | None = None) -> Briefing:
        """Brief `article` on the calling thread."""
        text = article.text
        sentences = split_sentences(text)
        attributions = extract_quotes(text, sentences)
        tldr, key_points, tldr_source = summarise(text, sentences, title=article.title, quotes=attributions)
        quotes = shown_quotes(attributions, tldr_source)
        # Implications avoid the sentences of the TL;DR, the key points and the statements shown under who said what
        # (a forward-looking statement is often the best implication, and then the reader would see it twice).
        used = {span for point in key_points for span in point.evidence} | ({tldr_source} if tldr_source else set())
        used |= {(q.start, q.end) for q in quotes}
        implications = find_implications(text, sentences, exclude=used)
        words = article.word_count or len(text.split())
        notes = list(article.warnings) + list(warnings or [])
        if article.partial:
            notes.append("Only part of the article could be read (see the source's warnings).")
        return Briefing(
            tldr=tldr,
            key_points=key_points,
            quotes=quotes,
            implications=implications,
            source=SourceInfo.from_article(article),
            engine=ENGINE_NAME,
            coverage=Coverage(read_fraction=1.0, parts=1, note=f"read all {words:,} words"),
            warnings=_dedupe(notes),
        )


def _within(quote: Quote, span: tuple[int, int] | None) -> bool:
    return span is not None and span[0] <= quote.start and quote.end <= span[1]


def summarise(
    text: str, sentences: list[Sentence], *, title: str | None = None, quotes: list[Quote] | None = None
) -> tuple[str, list[KeyPoint], tuple[int, int] | None]:
    """The TL;DR, the key points, and the span of the sentence the TL;DR was drawn from.

    Each part of a briefing says something new. The TL;DR is drawn from the best lead key point; the key points are
    then chosen again around it, so that they say what it does not, and leave out the sentences whose words are
    shown under "who said what" (`quotes`: the article's attributions, found here if not given)."""
    key_points = rank_key_points(text, sentences, title=title)
    tldr, source = choose_tldr(text, sentences, key_points, title=title)
    if source is not None:
        quotes = extract_quotes(text, sentences) if quotes is None else quotes
        shown = [(q.start, q.end) for q in shown_quotes(quotes, source) if q.kind == "direct"]
        key_points = rank_key_points(text, sentences, title=title, besides=source, shown=shown) or key_points
    return tldr, key_points, source


def shown_quotes(quotes: list[Quote], tldr_source: tuple[int, int] | None) -> list[Quote]:
    """The attributions shown under "who said what": `select_quotes`, less an indirect one inside the TL;DR's
    sentence ("..., city officials announced" would be the TL;DR again; a direct quote there stays: it is the words).
    """
    return select_quotes([q for q in quotes if not (q.kind == "indirect" and _within(q, tldr_source))])


def select_quotes(quotes: list[Quote], limit: int = MAX_QUOTES) -> list[Quote]:
    """The quotes worth showing, at most `limit`, back in article order.

    Every speaker gets a turn before anyone gets a second one (so a group's one remark is not crowded out by the main
    speaker's sixth), and within a speaker direct quotes come before indirect ones; repeats are dropped.
    """
    by_speaker: dict[str, list[Quote]] = {}
    seen: set[str] = set()
    for quote in sorted(quotes, key=lambda q: q.start):
        key = " ".join(quote.text.lower().split())
        if key not in seen:
            seen.add(key)
            by_speaker.setdefault(quote.speaker, []).append(quote)
    queues = [sorted(items, key=lambda q: (q.kind != "direct", q.start)) for items in by_speaker.values()]
    chosen: list[Quote] = []
    while len(chosen) < limit and any(queues):
        for queue in queues:
            if queue and len(chosen) < limit:
                chosen.append(queue.pop(0))
    return sorted(chosen, key=lambda q: q.start)


def _dedupe(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))
