"""APScheduler 3 wiring behind a small interface: per-channel digest jobs, the feed poll tick and the sweep.

The database is the source of truth. APScheduler's job store is in memory (it cannot be shared between replicas),
so `DigestScheduler.start()` rebuilds every digest job from `channel_settings`, and `refresh(channel)` replaces one
job when a channel changes its time, zone or days (job ids are explicit per channel and added with
`replace_existing=True`: a rebuild or restart never duplicates a job). A sweep every few minutes re-reads the
channels too, so a settings change made on another replica is picked up here within that time.

Misfire policy (reliability.md, section 5). APScheduler's default grace of one second would silently drop a digest
whose moment passed while the process was busy or suspended. Digest jobs use `coalesce=True` and
`misfire_grace_time=grace` (hours): however many slots were missed, one catch-up run happens if the latest is at
most `grace` old. After a restart the in-memory jobs are gone, so the sweep, which runs at start-up and then every
`sweep_every`, asks the runner to serve each channel's latest slot within `grace` (`last_slot`). Either way the run
claims (channel, period) in the database first, so after downtime exactly one catch-up digest is posted, however
many replicas, restarts or sweeps ask.

Daylight saving. Slots are wall-clock times in the channel's zone (CronTrigger with `timezone`, APScheduler >= 3.11.2
for its DST fixes). On the day clocks go back a time such as 01:30 in America/New_York occurs twice and CronTrigger
fires at both; `DailyDigestTrigger` skips the second occurrence, and the period (the local date) is the same for
both, so the claim would turn a second run into a no-op anyway. On the day clocks go forward a nonexistent time
(02:30) fires once, an hour later by the wall clock (03:30), still on that date.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_SUBMITTED, JobEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger

from bot.store import ChannelKey, ChannelSettings

__all__ = [
    "DailyDigestTrigger",
    "DigestScheduler",
    "ScheduleConfig",
    "channel_zone",
    "digest_job_id",
    "last_slot",
    "period_for",
]

log = logging.getLogger(__name__)
POLL_JOB = "feeds:poll"
SWEEP_JOB = "digests:sweep"


@dataclass(frozen=True, slots=True)
class ScheduleConfig:
    """Timings of the scheduled work (see the module docstring for the misfire policy)."""

    grace: timedelta = timedelta(hours=6)  # a digest up to this late is still posted (once); later, it is skipped
    sweep_every: timedelta = timedelta(minutes=5)  # catch-up, stale-claim recovery and settings resync
    poll_every: timedelta = timedelta(minutes=1)  # how often due feeds are looked for (each feed has its interval)


def channel_zone(settings: ChannelSettings) -> ZoneInfo:
    """The channel's time zone; UTC (with a warning) for a name this system does not know."""
    try:
        return ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("unknown time zone %r; using UTC", settings.timezone)
        return ZoneInfo("UTC")


class DailyDigestTrigger(BaseTrigger):
    """Fires at the channel's digest time on its weekdays, in its zone, at most once per local date.

    A CronTrigger underneath; the only change is skipping the second occurrence of a wall-clock time that the end
    of daylight saving repeats, which CronTrigger would fire again an hour after the first.
    """

    __slots__ = ("cron", "key", "zone")

    def __init__(self, settings: ChannelSettings) -> None:
        hour, minute = (int(part) for part in settings.digest_time.split(":"))
        self.zone = channel_zone(settings)
        days = ",".join(settings.weekdays)
        self.cron = CronTrigger(day_of_week=days, hour=hour, minute=minute, timezone=self.zone)
        self.key = f"{settings.digest_time} {self.zone.key} {days}"  # equal keys fire at equal times

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime | None:
        fire = self.cron.get_next_fire_time(previous_fire_time, now)
        while fire is not None and self._repeated(fire):
            fire = self.cron.get_next_fire_time(fire, fire)
        return fire

    def _repeated(self, moment: datetime) -> bool:
        # Through UTC: astimezone() into the datetime's own tzinfo returns it unchanged, fold and all.
        local = moment.astimezone(UTC).astimezone(self.zone)
        return local.fold == 1 and local.replace(fold=0).utcoffset() != local.utcoffset()

    def __str__(self) -> str:
        return f"daily-digest[{self.key}]"


def last_slot(settings: ChannelSettings, now: datetime, grace: timedelta) -> datetime | None:
    """The latest scheduled moment at or before `now` and at most `grace` ago (several missed ones coalesce into the
    latest), or None when there is none: the channel has no digest days, or its last slot is too old to serve."""
    if not settings.weekdays:
        return None
    trigger = DailyDigestTrigger(settings)
    slot = None
    fire = trigger.get_next_fire_time(None, now - grace)
    while fire is not None and fire <= now:
        slot = fire
        fire = trigger.get_next_fire_time(fire, fire)
    return slot


def period_for(slot: datetime, settings: ChannelSettings) -> str:
    """The digest period a slot serves: the channel's local date ("2026-11-30"), the key of the claim."""
    return slot.astimezone(UTC).astimezone(channel_zone(settings)).date().isoformat()


def digest_job_id(channel: ChannelKey) -> str:
    """The explicit job id of a channel's digest (one job per channel, replaced on every change)."""
    return f"digest:{channel.platform}:{channel.workspace}:{channel.channel}"


class _JobRuns:
    """Counts the scheduled runs (digest sweeps and runs, feed polls) in progress, so the shutdown can wait for them.

    APScheduler's shutdown cancels running jobs: a digest cut off between Slack's answer and `mark_posted` would
    be sent again by the stale-claim recovery.
    """

    def __init__(self, scheduler: AsyncIOScheduler) -> None:
        self.running = 0
        self.idle = asyncio.Event()
        self.idle.set()
        scheduler.add_listener(self._submitted, EVENT_JOB_SUBMITTED)
        scheduler.add_listener(self._finished, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)  # cancelled runs are errors

    def _submitted(self, _event: JobEvent) -> None:
        self.running += 1
        self.idle.clear()

    def _finished(self, _event: JobEvent) -> None:
        self.running = max(0, self.running - 1)
        if self.running == 0:
            self.idle.set()


class DigestScheduler:
    """The process's scheduled work on one AsyncIOScheduler.

    `channels()` lists the channels that get digests (from the database); `settings(channel)` reads one channel's
    settings; `run(channel)` serves the channel's due slot (the runner claims, composes and posts); `poll()` runs one
    feed poll cycle. All four are supplied by the caller, so this module knows nothing of the service or the store.
    """

    def __init__(
        self,
        *,
        channels: Callable[[], Awaitable[Iterable[ChannelKey]]],
        settings: Callable[[ChannelKey], Awaitable[ChannelSettings]],
        run: Callable[[ChannelKey], Awaitable[object]],
        poll: Callable[[], Awaitable[object]] | None = None,
        config: ScheduleConfig | None = None,
        scheduler: AsyncIOScheduler | None = None,
    ) -> None:
        self._channels, self._settings, self._run, self._poll = channels, settings, run, poll
        self.config = config or ScheduleConfig()
        self.scheduler = scheduler or AsyncIOScheduler(timezone=UTC)
        self._runs = _JobRuns(self.scheduler)

    async def start(self, *, now: datetime | None = None) -> None:
        """Rebuild the digest jobs from the database, add the poll and sweep jobs, start; the first sweep runs at
        once, so a digest missed while the process was down is caught up now."""
        await self.rebuild()
        now = now or datetime.now(UTC)
        common: dict[str, Any] = {"replace_existing": True, "coalesce": True, "max_instances": 1}
        self.scheduler.add_job(
            self.sweep, "interval", id=SWEEP_JOB, next_run_time=now, seconds=self._seconds("sweep_every"), **common
        )
        if self._poll is not None:
            seconds = self._seconds("poll_every")
            self.scheduler.add_job(self._poll, "interval", id=POLL_JOB, next_run_time=now, seconds=seconds, **common)
        self.scheduler.start()

    def pause(self) -> None:
        """Start no new runs (shutting down: the runs in progress are waited for with `idle`)."""
        if self.scheduler.running:
            self.scheduler.pause()

    async def idle(self) -> None:
        """Return once no scheduled run (digest, sweep, poll) is in progress."""
        await self._runs.idle.wait()

    def shutdown(self) -> None:
        """Stop scheduling; running jobs are not waited for (their claims recover if they were cut short)."""
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    async def rebuild(self) -> None:
        """Make the digest jobs match the database: one per channel, removing jobs of channels that are gone."""
        wanted = set()
        for channel in await self._channels():
            if await self.refresh(channel):
                wanted.add(digest_job_id(channel))
        for job in self.scheduler.get_jobs():
            if job.id.startswith("digest:") and job.id not in wanted:
                job.remove()

    async def refresh(self, channel: ChannelKey) -> bool:
        """(Re)schedule one channel from its current settings; False (and no job) when it has no digest days."""
        settings = await self._settings(channel)
        job_id = digest_job_id(channel)
        if not settings.weekdays:
            if self.scheduler.get_job(job_id) is not None:
                self.scheduler.remove_job(job_id)
            return False
        trigger = DailyDigestTrigger(settings)
        existing = self.scheduler.get_job(job_id)
        if existing is not None and str(existing.trigger) == str(trigger):
            return True  # unchanged: replacing would only recompute the same next run time
        self.scheduler.add_job(
            self._fire,
            trigger,
            args=[channel],
            id=job_id,
            name=f"digest for {channel.platform}/{channel.channel}",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=int(self.config.grace.total_seconds()),
        )
        return True

    async def sweep(self) -> None:
        """Resync jobs with the database and ask the runner to serve every channel's due slot (a no-op where it was
        served): catch-up after downtime and recovery of stale claims."""
        await self.rebuild()
        for channel in await self._channels():
            await self._fire(channel)

    def next_runs(self) -> dict[str, datetime | None]:
        """Job id -> next run time (for `briefbot` status output and tests); None before the scheduler starts."""
        return {job.id: getattr(job, "next_run_time", None) for job in self.scheduler.get_jobs()}

    async def _fire(self, channel: ChannelKey) -> None:
        try:
            await self._run(channel)
        except Exception:
            # One channel's failure must not stop the sweep from serving the others; the claim recovers it later.
            log.exception("digest run failed channel=%s/%s", channel.platform, channel.channel)

    def _seconds(self, name: str) -> int:
        return max(1, int(getattr(self.config, name).total_seconds()))
