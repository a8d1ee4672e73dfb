"""The platform-neutral core: the only thing adapters call.

Use cases: brief a source for a place, answer a follow-up question in a thread, claim an event exactly once, and
manage a channel's feeds and settings. Work is never done twice: a URL or text briefed before is answered from storage
(no fetch, no tokens) unless forced, and concurrent requests for one source share one fetch and one briefing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from bot.brief.answer import Answer, answer_offline
from bot.brief.engine import Answerer, Briefer
from bot.errors import BriefbotError, QuotaError, SourceError, ThreadError
from bot.ingest.feeds import resolve_feed
from bot.ingest.fetch import SafeFetcher
from bot.ingest.sources import RawSource, article_from_raw, read_source
from bot.ingest.urls import normalize_url, url_hash
from bot.models import Article, Briefing, Usage
from bot.observability import Metrics
from bot.store import ChannelKey, ChannelSettings, Store, Subscription, Thread, content_hash

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Place:
    """Where a request comes from: a channel, optionally a thread in it, and the user who asked."""

    channel: ChannelKey
    thread_id: str | None = None
    user: str | None = None


@dataclass(frozen=True, slots=True)
class Source:
    """What to brief: a URL, pasted text, or a shared file's content (HTML or text)."""

    kind: Literal["url", "text", "html"]
    value: str | bytes
    url: str | None = None  # for HTML/text content that came with a URL (a shared file's permalink, a feed item)

    @classmethod
    def link(cls, url: str) -> Source:
        return cls("url", url)

    @classmethod
    def text(cls, text: str) -> Source:
        return cls("text", text)


@dataclass(frozen=True, slots=True)
class BriefOutcome:
    """A briefing and where it is stored; `cached` when it came from storage without new work."""

    briefing: Briefing
    article_id: int
    article: Article
    cached: bool


@dataclass(frozen=True, slots=True)
class Quotas:
    """Requests (briefings and answers that did new work) allowed per UTC day; 0 means no limit."""

    per_user: int = 0
    per_channel: int = 0


@dataclass
class Service:
    """The core use cases over a store, a fetcher and the configured engines."""

    store: Store
    fetcher: SafeFetcher
    briefer: Briefer
    answerer: Answerer | None = None
    quotas: Quotas = field(default_factory=Quotas)
    cpu_budget: float = 5.0
    metrics: Metrics = field(default_factory=Metrics)
    on_settings_changed: Callable[[ChannelKey], Awaitable[None]] | None = None
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    _inflight: dict[tuple[str, ...], asyncio.Task[BriefOutcome]] = field(default_factory=dict, init=False)

    # --- briefing ----------------------------------------------------------------------------------------------

    async def brief(self, source: Source, place: Place, *, force: bool = False) -> BriefOutcome:
        """Brief `source` for `place`, from storage when it was briefed before (unless `force`).

        When `place.thread_id` is set the thread is bound to the article, so follow-ups there are answered from it.
        """
        key = self._flight_key(source)
        try:
            outcome = await self._single_flight(key, lambda: self._brief_once(source, place, force=force))
        except BriefbotError as exc:
            self.metrics.errors.labels(exc.kind).inc()
            raise
        self.metrics.briefings.labels(outcome.briefing.engine, "cache" if outcome.cached else "new").inc()
        if place.thread_id:
            await self.store.threads.bind(place.channel, place.thread_id, outcome.article_id)
        return outcome

    async def bind_thread(self, place: Place, thread_id: str, article_id: int) -> Thread:
        """Record that the thread `thread_id` (e.g. the message the briefing was posted as) discusses the article."""
        return await self.store.threads.bind(place.channel, thread_id, article_id)

    def _flight_key(self, source: Source) -> tuple[str, ...]:
        engine = self.briefer.name
        if source.kind == "url":
            return ("url", url_hash(str(source.value)), engine)
        value = source.value if isinstance(source.value, str) else source.value.decode("utf-8", errors="replace")
        return (source.kind, content_hash(value), engine)

    async def _single_flight(self, key: tuple[str, ...], work: Callable[[], Awaitable[BriefOutcome]]) -> BriefOutcome:
        task = self._inflight.get(key)
        if task is None:

            async def run() -> BriefOutcome:
                try:
                    return await work()
                finally:
                    self._inflight.pop(key, None)

            task = asyncio.ensure_future(run())
            self._inflight[key] = task
        # shield: one caller giving up (its platform request was cancelled) must not cancel the others' briefing.
        return await asyncio.shield(task)

    async def _brief_once(self, source: Source, place: Place, *, force: bool) -> BriefOutcome:
        # A URL is looked up before fetching; pasted text and files after extraction (cheap, no network), by the
        # hash of their clean text, so the same article pasted with different noise around it is found too.
        article: Article | None = None
        if source.kind == "url":
            stored = await self.store.articles.get_by_url(normalize_url(str(source.value)))
        else:
            article = await self._read(source)
            stored = await self.store.articles.get_by_content_hash(content_hash(article.text))
        if stored is not None and not force:
            prompt_version = getattr(self.briefer, "prompt_version", None)
            briefing = await self.store.briefings.get(stored.id, self.briefer.name, prompt_version)
            if briefing is not None:
                return BriefOutcome(briefing, stored.id, stored.article, cached=True)

        await self._check_quota(place)
        if stored is not None and not force:
            article, article_id = stored.article, stored.id
        else:
            article = article or await self._read(source)
            article_id = await self.store.articles.add(article, url=_stored_url(source))
        with self.metrics.timed(self.metrics.engine_seconds, self.briefer.name):
            briefing = await self.briefer.brief(article)
        self.metrics.record_usage(briefing.usage)
        if briefing.engine == self.briefer.name:
            # A fallback briefing (the LLM was down) is shown but not cached as the LLM's: the next ask retries.
            briefing = await self.store.briefings.put(article_id, briefing)
        await self.store.usage.record(place.channel, user=place.user, engine=briefing.engine, usage=briefing.usage)
        return BriefOutcome(briefing, article_id, article, cached=False)

    async def _read(self, source: Source) -> Article:
        if source.kind == "url":
            with self.metrics.timed(self.metrics.fetch_seconds):
                raw = await read_source(str(source.value), self.fetcher)
        elif source.kind == "html":
            data = source.value if isinstance(source.value, bytes) else source.value.encode()
            raw = RawSource("html", data, url=source.url)
        else:
            raw = RawSource("text", source.value, url=source.url)
        return await article_from_raw(raw, cpu_budget=self.cpu_budget)

    async def _check_quota(self, place: Place) -> None:
        if not (self.quotas.per_user or self.quotas.per_channel):
            return
        now = self.clock()
        since = now.replace(hour=0, minute=0, second=0, microsecond=0)
        channel = place.channel
        if self.quotas.per_user and place.user:
            used = await self.store.usage.sum_since(channel.platform, channel.workspace, since, user=place.user)
            if used.requests >= self.quotas.per_user:
                raise QuotaError(
                    f"You have used today's {self.quotas.per_user} briefings and answers; "
                    "the limit resets at midnight UTC."
                )
        if self.quotas.per_channel:
            used = await self.store.usage.sum_since(channel.platform, channel.workspace, since, channel=channel.channel)
            if used.requests >= self.quotas.per_channel:
                raise QuotaError(
                    f"This channel has used today's {self.quotas.per_channel} briefings and answers; "
                    "the limit resets at midnight UTC."
                )

    # --- follow-up questions -----------------------------------------------------------------------------------

    async def ask(self, place: Place, question: str) -> Answer:
        """Answer `question` in the thread `place.thread_id` from the article(s) briefed there."""
        if not place.thread_id:
            raise ThreadError("Ask follow-up questions in the thread of a briefing.")
        thread = await self.store.threads.find(place.channel, place.thread_id)
        if thread is None or not thread.article_ids:
            self.metrics.errors.labels(ThreadError.kind).inc()
            raise ThreadError("This thread has no briefing to answer from; share a link to brief it first.")
        return await self.ask_in_thread(thread, question, user=place.user)

    async def ask_in_thread(self, thread: Thread, question: str, *, user: str | None = None) -> Answer:
        """Answer `question` from `thread`'s articles, keeping the question and answer in the thread's history."""
        documents: list[tuple[str, str]] = []
        for article_id in thread.article_ids:
            stored = await self.store.articles.get(article_id)
            if stored is not None:
                documents.append((str(article_id), stored.article.text))
        if not documents:
            raise ThreadError("The article of this thread is no longer stored; share the link again.")
        history = [m.text for m in await self.store.messages.history(thread.id, limit=10) if m.role == "question"]
        place = Place(thread.channel, thread.thread_id, user)
        if self.answerer is not None:
            await self._check_quota(place)
            answer = await self.answerer.answer(documents, question, history)
            await self.store.usage.record(thread.channel, user=user, engine=answer.engine, usage=Usage())
        else:
            answer = await asyncio.to_thread(answer_offline, documents, question, history=history)
        self.metrics.answers.labels(answer.engine, str(answer.refused).lower()).inc()
        await self.store.messages.add(thread.id, "question", question, author=user)
        citations = [[answer.doc_id, start, end] for start, end in answer.citations]
        await self.store.messages.add(thread.id, "answer", answer.text or answer.reason or "", citations=citations)
        return answer

    async def find_thread(self, channel: ChannelKey, thread_id: str) -> Thread | None:
        """The bound thread `thread_id` of the channel, if a briefing was posted there."""
        return await self.store.threads.find(channel, thread_id)

    async def article(self, article_id: int) -> Article | None:
        """A stored article by id."""
        stored = await self.store.articles.get(article_id)
        return stored.article if stored else None

    async def thread_count(self, channel: ChannelKey) -> int:
        """How many briefing threads the channel has."""
        return await self.store.threads.count(channel)

    async def threads(self, channel: ChannelKey, *, limit: int = 50) -> list[Thread]:
        """The channel's briefing threads, newest first."""
        return list(await self.store.threads.list(channel, limit=limit))

    # --- events ------------------------------------------------------------------------------------------------

    async def claim_event(self, channel: ChannelKey, event_id: str | None, message_id: str | None = None) -> bool:
        """True the first time an event (by event id, and by channel + message id) is seen; False for a replay."""
        fresh = True
        if event_id:
            fresh = await self.store.events.claim_event(channel.platform, channel.workspace, event_id)
        if fresh and message_id:
            fresh = await self.store.events.claim_message(channel.platform, channel.channel, message_id)
        return fresh

    # --- feeds and settings ------------------------------------------------------------------------------------

    async def subscribe(self, channel: ChannelKey, url: str) -> Subscription:
        """Subscribe the channel to the feed at `url`, or to the feed its page advertises (idempotent).

        The feed is fetched and parsed once first, so a bad address fails now with a message ("That address is not
        a feed (…)") instead of silently at the next poll.
        """
        poll = await resolve_feed(self.fetcher, url)
        title = poll.feed.title if poll.feed else None
        subscription, _created = await self.store.subscriptions.add(channel, normalize_url(poll.url), title=title)
        return subscription

    async def unsubscribe(self, channel: ChannelKey, feed_url: str) -> bool:
        """Remove a subscription; False when there was none."""
        return await self.store.subscriptions.remove(channel, normalize_url(feed_url))

    async def feeds(self, channel: ChannelKey) -> list[Subscription]:
        """The channel's subscriptions."""
        return list(await self.store.subscriptions.list(channel))

    async def disable_channel(self, channel: ChannelKey, reason: str) -> int:
        """Disable the channel's subscriptions (the platform refuses to post there); how many were enabled."""
        return await self.store.subscriptions.disable_channel(channel, reason)

    async def disable_workspace(self, platform: str, workspace: str, reason: str) -> int:
        """Disable every subscription of a workspace (the app was uninstalled); how many."""
        return await self.store.subscriptions.disable_workspace(platform, workspace, reason)

    async def workspace_feeds(self, platform: str, workspace: str) -> list[Subscription]:
        """Every subscription of a workspace, by channel (App Home)."""
        return list(await self.store.subscriptions.list_workspace(platform, workspace))

    async def channel_settings(self, channel: ChannelKey) -> ChannelSettings:
        """The channel's settings (defaults when never changed)."""
        return await self.store.settings.get(channel)

    async def update_channel_settings(self, channel: ChannelKey, **changes: object) -> ChannelSettings:
        """Change some of the channel's settings; invalid values raise a SourceError with the reason.

        `on_settings_changed` (the digest scheduler) hears of it at once, so a new digest time applies now.
        """
        try:
            updated = await self.store.settings.update(channel, **changes)
        except ValueError as exc:
            raise SourceError(f"Invalid setting: {exc}") from None
        if self.on_settings_changed is not None:
            await self.on_settings_changed(channel)
        return updated


def _stored_url(source: Source) -> str | None:
    """The normalized URL an article is stored under: the shared link, or the URL a file or feed item came with."""
    if source.kind == "url":
        return normalize_url(str(source.value))
    return normalize_url(source.url) if source.url else None
