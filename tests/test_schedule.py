"""Schedules (bot.schedule) driven by explicit times: fire times come from the trigger's
`get_next_fire_time(previous, now)`, never from waiting. Daylight-saving change days in New York and Berlin, the
misfire window, and the APScheduler wiring (explicit job ids, replace on change, rebuilt from the "database" on
restart, misfire options) on a scheduler started paused, so no job ever runs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.schedule import (
    SWEEP_JOB,
    DailyDigestTrigger,
    DigestScheduler,
    ScheduleConfig,
    channel_zone,
    digest_job_id,
    last_slot,
    period_for,
)
from bot.store import ChannelKey, ChannelSettings

EVERY_DAY = "mon,tue,wed,thu,fri,sat,sun"
NEW_YORK, BERLIN = ZoneInfo("America/New_York"), ZoneInfo("Europe/Berlin")
# 2026 change days: New York springs forward on 8 March and falls back on 1 November (at 02:00 local);
# Berlin on 29 March and 25 October (at 02:00 / 03:00 local).
CHANGE_DAYS = [
    ("America/New_York", date(2026, 3, 8)),
    ("America/New_York", date(2026, 11, 1)),
    ("Europe/Berlin", date(2026, 3, 29)),
    ("Europe/Berlin", date(2026, 10, 25)),
]


def fires(settings: ChannelSettings, start: datetime, end: datetime) -> list[datetime]:
    """Every fire time in [start, end), stepping the trigger the way APScheduler does."""
    trigger = DailyDigestTrigger(settings)
    found: list[datetime] = []
    fire = trigger.get_next_fire_time(None, start)
    while fire is not None and fire < end:
        found.append(fire)
        fire = trigger.get_next_fire_time(fire, fire)
    return found


def local_day(zone: str, day: date) -> tuple[datetime, datetime]:
    tz = ZoneInfo(zone)
    start = datetime(day.year, day.month, day.day, tzinfo=tz)
    return start, start + timedelta(days=1)


def test_the_default_is_eight_oclock_on_weekdays() -> None:
    settings = ChannelSettings()
    monday = datetime(2026, 11, 30, tzinfo=UTC)
    found = fires(settings, monday, monday + timedelta(days=7))
    assert [f.strftime("%a %H:%M") for f in found] == [f"{d} 08:00" for d in ("Mon", "Tue", "Wed", "Thu", "Fri")]


def test_time_zone_and_days_are_honoured() -> None:
    settings = ChannelSettings(digest_time="07:15", timezone="Asia/Tokyo", digest_days="sat,sun")
    saturday = datetime(2026, 12, 5, tzinfo=UTC)
    found = fires(settings, saturday, saturday + timedelta(days=7))
    assert [f.astimezone(ZoneInfo("Asia/Tokyo")).strftime("%a %H:%M") for f in found] == ["Sun 07:15", "Sat 07:15"]
    assert [f.astimezone(UTC).strftime("%H:%M") for f in found] == ["22:15", "22:15"]  # the evening before, in UTC


@pytest.mark.parametrize(("zone", "day"), CHANGE_DAYS, ids=lambda v: str(v))
@pytest.mark.parametrize("at", ["01:30", "02:30", "08:00"])
def test_a_digest_runs_exactly_once_on_daylight_saving_change_days(zone: str, day: date, at: str) -> None:
    settings = ChannelSettings(digest_time=at, timezone=zone, digest_days=EVERY_DAY)
    start, end = local_day(zone, day)
    found = fires(settings, start - timedelta(days=1), end + timedelta(days=1))
    periods = [period_for(f, settings) for f in found]
    assert periods == [(day + timedelta(days=n)).isoformat() for n in (-1, 0, 1)]  # one per local date, none lost


def test_the_repeated_0130_in_new_york_fires_at_the_first_occurrence() -> None:
    settings = ChannelSettings(digest_time="01:30", timezone="America/New_York", digest_days=EVERY_DAY)
    start, end = local_day("America/New_York", date(2026, 11, 1))
    (fire,) = fires(settings, start, end)
    assert fire.astimezone(UTC) == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT; 01:30 EST is skipped
    # Even when asked from between the two 01:30s (a restart at 01:45 EDT), the repeat is not scheduled.
    trigger = DailyDigestTrigger(settings)
    after_first = datetime(2026, 11, 1, 5, 45, tzinfo=UTC)
    next_fire = trigger.get_next_fire_time(None, after_first)
    assert next_fire.astimezone(UTC).astimezone(NEW_YORK).date() == date(2026, 11, 2)


def test_a_nonexistent_0230_on_spring_forward_day_runs_once_an_hour_later() -> None:
    for zone, day, utc_hour in (("America/New_York", date(2026, 3, 8), 7), ("Europe/Berlin", date(2026, 3, 29), 1)):
        settings = ChannelSettings(digest_time="02:30", timezone=zone, digest_days=EVERY_DAY)
        (fire,) = fires(settings, *local_day(zone, day))
        assert fire.astimezone(UTC) == datetime(day.year, day.month, day.day, utc_hour, 30, tzinfo=UTC)
        assert fire.astimezone(UTC).astimezone(ZoneInfo(zone)).strftime("%H:%M") == "03:30"


def test_last_slot_serves_the_latest_slot_within_grace_only() -> None:
    settings = ChannelSettings()  # 08:00 UTC, Mon-Fri
    grace = timedelta(hours=6)
    monday_8 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    assert last_slot(settings, monday_8 - timedelta(seconds=1), grace) is None  # not yet
    assert last_slot(settings, monday_8, grace) == monday_8
    assert last_slot(settings, monday_8 + grace, grace) == monday_8
    assert last_slot(settings, monday_8 + grace + timedelta(seconds=1), grace) is None  # too late: skipped
    thursday_9 = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    assert last_slot(settings, thursday_9, timedelta(days=4)) == datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
    saturday = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
    assert last_slot(settings, saturday, grace) is None  # no weekend digest
    assert last_slot(ChannelSettings(digest_days=""), monday_8, grace) is None


def test_an_unknown_time_zone_falls_back_to_utc() -> None:
    # Settings refuse unknown zones; a row stored before that check (or a zone removed from tzdata) still schedules.
    assert channel_zone(ChannelSettings.model_construct(timezone="Mars/Olympus_Mons")).key == "UTC"


def test_an_unknown_time_zone_is_refused_with_a_readable_reason() -> None:
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus_Mons'; use an IANA name"):
        ChannelSettings(timezone="Mars/Olympus_Mons")


# --- the APScheduler wiring ------------------------------------------------------------------------------------------


class FakeDatabase:
    """channel_settings rows, as the scheduler's providers read them."""

    def __init__(self) -> None:
        self.settings: dict[ChannelKey, ChannelSettings] = {}
        self.runs: list[ChannelKey] = []

    async def channels(self) -> Iterable[ChannelKey]:
        return list(self.settings)

    async def get(self, channel: ChannelKey) -> ChannelSettings:
        return self.settings[channel]

    async def run(self, channel: ChannelKey) -> None:
        self.runs.append(channel)


A = ChannelKey("slack", "T1", "C1")
B = ChannelKey("discord", "G1", "42")


def make_scheduler(db: FakeDatabase, config: ScheduleConfig | None = None) -> DigestScheduler:
    scheduler = AsyncIOScheduler(timezone=UTC)
    scheduler.start(paused=True)  # jobs get next run times, nothing ever runs
    return DigestScheduler(channels=db.channels, settings=db.get, run=db.run, config=config, scheduler=scheduler)


@pytest.fixture
async def db() -> AsyncIterator[FakeDatabase]:
    database = FakeDatabase()
    database.settings = {A: ChannelSettings(), B: ChannelSettings(digest_time="07:30", timezone="Europe/Berlin")}
    yield database


async def test_one_job_per_channel_with_explicit_ids_and_the_misfire_policy(db: FakeDatabase) -> None:
    schedule = make_scheduler(db, ScheduleConfig(grace=timedelta(hours=3)))
    try:
        await schedule.rebuild()
        await schedule.rebuild()  # rebuilding (or a restart) never duplicates
        jobs = {job.id: job for job in schedule.scheduler.get_jobs()}
        assert sorted(jobs) == sorted([digest_job_id(A), digest_job_id(B)])
        job = jobs[digest_job_id(A)]
        assert (job.coalesce, job.misfire_grace_time, job.max_instances) == (True, 3 * 3600, 1)
        assert job.args == (A,)
        berlin = jobs[digest_job_id(B)].next_run_time.astimezone(BERLIN)
        assert (berlin.hour, berlin.minute, berlin.weekday() < 5) == (7, 30, True)
    finally:
        schedule.shutdown()


async def test_a_settings_change_replaces_the_job_and_no_days_removes_it(db: FakeDatabase) -> None:
    schedule = make_scheduler(db)
    try:
        await schedule.rebuild()
        before = schedule.next_runs()[digest_job_id(A)]
        db.settings[A] = ChannelSettings(digest_time="06:45", timezone="America/New_York")
        assert await schedule.refresh(A)
        after = schedule.next_runs()[digest_job_id(A)]
        assert after != before and after.astimezone(NEW_YORK).strftime("%H:%M") == "06:45"
        db.settings[B] = ChannelSettings(digest_days="")
        assert not await schedule.refresh(B)
        assert digest_job_id(B) not in schedule.next_runs()
        del db.settings[A]  # unsubscribed everywhere: the rebuild drops its job
        await schedule.rebuild()
        assert schedule.next_runs() == {}
    finally:
        schedule.shutdown()


async def test_a_restart_rebuilds_the_same_schedule_from_the_database(db: FakeDatabase) -> None:
    first, second = make_scheduler(db), make_scheduler(db)
    try:
        await first.rebuild()
        await second.rebuild()  # a new process: its own empty job store, filled from the same rows
        assert first.next_runs() == second.next_runs()
    finally:
        first.shutdown()
        second.shutdown()


async def test_the_sweep_asks_every_channel_to_serve_its_due_slot(db: FakeDatabase) -> None:
    schedule = make_scheduler(db)
    try:
        await schedule.sweep()
        assert sorted(db.runs, key=str) == sorted([A, B], key=str)
        assert SWEEP_JOB not in schedule.next_runs()  # only start() adds the periodic jobs
    finally:
        schedule.shutdown()


async def test_one_failing_channel_does_not_stop_the_sweep(db: FakeDatabase) -> None:
    async def flaky(channel: ChannelKey) -> None:
        if channel == A:
            raise RuntimeError("database hiccup")
        db.runs.append(channel)

    schedule = DigestScheduler(channels=db.channels, settings=db.get, run=flaky, scheduler=AsyncIOScheduler())
    await schedule.sweep()
    assert db.runs == [B]
