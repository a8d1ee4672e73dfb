"""The digest feature wired for `briefbot run`: a feed poller, a digest runner and the scheduler that drives both.

jobs = digest_jobs(service, sink, settings=...)
await jobs.start()      # rebuilds schedules from the database, catches up, starts polling
...
jobs.shutdown()
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.digest.poller import FeedPoller, PollPolicy
from bot.digest.runner import DigestRunner, DigestSink
from bot.schedule import DigestScheduler, ScheduleConfig
from bot.service import Service
from bot.store import ChannelKey, Store

__all__ = ["DigestJobs", "digest_jobs", "subscribed_channels"]

_FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)


async def subscribed_channels(store: Store, *, limit: int = 100_000) -> list[ChannelKey]:
    """Channels with at least one enabled subscription: the channels that get scheduled digests.

    Read through `subscriptions.due` with a far-future time (every enabled subscription is "due" then) until the
    store offers a distinct-channels query.
    """
    subscriptions = await store.subscriptions.due(_FAR_FUTURE, limit=limit)
    return list(dict.fromkeys(s.channel for s in subscriptions))


@dataclass
class DigestJobs:
    """The running parts; `runner.run_now` serves `briefbot digest CHANNEL --now`."""

    runner: DigestRunner
    poller: FeedPoller
    scheduler: DigestScheduler

    async def start(self) -> None:
        await self.scheduler.start()

    def shutdown(self) -> None:
        self.scheduler.shutdown()


def digest_jobs(
    service: Service,
    sink: DigestSink,
    *,
    poll: PollPolicy | None = None,
    schedule: ScheduleConfig | None = None,
    stale_after: timedelta = timedelta(minutes=15),
    owner: str | None = None,
    clock: Callable[[], datetime] | None = None,
    poll_feeds: bool = True,
    platforms: Collection[str] | None = None,
) -> DigestJobs:
    """Build the poller, runner and scheduler over one service and one sink.

    `platforms` limits digests to channels of those platforms (default: the sink's `platforms` when it has them, as
    `RoutingSink` does), so a replica never claims a digest it has no connection to post; `poll_feeds=False` runs
    digests only."""
    now = clock or (lambda: datetime.now(UTC))
    schedule = schedule or ScheduleConfig()
    runner = DigestRunner(service, sink, owner=owner, stale_after=stale_after, grace=schedule.grace)
    poller = FeedPoller(service, poll, clock=now)

    async def run(channel: ChannelKey) -> object:
        return await runner.run_scheduled(channel, now=now())

    async def poll_cycle() -> object:
        return await poller.poll_due(now())

    served = platforms if platforms is not None else getattr(sink, "platforms", None)

    async def channels() -> list[ChannelKey]:
        found = await subscribed_channels(service.store)
        return [c for c in found if served is None or c.platform in served]

    scheduler = DigestScheduler(
        channels=channels,
        settings=service.channel_settings,
        run=run,
        poll=poll_cycle if poll_feeds else None,
        config=schedule,
    )
    return DigestJobs(runner, poller, scheduler)
