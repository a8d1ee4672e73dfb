"""Exactly-once digests: the (channel, period) claim, crash recovery, delivery failures, the misfire policy, and
two replicas (two Store instances on one database, and two running schedulers) sending exactly one digest.

Time is a FakeClock shared by the stores and the runners: no test sleeps or waits on the wall clock. The one test
that runs real APScheduler instances waits on an event the sweep job sets when it has run (immediately at start).
"""

# ruff: noqa: F811  (pytest fixtures imported from store_support are injected by parameter name)

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from store_support import (  # noqa: F401
    FakeClock,
    backend,
    clock,
    make_article,
    migrated_url,
    postgres_database,
    sqlite_template,
    store,
)

from bot.brief.extractive import ExtractiveBriefer
from bot.digest import DeliveryError, Digest, DigestRunner, RoutingSink, digest_jobs, digest_nonce
from bot.ingest.fetch import FetchPolicy, SafeFetcher
from bot.schedule import SWEEP_JOB
from bot.service import Service
from bot.store import ChannelKey, Store

CHANNEL = ChannelKey("discord", "G1", "100")
MONDAY_9 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)  # an hour after the default 08:00 slot (Mon-Fri, UTC)
TEXT = (
    "The harbour ferry will run every ten minutes from Monday, the transport office said.\n\n"
    '"Nobody should wait in the rain for half an hour," said Lena Duarte, who runs the service.\n\n'
    "The change costs 2 million euros a year and is paid for by the city."
)


class RecordingSink:
    """A DigestSink that records posts; `fail` makes the next posts raise (a crash, or a delivery error)."""

    def __init__(self) -> None:
        self.posts: list[tuple[ChannelKey, Digest, str]] = []
        self.fail: BaseException | None = None

    async def post_digest(self, channel: ChannelKey, digest: Digest, *, nonce: str) -> str:
        await asyncio.sleep(0)  # let a concurrent replica interleave here
        if self.fail is not None:
            raise self.fail
        self.posts.append((channel, digest, nonce))
        return f"msg-{len(self.posts)}"


async def seed(store: Store, clock: FakeClock, channel: ChannelKey = CHANNEL) -> None:
    """One subscription with one briefed item, seen an hour before the digest."""
    saved = clock.now
    clock.now = MONDAY_9 - timedelta(hours=1, minutes=30)
    subscription, _ = await store.subscriptions.add(channel, "http://feeds.example/rss", title="Harbour News")
    url = "http://feeds.example/ferry"
    article_id = await store.articles.add(make_article(TEXT, url=url), url=url)
    await store.briefings.put(article_id, ExtractiveBriefer().brief_sync(make_article(TEXT, url=url)))
    await store.feed_items.mark_seen(
        subscription.feed_url_hash, "ferry-1", url=url, title="Ferry", article_id=article_id
    )
    clock.now = saved


def make_service(store: Store) -> Service:
    # Never used to fetch here: every article is already stored.
    return Service(store=store, fetcher=SafeFetcher(FetchPolicy()), briefer=ExtractiveBriefer())


@pytest.fixture
async def seeded(store: Store, clock: FakeClock) -> AsyncIterator[Service]:
    await seed(store, clock)
    clock.now = MONDAY_9
    service = make_service(store)
    yield service
    await service.fetcher.aclose()


async def test_a_slot_is_posted_once_with_a_stable_nonce(seeded: Service) -> None:
    sink = RecordingSink()
    runner = DigestRunner(seeded, sink, owner="a")
    first = await runner.run_scheduled(CHANNEL, now=MONDAY_9)
    assert (first.status, first.period, first.message_ref) == ("posted", "2026-11-30", "msg-1")
    assert (await runner.run_scheduled(CHANNEL, now=MONDAY_9 + timedelta(minutes=5))).status == "skipped"
    assert len(sink.posts) == 1
    _channel, digest, nonce = sink.posts[0]
    assert nonce == digest_nonce(CHANNEL, "2026-11-30") and len(nonce) == 25
    assert digest.header == "1 article in 1 story from 1 feed"
    run = await seeded.store.digests.get(CHANNEL, "2026-11-30")
    assert run is not None and (run.state, run.message_ref) == ("posted", "msg-1")


async def test_nothing_new_claims_the_period_but_posts_nothing(store: Store, clock: FakeClock) -> None:
    await store.subscriptions.add(CHANNEL, "http://feeds.example/rss")
    sink = RecordingSink()
    outcome = await DigestRunner(make_service(store), sink).run_scheduled(CHANNEL, now=MONDAY_9)
    assert outcome.status == "empty" and sink.posts == []
    run = await store.digests.get(CHANNEL, "2026-11-30")
    assert run is not None and run.state == "posted" and run.message_ref is None


async def test_a_crashed_claim_is_recovered_once(seeded: Service, clock: FakeClock) -> None:
    crashed = RecordingSink()
    crashed.fail = RuntimeError("the process died mid-post")
    with pytest.raises(RuntimeError):
        await DigestRunner(seeded, crashed, owner="dead", stale_after=timedelta(minutes=15)).run_scheduled(
            CHANNEL, now=clock.now
        )
    sink = RecordingSink()
    survivor = DigestRunner(seeded, sink, owner="alive", stale_after=timedelta(minutes=15))
    clock.advance(timedelta(minutes=5))
    assert (await survivor.run_scheduled(CHANNEL, now=clock.now)).status == "skipped"  # not stale yet
    clock.advance(timedelta(minutes=11))
    recovered = await survivor.run_scheduled(CHANNEL, now=clock.now)
    assert (recovered.status, recovered.recovered) == ("posted", True)
    assert [nonce for _c, _d, nonce in sink.posts] == [digest_nonce(CHANNEL, "2026-11-30")]  # same as the crash's
    clock.advance(timedelta(hours=1))
    assert (await survivor.run_scheduled(CHANNEL, now=clock.now)).status == "skipped"
    assert len(sink.posts) == 1


async def test_a_permanent_delivery_failure_is_recorded_and_not_retried(seeded: Service, clock: FakeClock) -> None:
    sink = RecordingSink()
    sink.fail = DeliveryError("channel_not_found", permanent=True)
    runner = DigestRunner(seeded, sink, stale_after=timedelta(minutes=15))
    assert (await runner.run_scheduled(CHANNEL, now=clock.now)).status == "failed"
    clock.advance(timedelta(hours=1))
    sink.fail = None
    assert (await runner.run_scheduled(CHANNEL, now=clock.now)).status == "skipped"
    run = await seeded.store.digests.get(CHANNEL, "2026-11-30")
    assert run is not None and (run.state, run.error) == ("failed", "channel_not_found")


async def test_a_transient_delivery_failure_is_retried_once_after_the_claim_goes_stale(
    seeded: Service, clock: FakeClock
) -> None:
    sink = RecordingSink()
    sink.fail = DeliveryError("rate limited")
    runner = DigestRunner(seeded, sink, stale_after=timedelta(minutes=15))
    assert (await runner.run_scheduled(CHANNEL, now=clock.now)).status == "retry"
    sink.fail = None
    clock.advance(timedelta(minutes=16))
    outcome = await runner.run_scheduled(CHANNEL, now=clock.now)
    assert (outcome.status, outcome.recovered, len(sink.posts)) == ("posted", True, 1)


async def test_run_now_posts_outside_the_schedule_without_blocking_it(seeded: Service) -> None:
    sink = RecordingSink()
    runner = DigestRunner(seeded, sink)
    manual = await runner.run_now(CHANNEL, now=MONDAY_9)
    assert (manual.status, manual.period) == ("posted", "manual:2026-11-30T09:00")
    assert (await runner.run_now(CHANNEL, now=MONDAY_9)).status == "skipped"  # a double-click
    assert (await runner.run_scheduled(CHANNEL, now=MONDAY_9)).status in {"posted", "empty"}


async def test_a_routing_sink_posts_to_the_channels_platform(seeded: Service) -> None:
    slack, discord = RecordingSink(), RecordingSink()
    runner = DigestRunner(seeded, RoutingSink({"slack": slack, "discord": discord}))
    assert (await runner.run_scheduled(CHANNEL, now=MONDAY_9)).status == "posted"
    assert (len(slack.posts), len(discord.posts)) == (0, 1)
    unrouted = ChannelKey("teams", "X", "Y")
    with pytest.raises(DeliveryError, match="No teams connection"):
        await RoutingSink({}).post_digest(unrouted, discord.posts[0][1], nonce="n")


async def test_digest_jobs_only_schedule_channels_of_platforms_it_can_post_to(store: Store, clock: FakeClock) -> None:
    await seed(store, clock)
    await seed(store, clock, ChannelKey("slack", "T9", "C9"))
    jobs = digest_jobs(make_service(store), RoutingSink({"slack": RecordingSink()}), clock=clock, poll_feeds=False)
    try:
        await jobs.scheduler.rebuild()
        assert list(jobs.scheduler.next_runs()) == ["digest:slack:T9:C9"]
    finally:
        await jobs.runner.service.fetcher.aclose()


# --- the misfire policy: exactly one catch-up after downtime ---------------------------------------------------------


async def test_after_downtime_exactly_one_catch_up_digest_is_posted(seeded: Service, clock: FakeClock) -> None:
    sink = RecordingSink()
    replicas = [DigestRunner(seeded, sink, owner=name, grace=timedelta(hours=6)) for name in ("a", "b")]
    # Down from 07:00 to 10:30: the 08:00 slot was missed. Every sweep of every replica asks; one digest goes out.
    for minutes in (0, 5, 10):
        now = datetime(2026, 11, 30, 10, 30 + minutes, tzinfo=UTC)
        await asyncio.gather(*(r.run_scheduled(CHANNEL, now=now) for r in replicas))
    assert [d.header for _c, d, _n in sink.posts] == ["1 article in 1 story from 1 feed"]
    # Past the grace window nothing is due; the next slot is tomorrow's.
    late = await replicas[0].run_scheduled(CHANNEL, now=datetime(2026, 11, 30, 14, 1, tzinfo=UTC))
    assert (late.status, late.detail) == ("skipped", "no slot due")


async def test_several_missed_days_coalesce_into_the_latest_slot(store: Store, clock: FakeClock) -> None:
    await seed(store, clock)
    sink = RecordingSink()
    runner = DigestRunner(make_service(store), sink, grace=timedelta(days=4))
    thursday = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)  # down since Monday morning
    clock.now = thursday
    outcome = await runner.run_scheduled(CHANNEL, now=thursday)
    assert outcome.period == "2026-12-03"
    for day in ("2026-11-30", "2026-12-01", "2026-12-02"):
        assert await store.digests.get(CHANNEL, day) is None


async def test_the_repeated_hour_on_the_day_clocks_go_back_runs_once(store: Store, clock: FakeClock) -> None:
    await store.settings.update(CHANNEL, digest_time="01:30", timezone="America/New_York", digest_days="sun")
    await store.subscriptions.add(CHANNEL, "http://feeds.example/rss")
    await store.settings.update(CHANNEL, digest_empty=True)
    sink = RecordingSink()
    runner = DigestRunner(make_service(store), sink)
    first_0130 = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 EDT
    second_0130 = datetime(2026, 11, 1, 6, 30, tzinfo=UTC)  # 01:30 EST, an hour later
    assert (await runner.run_scheduled(CHANNEL, now=first_0130)).status == "posted"  # digest_empty: posted
    again = await runner.run_scheduled(CHANNEL, now=second_0130)
    assert (again.status, again.period) == ("skipped", "2026-11-01")
    assert [d.header for _c, d, _n in sink.posts] == ["Nothing new since the last digest."]


# --- two replicas on one database ------------------------------------------------------------------------------------


async def test_two_replicas_on_one_database_send_exactly_one_digest(
    migrated_url: str, clock: FakeClock, backend: str
) -> None:
    channels = [ChannelKey("slack", "T1", f"C{n}") for n in range(5)]
    async with (
        await Store.open(migrated_url, clock=clock, migrate=False) as store_a,
        await Store.open(migrated_url, clock=clock, migrate=False) as store_b,
    ):
        for channel in channels:
            await seed(store_a, clock, channel)
        clock.now = MONDAY_9
        sink = RecordingSink()
        replicas = [DigestRunner(make_service(s), sink, owner=o) for s, o in ((store_a, "a"), (store_b, "b"))]
        outcomes = await asyncio.gather(
            *(r.run_scheduled(c, now=MONDAY_9) for c in channels for r in replicas for _ in range(2))
        )
        assert sorted(o.status for o in outcomes) == ["posted"] * 5 + ["skipped"] * 15
        assert sorted(c.channel for c, _d, _n in sink.posts) == [c.channel for c in channels]
        for replica in replicas:
            await replica.service.fetcher.aclose()


@pytest.mark.parametrize("backend", ["postgresql"])  # the multi-process deployment this protects
async def test_two_running_schedulers_catch_up_with_exactly_one_digest(migrated_url: str, clock: FakeClock) -> None:
    async with (
        await Store.open(migrated_url, clock=clock, migrate=False) as store_a,
        await Store.open(migrated_url, clock=clock, migrate=False) as store_b,
    ):
        await seed(store_a, clock)
        clock.now = MONDAY_9  # both "processes" start an hour after the missed 08:00 slot
        sink = RecordingSink()
        swept = [asyncio.Event(), asyncio.Event()]
        jobs = []
        for store_, owner, done in ((store_a, "a", swept[0]), (store_b, "b", swept[1])):
            replica = digest_jobs(make_service(store_), sink, owner=owner, clock=clock, poll_feeds=False)

            def listener(event: JobExecutionEvent, done: asyncio.Event = done) -> None:
                if event.job_id == SWEEP_JOB:
                    done.set()

            replica.scheduler.scheduler.add_listener(listener, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
            jobs.append(replica)
        try:
            await asyncio.gather(*(j.start() for j in jobs))
            await asyncio.wait_for(asyncio.gather(*(e.wait() for e in swept)), timeout=20)
            assert sorted(jobs[0].scheduler.next_runs()) == ["digest:discord:G1:100", SWEEP_JOB]
        finally:
            for j in jobs:
                j.shutdown()
                await j.runner.service.fetcher.aclose()
        assert len(sink.posts) == 1
        run = await store_b.digests.get(CHANNEL, "2026-11-30")
        assert run is not None and run.state == "posted"
