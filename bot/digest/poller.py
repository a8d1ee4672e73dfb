"""Feed polling: due subscriptions are fetched (conditionally), new items recorded, and their briefings prepared.

One poll cycle (`FeedPoller.poll_due`):

1. take the subscriptions whose `next_poll_at` has come, grouped by feed (channels sharing a feed share one fetch);
2. fetch each feed through the safe fetcher with its stored ETag/Last-Modified; 304 means nothing to do;
3. record every linked item (`feed_items.mark_seen` is unique per feed, so two replicas or two polls never count an
   item twice) and schedule the next poll;
4. prepare briefings for new items, newest first, within each channel's budget per cycle (`PollPolicy.briefs_per_
   channel`): `Service.brief` fetches the item's link through the same SSRF guard and caches the briefing by article,
   so an item in three feeds, or a link already shared in chat, is fetched and briefed once. A link that cannot be
   fetched (but is not blocked) is briefed from the feed's own full content when the feed carries it. Items left over
   (budget, crash mid-cycle) are picked up by later cycles while they are fresh.

Errors back off per feed: the next poll waits `interval × 2^errors`, capped at `max_backoff`; after `max_errors`
consecutive failures, or at once for a feed that is refused on principle (it declares XML entities, or it now points
at a private address), the subscription is disabled with a reason the channel sees in `/feeds`.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.errors import BlockedURLError, BriefbotError, QuotaError
from bot.ingest.feeds import FeedEntry, FeedError, UnsafeFeedError, poll_feed
from bot.service import Place, Service, Source
from bot.store import ChannelKey, Subscription, content_hash

__all__ = ["FeedPoller", "PollPolicy", "PollReport", "backoff_delay"]

log = logging.getLogger(__name__)
MIN_CONTENT_WORDS = 80  # a feed's own content shorter than this is a teaser, not an article to brief
_FAILED_MEMORY = 5_000  # item links that failed, remembered per process so a dead link is not retried every cycle


@dataclass(frozen=True, slots=True)
class PollPolicy:
    """How often feeds are polled, how errors back off, and how much briefing work a poll cycle may do."""

    interval: timedelta = timedelta(minutes=30)
    max_backoff: timedelta = timedelta(hours=24)
    max_errors: int = 8
    briefs_per_channel: int = 10  # item fetches + briefings per channel per cycle (cost and politeness cap)
    fresh_for: timedelta = timedelta(days=2)  # older items are recorded but not briefed (a new feed's backlog)
    batch: int = 100  # subscriptions per cycle
    concurrency: int = 4  # feeds fetched at once


@dataclass
class PollReport:
    """What one cycle did (for logs and tests)."""

    feeds: int = 0
    not_modified: int = 0
    failed: int = 0
    disabled: list[str] = field(default_factory=list)
    new_items: int = 0
    briefed: int = 0
    over_budget: int = 0


def backoff_delay(policy: PollPolicy, errors: int) -> timedelta:
    """The wait before the next poll after `errors` consecutive failures (0: the normal interval)."""
    if errors <= 0:
        return policy.interval
    return min(policy.interval * (2 ** min(errors, 20)), policy.max_backoff)


class _Budget:
    """Briefings left per channel in this cycle."""

    def __init__(self, per_channel: int) -> None:
        self._left: dict[ChannelKey, int] = defaultdict(lambda: per_channel)

    def take(self, channels: Sequence[ChannelKey]) -> ChannelKey | None:
        for channel in channels:
            if self._left[channel] > 0:
                self._left[channel] -= 1
                return channel
        return None

    def exhaust(self, channel: ChannelKey) -> None:
        self._left[channel] = 0


@dataclass
class _Cycle:
    """State shared by the feeds of one poll cycle."""

    report: PollReport = field(default_factory=PollReport)
    budget: _Budget = field(default_factory=lambda: _Budget(0))
    prints: dict[str, int] = field(default_factory=dict)  # item fingerprint -> article id briefed this cycle


class FeedPoller:
    """Polls due feeds for a service (see the module docstring). `clock` gives `now` when a call does not."""

    def __init__(
        self, service: Service, policy: PollPolicy | None = None, *, clock: Callable[[], datetime] | None = None
    ) -> None:
        self.service = service
        self.policy = policy or PollPolicy()
        self._clock = clock or (lambda: datetime.now(UTC))
        self._failed: dict[str, None] = {}  # insertion-ordered set, bounded

    async def poll_due(self, now: datetime | None = None) -> PollReport:
        """Run one poll cycle over the subscriptions due at `now`."""
        now = now or self._clock()
        due = await self.service.store.subscriptions.due(now, limit=self.policy.batch)
        groups: dict[str, list[Subscription]] = defaultdict(list)
        for subscription in due:
            groups[subscription.feed_url_hash].append(subscription)
        cycle = _Cycle(budget=_Budget(self.policy.briefs_per_channel))
        gate = asyncio.Semaphore(self.policy.concurrency)

        async def one(subscriptions: list[Subscription]) -> None:
            async with gate:
                try:
                    await self._poll_feed(subscriptions, now, cycle)
                except Exception:
                    # A bug or a database error in one feed must not cost the others their poll.
                    log.exception("feed poll crashed subscription=%s", subscriptions[0].id)

        await asyncio.gather(*(one(subs) for subs in groups.values()))
        return cycle.report

    async def _poll_feed(self, subscriptions: list[Subscription], now: datetime, cycle: _Cycle) -> None:
        first, report = subscriptions[0], cycle.report
        validators = {(s.etag, s.last_modified) for s in subscriptions}
        # Conditional only when every subscriber saw the same version; otherwise one of them would miss items.
        etag, modified = validators.pop() if len(validators) == 1 else (None, None)
        report.feeds += 1
        try:
            poll = await poll_feed(self.service.fetcher, first.feed_url, etag=etag, last_modified=modified)
        except Exception as caught:
            # Unexpected errors (a parser bug on hostile input) back off like any failure: never a hot retry loop.
            exc = caught if isinstance(caught, BriefbotError) else FeedError("The feed could not be read.")
            if exc is not caught:
                log.exception("feed parse crashed subscription=%s", first.id)
            report.failed += 1
            for subscription in subscriptions:
                await self._record_failure(subscription, exc, now, report)
            return
        store = self.service.store
        channels = [s.channel for s in subscriptions]
        if poll.not_modified or poll.feed is None:
            report.not_modified += 1
            for subscription in subscriptions:
                await store.subscriptions.update_poll_state(
                    subscription.id, next_poll_at=now + self.policy.interval, etag=etag, last_modified=modified
                )
            await self._prepare(first.feed_url_hash, [], channels, now, cycle)  # leftovers of earlier cycles
            return
        new: list[FeedEntry] = []
        for entry in poll.feed.entries:
            if entry.link is None:
                continue  # nothing to fetch, brief or link to
            seen = await store.feed_items.mark_seen(
                first.feed_url_hash, entry.key, url=entry.link, title=entry.title, published=entry.published
            )
            if seen:
                new.append(entry)
        report.new_items += len(new)
        for subscription in subscriptions:
            await store.subscriptions.update_poll_state(
                subscription.id,
                next_poll_at=now + self.policy.interval,
                etag=poll.etag,
                last_modified=poll.last_modified,
                title=poll.feed.title if subscription.title is None else None,
            )
        await self._prepare(first.feed_url_hash, new, channels, now, cycle)

    async def _record_failure(
        self, subscription: Subscription, exc: BriefbotError, now: datetime, report: PollReport
    ) -> None:
        errors = subscription.error_count + 1
        store = self.service.store
        await store.subscriptions.update_poll_state(
            subscription.id, next_poll_at=now + backoff_delay(self.policy, errors), failed=True
        )
        log.info("feed poll failed subscription=%s errors=%d kind=%s", subscription.id, errors, exc.kind)
        refused = isinstance(exc, UnsafeFeedError | BlockedURLError)
        if refused or errors >= self.policy.max_errors:
            why = "briefbot refuses this feed" if refused else f"{errors} checks in a row failed"
            reason = f"Stopped: {why} ({exc}). Subscribe again to retry."
            await store.subscriptions.disable(subscription.id, reason)
            report.disabled.append(reason)

    # --- briefings ---------------------------------------------------------------------------------------------

    async def _prepare(
        self,
        feed_hash: str,
        new: list[FeedEntry],
        channels: list[ChannelKey],
        now: datetime,
        cycle: _Cycle,
    ) -> None:
        fresh = [e for e in new if e.published is None or e.published >= now - self.policy.fresh_for]
        fresh.sort(key=lambda e: e.published or now, reverse=True)
        work: list[tuple[FeedEntry, bool]] = [(e, True) for e in fresh]
        work += [(e, False) for e in await self._leftovers(feed_hash, now, {e.link for e in fresh})]
        for entry, attach in work:
            assert entry.link is not None
            if entry.link in self._failed:
                continue
            print_ = fingerprint(entry)
            article_id = cycle.prints.get(print_) if print_ else None
            if article_id is None:
                channel = cycle.budget.take(channels)
                if channel is None:
                    cycle.report.over_budget += 1
                    continue
                article_id = await self._brief(entry, channel, cycle.budget)
                if article_id is None:
                    continue
                cycle.report.briefed += 1
                if print_:
                    cycle.prints[print_] = article_id
            if attach:
                # Items seen before (leftovers) are found by URL when the digest is composed; only new ones, whose
                # GUID is at hand, are linked here.
                await self.service.store.feed_items.attach_article(feed_hash, entry.key, article_id)

    async def _leftovers(self, feed_hash: str, now: datetime, exclude: set[str | None]) -> list[FeedEntry]:
        """Fresh items of the feed seen before but never briefed (over budget, or a crash mid-cycle), newest first."""
        store = self.service.store
        found = []
        for item in reversed(await store.feed_items.seen_since([feed_hash], now - self.policy.fresh_for)):
            if item.article_id is not None or not item.url or item.url in exclude:
                continue
            if await store.articles.get_by_url(item.url) is not None:
                continue  # briefed already, through another feed or a link shared in a channel
            found.append(FeedEntry(item.item_key, item.url, item.title, "", None, item.published))
        return found

    async def _brief(self, entry: FeedEntry, channel: ChannelKey, budget: _Budget) -> int | None:
        """Brief the item's link (or the feed's full content when the link fails); the article id, or None."""
        assert entry.link is not None
        place = Place(channel)
        try:
            return (await self.service.brief(Source.link(entry.link), place)).article_id
        except QuotaError:
            budget.exhaust(channel)
            return None
        except BlockedURLError:
            self._remember_failure(entry.link)  # never fall back to content for a link we refuse to visit
            return None
        except BriefbotError as exc:
            log.info("feed item not briefed kind=%s", exc.kind)
        content = entry.content_html
        if content and len(content.split()) >= MIN_CONTENT_WORDS:
            try:
                return (await self.service.brief(Source("html", content, url=entry.link), place)).article_id
            except BriefbotError as exc:
                log.info("feed item content not briefed kind=%s", exc.kind)
        self._remember_failure(entry.link)
        return None

    def _remember_failure(self, link: str) -> None:
        self._failed[link] = None
        while len(self._failed) > _FAILED_MEMORY:
            del self._failed[next(iter(self._failed))]


def fingerprint(entry: FeedEntry) -> str | None:
    """A content fingerprint of an item (title + summary): the same wire story in two feeds under two URLs."""
    text = f"{entry.title or ''} {entry.summary}".strip().lower()
    return content_hash(text) if len(text) > 40 else None
