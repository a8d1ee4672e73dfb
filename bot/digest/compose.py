"""Composing a channel's digest: gather the window's articles, de-duplicate, cluster by story, rank, summarize.

1. Gather: items first seen in the channel's feeds since the last digest (`feed_items.seen_since`), plus articles
   briefed in the channel's threads created since then (links people shared). Backlog items a new feed brings in
   (published long before the window) are left out.
2. De-duplicate: one article reached through several feeds or also shared in the channel is one document; articles
   with the same text under different URLs (syndicated copies) are one document with several sources.
3. Cluster by story (`cluster.cluster_stories`), then rank: stories covered by more outlets first, a boost for links
   people shared here, then recency.
4. Summarize each story from its best article: the cached briefing's TL;DR cut to two sentences, its first verified
   direct quote with the speaker, and every source's stored link. No briefing work happens here: briefings are
   prepared by the poller; an article without one falls back to its opening sentences.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from bot.brief.quotemarks import verify_quote
from bot.brief.sentences import split_sentences
from bot.digest.cluster import StoryDoc, cluster_stories
from bot.digest.model import Digest, DigestEntry, DigestQuote, DigestSource
from bot.models import Article, Briefing
from bot.service import Service
from bot.store import ChannelKey, FeedItem, StoredArticle, Subscription

__all__ = ["FIRST_WINDOW", "MAX_ENTRIES", "MAX_WINDOW", "compose_digest", "digest_window"]

MAX_ENTRIES = 15  # a morning digest longer than this is not read; the header still counts every story
MAX_ITEMS = 500  # feed items considered per digest (seen_since's limit)
LOAD_CONCURRENCY = 8  # parallel article/briefing reads while gathering
FIRST_WINDOW = timedelta(days=1)  # a channel's first digest covers the last day
MAX_WINDOW = timedelta(days=3)  # after a long pause, old news is not news: never look back further than this
BACKLOG_SLACK = timedelta(days=1)  # an item published this long before the window is a new feed's backlog
SUMMARY_CHARS = 320
QUOTE_CHARS = (15, 280)  # shorter is a fragment, longer is a paragraph


@dataclass
class _Doc:
    """One distinct article (or unbriefed feed item) of the window, with everywhere it came from."""

    url: str
    title: str | None
    outlet: str
    text: str = ""
    content_hash: str | None = None
    briefing: Briefing | None = None
    published: datetime | None = None
    seen_at: datetime | None = None
    feeds: set[str] = field(default_factory=set)
    shared: bool = False
    sources: list[DigestSource] = field(default_factory=list)

    @property
    def when(self) -> datetime | None:
        return self.published or self.seen_at


async def digest_window(service: Service, channel: ChannelKey, now: datetime) -> datetime:
    """Where the next digest starts: when the last posted one was claimed (items seen while it was being composed
    appear again rather than never), else `FIRST_WINDOW` ago; never more than `MAX_WINDOW` ago."""
    last = await service.store.digests.last_posted(channel)
    since = last.claimed_at if last is not None else now - FIRST_WINDOW
    return max(since, now - MAX_WINDOW)


async def compose_digest(
    service: Service, channel: ChannelKey, *, now: datetime, since: datetime | None = None
) -> Digest | None:
    """The channel's digest of what arrived since `since` (default: `digest_window`), or None when nothing did and
    the channel did not ask for empty digests (`ChannelSettings.digest_empty`)."""
    since = since or await digest_window(service, channel, now)
    docs, feed_hashes = await _gather(service, channel, since, now)
    if not docs:
        settings = await service.channel_settings(channel)
        return Digest(since=since, until=now) if settings.digest_empty else None
    groups = await asyncio.to_thread(cluster_stories, [StoryDoc(d.title or "", d.text) for d in docs])
    entries = sorted((_entry([docs[i] for i in group], now) for group in groups), key=lambda e: e[0], reverse=True)
    return Digest(
        since=since,
        until=now,
        entries=[entry for _score, entry in entries[:MAX_ENTRIES]],
        article_count=len(docs),
        story_count=len(groups),
        feed_count=len(feed_hashes),
        shared_count=sum(1 for d in docs if d.shared),
        omitted_stories=max(0, len(groups) - MAX_ENTRIES),
    )


# --- gathering -----------------------------------------------------------------------------------------------------


async def _gather(service: Service, channel: ChannelKey, since: datetime, now: datetime) -> tuple[list[_Doc], set[str]]:
    store = service.store
    subscriptions = {s.feed_url_hash: s for s in await store.subscriptions.list(channel, include_disabled=False)}
    items = await store.feed_items.seen_since(subscriptions, since, limit=MAX_ITEMS) if subscriptions else []
    items = [i for i in items if i.url and (i.published is None or i.published >= since - BACKLOG_SLACK)]
    threads = [t for t in await store.threads.list(channel, limit=200) if t.created_at >= since]
    by_article, by_url = await _load(
        service,
        {i.article_id for i in items if i.article_id is not None} | {a for t in threads for a in t.article_ids},
        {i.url for i in items if i.article_id is None and i.url},
    )
    loose: dict[str, _Doc] = {}  # feed items without a briefed article, by normalized URL
    used_feeds: set[str] = set()
    for item in items:
        assert item.url is not None
        used_feeds.add(item.feed_url_hash)
        feed = subscriptions[item.feed_url_hash]
        article_id = item.article_id if item.article_id is not None else by_url.get(item.url)
        doc = by_article.get(article_id) if article_id is not None else None
        if doc is None:
            doc = loose.setdefault(item.url, _Doc(item.url, item.title, _outlet(None, feed, item.url)))
        _add_feed_origin(doc, item, feed)
    for thread in threads:
        for article_id in thread.article_ids:
            if (doc := by_article.get(article_id)) is not None:
                doc.shared = True
                doc.seen_at = min(doc.seen_at or thread.created_at, thread.created_at)
    briefed = {d.url for d in by_article.values()}
    docs = [*by_article.values(), *(d for url, d in loose.items() if url not in briefed)]
    docs = _merge_copies(docs)
    for doc in docs:
        if doc.published and doc.published > now:
            doc.published = now  # a feed's future date must not pin its item to the top
        doc.sources = [_source(doc), *doc.sources]
    return docs, used_feeds


async def _load(service: Service, ids: set[int], urls: set[str]) -> tuple[dict[int, _Doc], dict[str, int]]:
    """The window's stored articles with their briefings, by id, and the ids of feed items' URLs briefed later.

    Loaded a few at a time in parallel: a 200-article digest is some 400 small queries, and round trips, not work,
    are what they cost.
    """
    store = service.store
    gate = asyncio.Semaphore(LOAD_CONCURRENCY)
    found: dict[int, _Doc] = {}

    async def by_url(url: str) -> tuple[str, StoredArticle | None]:
        async with gate:
            return url, await store.articles.get_by_url(url)

    url_hits = {url: stored for url, stored in await asyncio.gather(*(by_url(u) for u in urls)) if stored}
    prefetched = {stored.id: stored for stored in url_hits.values()}

    async def load(article_id: int) -> None:
        async with gate:
            stored = prefetched.get(article_id) or await store.articles.get(article_id)
            if stored is None or not stored.url:
                return  # pasted text has no link to show
            found[article_id] = _Doc(
                url=stored.url,
                title=stored.article.title,
                outlet=_outlet(stored.article, None, stored.url),
                text=stored.article.text,
                content_hash=stored.content_hash,
                briefing=await _briefing(service, stored),
                published=_published(stored.article),
            )

    await asyncio.gather(*(load(i) for i in ids | prefetched.keys()))
    return found, {url: stored.id for url, stored in url_hits.items()}


async def _briefing(service: Service, stored: StoredArticle) -> Briefing | None:
    """The cached briefing of the configured engine, else the offline engine's (the LLM may have been down)."""
    briefings = service.store.briefings
    engine = service.briefer.name
    found = await briefings.get(stored.id, engine, getattr(service.briefer, "prompt_version", None))
    if found is None and engine != "extractive":
        found = await briefings.get(stored.id, "extractive", None)
    return found


def _add_feed_origin(doc: _Doc, item: FeedItem, feed: Subscription) -> None:
    doc.feeds.add(item.feed_url_hash)
    doc.seen_at = min(doc.seen_at or item.seen_at, item.seen_at)
    doc.published = doc.published or item.published
    if not doc.title and item.title:
        doc.title = item.title
    if doc.outlet == _host(doc.url) and feed.title:
        doc.outlet = feed.title
    if item.url and item.url != doc.url and all(s.url != item.url for s in doc.sources):
        # The same article under another feed's URL (a wire story the poller matched by fingerprint): list both.
        outlet = _outlet(None, feed, item.url)
        doc.sources.append(DigestSource(outlet=outlet, title=item.title, url=item.url, published=item.published))


def _merge_copies(docs: list[_Doc]) -> list[_Doc]:
    """Fold articles with identical text (one wire story under several URLs) into the first, keeping each source."""
    kept: dict[str, _Doc] = {}
    out: list[_Doc] = []
    for doc in docs:
        key = doc.content_hash
        first = kept.get(key) if key else None
        if first is None:
            if key:
                kept[key] = doc
            out.append(doc)
            continue
        first.sources.append(_source(doc))
        first.feeds |= doc.feeds
        first.shared = first.shared or doc.shared
    return out


def _source(doc: _Doc) -> DigestSource:
    return DigestSource(outlet=doc.outlet, title=doc.title, url=doc.url, published=doc.when, shared=doc.shared)


def _host(url: str) -> str:
    return (urlsplit(url).hostname or url).removeprefix("www.")


def _outlet(article: Article | None, feed: Subscription | None, url: str) -> str:
    name = (article.site_name if article else None) or (feed.title if feed else None)
    return " ".join(name.split())[:80] if name and name.strip() else _host(url)


def _published(article: Article) -> datetime | None:
    if not article.published:
        return None
    try:
        value = datetime.fromisoformat(article.published.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else None  # a naive date has no place on the window's timeline


# --- one story -----------------------------------------------------------------------------------------------------


def _entry(docs: list[_Doc], now: datetime) -> tuple[float, DigestEntry]:
    """The story's entry and its ranking score: outlets covering it, shared here, then freshness."""
    best = max(docs, key=lambda d: (d.briefing is not None, _quote(d) is not None, len(d.text), -_age(d, now)))
    sources = sorted((s for d in docs for s in d.sources), key=lambda s: (s.published is None, s.published))
    newest = max((d.when for d in docs if d.when), default=None)
    outlets = len({s.outlet for s in sources})
    freshness = max(0.0, 1.0 - _age(best, now) / 48.0)  # hours; fades over two days
    score = outlets + (1.0 if any(d.shared for d in docs) else 0.0) + freshness
    quote = _quote(best) or next((q for d in docs if (q := _quote(d))), None)
    entry = DigestEntry(
        headline=best.title or sources[0].outlet,
        summary=_summary(best),
        quote=quote,
        sources=sources,
        newest=newest,
    )
    return score, entry


def _age(doc: _Doc, now: datetime) -> float:
    when = doc.when
    return max(0.0, (now - when).total_seconds() / 3600) if when else 48.0


def _summary(doc: _Doc) -> str:
    """One or two sentences: the briefing's TL;DR, else the article's opening, never just the headline again."""
    headline = _fold(doc.title or "")
    summary = ""
    for text in (doc.briefing.tldr if doc.briefing else "", doc.text[:3000]):
        sentences = [" ".join(s.text.split()) for s in split_sentences(text)]  # paragraph-aware: titles end too
        sentences = [s for s in sentences if s and _fold(s) != headline]
        summary = " ".join(sentences[:2])
        if summary:
            break
    if len(summary) > SUMMARY_CHARS:
        summary = summary[:SUMMARY_CHARS].rsplit(" ", 1)[0].rstrip(",;:") + "…"
    return summary


def _fold(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.casefold()).split())


def _quote(doc: _Doc) -> DigestQuote | None:
    """The first direct quote that is verbatim in the article and has a named speaker."""
    if doc.briefing is None:
        return None
    shortest, longest = QUOTE_CHARS
    for quote in sorted(doc.briefing.quotes, key=lambda q: q.start):
        if quote.kind != "direct" or not quote.speaker.strip() or not shortest <= len(quote.text) <= longest:
            continue
        if quote.verified or verify_quote(doc.text, quote.text):
            return DigestQuote(text=quote.text, speaker=quote.speaker, speaker_role=quote.speaker_role)
    return None
