"""The storage layer against real databases: every test runs on SQLite and on PostgreSQL.

PostgreSQL: set `BRIEFBOT_TEST_POSTGRES_URL` (default `postgresql+asyncpg://postgres@127.0.0.1:5432/test`); it is read
at import time, before conftest clears `BRIEFBOT_*` variables. Each session creates and drops its own database, and
each test gets a fresh schema in it. Without a reachable server the PostgreSQL variants skip, except under `CI=true`,
where they fail. See tests/store_support.py.
"""

# The fixtures are imported from store_support (conftest.py belongs to the whole suite); pytest injects them by
# parameter name, which ruff reads as redefining the import.
# ruff: noqa: F811

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import StatementError
from store_support import (  # noqa: F401
    FakeClock,
    backend,
    clock,
    count,
    db_url,
    make_article,
    make_briefing,
    migrated_url,
    postgres_database,
    sqlite_template,
    store,
    table_names,
)

from bot.errors import ConfigError
from bot.models import Usage
from bot.store import (
    ChannelKey,
    ChannelSettings,
    Store,
    content_hash,
    database_revision,
    downgrade_database,
    normalized_url_hash,
    upgrade_database,
)
from bot.store.db import create_engine
from bot.store.tables import ArticleRow, Base, BriefingRow

# Listed explicitly (not read from the metadata) so a table lost from both the models and the migration is noticed.
TABLES = set(
    "articles briefings threads thread_articles messages processed_events processed_messages subscriptions "
    "channel_settings feed_items digest_runs usage installations".split()
)
HERE = ChannelKey("slack", "T1", "C1")
STALE = timedelta(minutes=30)


# --- migrations ----------------------------------------------------------------------------------------------------


async def test_new_database_is_migrated_on_open_and_upgrades_are_idempotent(db_url: str) -> None:
    async with await Store.open(db_url) as opened:
        assert await table_names(opened.engine) == TABLES | {"alembic_version"}
    await upgrade_database(db_url)
    await upgrade_database(db_url)
    assert await database_revision(db_url) == "0001"


async def test_migrations_match_the_table_definitions(store: Store) -> None:
    # A model change without a migration (or the reverse) shows up here as a non-empty diff.
    def diff(sync_conn: Connection) -> Any:
        return compare_metadata(MigrationContext.configure(sync_conn, opts={"compare_type": True}), Base.metadata)

    async with store.engine.connect() as conn:
        assert await conn.run_sync(diff) == []


async def test_downgrade_to_base_and_upgrade_again(db_url: str) -> None:
    await upgrade_database(db_url)
    await downgrade_database(db_url, "base")
    engine = create_engine(db_url)
    try:
        assert await table_names(engine) <= {"alembic_version"}
        assert await database_revision(db_url) is None
        await upgrade_database(db_url)
        assert await table_names(engine) == TABLES | {"alembic_version"}
    finally:
        await engine.dispose()
    async with await Store.open(db_url) as opened:
        assert await opened.events.claim_event("slack", "T1", "Ev1")


async def test_concurrent_first_starts_migrate_once(db_url: str) -> None:
    # Two processes starting on a brand-new file also race to switch it to WAL; the loser must not fail (it did, one
    # run in ten under load, with "database is locked").
    sqlite = db_url.startswith("sqlite")
    for url in [f"{db_url}-{i}" for i in range(10)] if sqlite else [db_url]:  # a new file each time
        stores = await asyncio.gather(Store.open(url), Store.open(url))
        for opened in stores:
            await opened.close()
        assert await database_revision(url) == "0001"
        if sqlite:
            async with await Store.open(url, migrate=False) as opened, opened.engine.connect() as conn:
                assert (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"


async def test_database_from_a_newer_release_is_refused(store: Store, migrated_url: str) -> None:
    async with store.engine.begin() as conn:
        await conn.execute(text("UPDATE alembic_version SET version_num = 'ffff_future'"))
    with pytest.raises(ConfigError, match="newer than this briefbot"):
        await Store.open(migrated_url)


# --- articles and briefings ----------------------------------------------------------------------------------------


async def test_articles_found_by_url_hash_and_by_content_hash(store: Store) -> None:
    url = "https://example.com/story"
    article_id = await store.articles.add(make_article(url=url), url=url)
    assert await store.articles.add(make_article("Other text", url=url), url=url) == article_id  # first wins

    found = await store.articles.get_by_url_hash(normalized_url_hash(url))
    assert found is not None and found.id == article_id and found.article == make_article(url=url)
    assert (await store.articles.get_by_url(url)) == found
    assert (await store.articles.get(article_id)) == found
    # Same text re-extracted with different whitespace matches by content.
    by_text = await store.articles.get_by_content_hash(content_hash("First  paragraph.\nSecond paragraph. "))
    assert by_text is not None and by_text.id == article_id
    assert await store.articles.get_by_url("https://example.com/other") is None

    # Pasted text has no URL: each paste is its own row, and the NULL url_hash never collides.
    pasted = [await store.articles.add(make_article("Pasted."), url=None) for _ in range(2)]
    assert len(set(pasted)) == 2


async def test_concurrent_adds_of_one_url_leave_one_row(store: Store) -> None:
    url = "https://example.com/popular"
    ids = await asyncio.gather(*(store.articles.add(make_article(url=url), url=url) for _ in range(10)))
    assert len(set(ids)) == 1
    assert await count(store.engine, ArticleRow) == 1


async def test_a_10_kb_url_is_stored_and_found(store: Store) -> None:
    url = "https://example.com/?q=" + "x" * 10_240
    article_id = await store.articles.add(make_article(url=url), url=url)
    found = await store.articles.get_by_url(url)
    assert found is not None and found.id == article_id and found.url == url


async def test_briefing_put_race_keeps_one_row_and_losers_get_the_winner(store: Store) -> None:
    article_id = await store.articles.add(make_article(), url="https://example.com/a")
    results = await asyncio.gather(*(store.briefings.put(article_id, make_briefing(f"Take {i}")) for i in range(10)))
    assert len({result.tldr for result in results}) == 1
    assert await count(store.engine, BriefingRow) == 1
    # prompt_version None is stored as '' so the unique key holds; both spellings find it.
    assert await store.briefings.get(article_id, "extractive", None) == results[0]
    assert await store.briefings.get(article_id, "extractive", "") == results[0]
    assert await store.briefings.get(article_id, "llm", None) is None

    other = await store.briefings.put(article_id, make_briefing("LLM", engine="llm", prompt_version="v2"))
    assert await store.briefings.get(article_id, "llm", "v2") == other
    assert await count(store.engine, BriefingRow) == 2


# --- threads and messages ------------------------------------------------------------------------------------------


async def test_thread_binding_finding_and_listing(store: Store, clock: FakeClock) -> None:
    first = await store.articles.add(make_article(), url="https://example.com/1")
    second = await store.articles.add(make_article(), url="https://example.com/2")

    thread = await store.threads.bind(HERE, "1700000000.000100", first)
    assert thread.article_ids == (first,) and thread.thread_id == "1700000000.000100" and thread.channel == HERE
    assert (await store.threads.bind(HERE, "1700000000.000100", first)).id == thread.id  # idempotent
    rebound = await store.threads.bind(HERE, "1700000000.000100", second)
    assert rebound.id == thread.id and rebound.article_ids == (first, second)

    clock.advance(timedelta(seconds=1))
    newer = await store.threads.bind(HERE, "1700000000.000200", second)
    elsewhere = ChannelKey("slack", "T1", "C2")
    await store.threads.bind(elsewhere, "1700000000.000100", first)  # same ts, other channel: another thread

    assert await store.threads.find(HERE, "1700000000.000100") == rebound
    assert await store.threads.find(HERE, "missing") is None
    assert [t.id for t in await store.threads.list(HERE)] == [newer.id, thread.id]
    assert [t.id for t in await store.threads.list(HERE, limit=1)] == [newer.id]
    assert len(await store.threads.list(elsewhere)) == 1
    assert await store.threads.count(HERE) == 2 and await store.threads.count(elsewhere) == 1
    assert await store.threads.count(ChannelKey("discord", "G1", "C9")) == 0


async def test_message_history_is_oldest_first_and_limited(store: Store) -> None:
    article_id = await store.articles.add(make_article(), url="https://example.com/q")
    thread = await store.threads.bind(HERE, "ts-1", article_id)
    for i in range(5):
        await store.messages.add(thread.id, "question", f"Q{i}?", author="U1")
        await store.messages.add(thread.id, "answer", f"A{i}.", citations=[[0, 5]])

    history = await store.messages.history(thread.id, limit=4)
    assert [m.text for m in history] == ["Q3?", "A3.", "Q4?", "A4."]
    assert history[0].author == "U1" and history[1].author is None and history[1].citations == [[0, 5]]
    assert len(await store.messages.history(thread.id)) == 10


# --- processed events ----------------------------------------------------------------------------------------------


async def test_twenty_concurrent_event_claims_have_one_winner(store: Store) -> None:
    results = await asyncio.gather(*(store.events.claim_event("slack", "T1", "Ev42") for _ in range(20)))
    assert results.count(True) == 1
    assert await store.events.claim_event("slack", "T2", "Ev42")  # the key includes the workspace
    assert await store.events.claim_event("discord", "T1", "Ev42")


async def test_message_claims_are_keyed_by_channel_and_message(store: Store, clock: FakeClock) -> None:
    # A mention arrives as `message` and `app_mention`: two events, one message.
    assert await store.events.claim_event("slack", "T1", "EvA")
    assert await store.events.claim_event("slack", "T1", "EvB")
    results = await asyncio.gather(*(store.events.claim_message("slack", "C1", "1700.01") for _ in range(5)))
    assert results.count(True) == 1
    assert await store.events.claim_message("slack", "C2", "1700.01")

    clock.advance(timedelta(hours=1))
    assert await store.events.prune(clock.now - timedelta(minutes=30)) == 4
    assert await store.events.claim_event("slack", "T1", "EvA")  # forgotten after pruning


# --- subscriptions and feed items ----------------------------------------------------------------------------------


async def test_subscriptions_are_unique_per_channel_and_feed(store: Store) -> None:
    feed = "https://example.com/feed.xml"
    sub, created = await store.subscriptions.add(HERE, feed, title="Example")
    assert created and sub.feed_url_hash == normalized_url_hash(feed) and sub.enabled and sub.error_count == 0
    again, created_again = await store.subscriptions.add(HERE, feed)
    assert not created_again and again.id == sub.id and again.title == "Example"

    racers = await asyncio.gather(*(store.subscriptions.add(HERE, feed + "?2") for _ in range(5)))
    assert [created for _, created in racers].count(True) == 1

    other, created_other = await store.subscriptions.add(ChannelKey("slack", "T1", "C2"), feed)
    assert created_other and other.id != sub.id
    assert [s.feed_url for s in await store.subscriptions.list(HERE)] == [feed, feed + "?2"]

    assert await store.subscriptions.remove(HERE, feed)
    assert not await store.subscriptions.remove(HERE, feed)
    assert [s.feed_url for s in await store.subscriptions.list(HERE)] == [feed + "?2"]


async def test_disable_with_reason_poll_state_and_resubscribe(store: Store, clock: FakeClock) -> None:
    feed = "https://example.com/feed.xml"
    sub, _ = await store.subscriptions.add(HERE, feed)
    assert [s.id for s in await store.subscriptions.due()] == [sub.id]  # never polled: due at once

    later = clock.now + timedelta(minutes=15)
    await store.subscriptions.update_poll_state(sub.id, next_poll_at=later, etag='"v1"', last_modified="Mon", title="T")
    await store.subscriptions.update_poll_state(sub.id, next_poll_at=later, failed=True)
    polled = await store.subscriptions.get(sub.id)
    assert polled is not None
    assert (polled.etag, polled.last_modified, polled.title, polled.error_count) == ('"v1"', "Mon", "T", 1)
    assert polled.last_polled_at == clock.now and polled.next_poll_at == later
    assert await store.subscriptions.due() == []
    assert [s.id for s in await store.subscriptions.due(later)] == [sub.id]

    assert await store.subscriptions.disable(sub.id, "channel_not_found")
    disabled = await store.subscriptions.get(sub.id)
    assert disabled is not None and not disabled.enabled and disabled.disabled_reason == "channel_not_found"
    assert await store.subscriptions.due(later) == []
    assert await store.subscriptions.list(HERE, include_disabled=False) == []

    resubscribed, created = await store.subscriptions.add(HERE, feed)
    assert not created and resubscribed.enabled and resubscribed.error_count == 0
    assert await store.subscriptions.disable_channel(HERE, "is_archived") == 1
    assert not await store.subscriptions.disable(9_999, "missing")


async def test_feed_items_are_new_only_once_per_feed(store: Store, clock: FakeClock) -> None:
    feed, other = normalized_url_hash("https://example.com/feed.xml"), normalized_url_hash("https://example.org/rss")
    start = clock.now
    assert await store.feed_items.mark_seen(feed, "guid-1", url="https://example.com/1", title="One")
    assert not await store.feed_items.mark_seen(feed, "guid-1")
    assert await store.feed_items.mark_seen(other, "guid-1")  # same GUID, another feed
    clock.advance(timedelta(hours=1))
    assert await store.feed_items.mark_seen(feed, "guid-2", published=datetime(2026, 11, 30, tzinfo=UTC))

    article_id = await store.articles.add(make_article(), url="https://example.com/1")
    await store.feed_items.attach_article(feed, "guid-1", article_id)
    items = await store.feed_items.seen_since([feed], start)
    assert [(i.title, i.article_id) for i in items] == [("One", article_id), (None, None)]
    assert [i.published for i in await store.feed_items.seen_since([feed, other], clock.now)] == [
        datetime(2026, 11, 30, tzinfo=UTC)
    ]


# --- channel settings ----------------------------------------------------------------------------------------------


async def test_settings_default_then_partial_updates(store: Store) -> None:
    assert await store.settings.get(HERE) == ChannelSettings()
    assert (await store.settings.get(HERE)).digest_days == "mon,tue,wed,thu,fri"

    updated = await store.settings.update(HERE, digest_time="09:30", digest_days="sun,mon", digest_empty=True)
    assert (updated.digest_time, updated.digest_days, updated.digest_empty) == ("09:30", "mon,sun", True)
    assert updated.timezone == "UTC" and updated.link_watching == "all"

    # Concurrent changes to different fields both survive (each update writes only its own columns).
    await asyncio.gather(
        store.settings.update(HERE, timezone="Europe/Paris"), store.settings.update(HERE, link_watching="mention")
    )
    final = await store.settings.get(HERE)
    assert (final.timezone, final.link_watching, final.digest_time) == ("Europe/Paris", "mention", "09:30")
    assert await store.settings.get(ChannelKey("slack", "T1", "C2")) == ChannelSettings()

    bad_changes = [
        ({"digest_time": "25:00"}, "digest_time: Value error, digest_time must be HH:MM"),
        ({"link_watching": "sometimes"}, "link_watching: Input should be 'all', 'mention' or 'off'"),
        ({"digest_days": "mon,funday"}, "unknown weekday"),
        ({"colour": "red"}, "colour: Extra inputs are not permitted"),
    ]
    for bad, reason in bad_changes:
        with pytest.raises(ValueError, match=re.escape(reason)):
            await store.settings.update(HERE, **bad)
    assert (await store.settings.get(HERE)).digest_time == "09:30"  # a rejected update changes nothing


# --- digests -------------------------------------------------------------------------------------------------------


async def test_two_processes_racing_for_a_digest_have_one_winner(migrated_url: str, clock: FakeClock) -> None:
    async with await Store.open(migrated_url, clock=clock) as one, await Store.open(migrated_url, clock=clock) as two:
        claims = await asyncio.gather(
            one.digests.claim(HERE, "2026-11-30", "host-a:1", STALE),
            two.digests.claim(HERE, "2026-11-30", "host-b:2", STALE),
        )
        winners = [claim for claim in claims if claim is not None]
        assert len(winners) == 1 and not winners[0].recovered

        assert await one.digests.mark_posted(winners[0], "1700000000.1")
        assert not await two.digests.mark_posted(winners[0], "again")  # a crash after post records nothing twice
        clock.advance(STALE * 10)
        assert await two.digests.claim(HERE, "2026-11-30", "host-b:2", STALE) is None  # posted: never re-sent

        run = await two.digests.last_posted(HERE)
        assert run is not None and run.state == "posted" and run.message_ref == "1700000000.1"
        assert await two.digests.claim(HERE, "2026-12-01", "host-b:2", STALE) is not None  # next period is free


async def test_a_stale_claim_is_recovered_exactly_once(migrated_url: str, clock: FakeClock) -> None:
    async with await Store.open(migrated_url, clock=clock) as a, await Store.open(migrated_url, clock=clock) as b:
        crashed = await a.digests.claim(HERE, "2026-11-30", "host-a", STALE)
        assert crashed is not None
        clock.advance(STALE / 2)
        assert await b.digests.claim(HERE, "2026-11-30", "host-b", STALE) is None  # not stale yet

        clock.advance(STALE)
        racers = await asyncio.gather(
            *(store.digests.claim(HERE, "2026-11-30", f"host-{i}", STALE) for i, store in enumerate([a, b] * 3))
        )
        recovered = [claim for claim in racers if claim is not None]
        assert len(recovered) == 1 and recovered[0].recovered

        assert not await a.digests.mark_posted(crashed)  # the original owner lost its claim
        clock.advance(STALE * 3)
        assert await b.digests.claim(HERE, "2026-11-30", "host-z", STALE) is None  # recovered once, never again
        assert await b.digests.mark_failed(recovered[0], "channel_not_found")
        run = await a.digests.get(HERE, "2026-11-30")
        assert run is not None and run.state == "failed" and run.recovered and run.error == "channel_not_found"
        assert await a.digests.last_posted(HERE) is None


# --- usage ---------------------------------------------------------------------------------------------------------


async def test_usage_sums_per_user_channel_and_day(store: Store, clock: FakeClock) -> None:
    one = Usage(prompt_tokens=100, completion_tokens=20, calls=1, cost_usd=0.01)
    await store.usage.record(HERE, user="U1", engine="llm", usage=one)  # yesterday
    clock.advance(timedelta(days=1))
    today = clock.now.replace(hour=0, minute=0)
    await store.usage.record(HERE, user="U1", engine="llm", usage=one)
    await store.usage.record(HERE, user="U2", engine="llm", usage=Usage(prompt_tokens=5, calls=2, cost_usd=0.5))
    await store.usage.record(ChannelKey("slack", "T1", "C2"), user="U1", engine="extractive", usage=Usage())
    await store.usage.record(ChannelKey("slack", "T9", "C1"), user="U1", engine="llm", usage=one)

    user = await store.usage.sum_since("slack", "T1", today, user="U1")
    assert (user.requests, user.calls, user.prompt_tokens, user.completion_tokens) == (2, 1, 100, 20)
    assert user.cost_usd == pytest.approx(0.01) and user.total_tokens == 120
    channel = await store.usage.sum_since("slack", "T1", today, channel="C1")
    assert (channel.requests, channel.calls, channel.prompt_tokens) == (2, 3, 105)
    assert channel.cost_usd == pytest.approx(0.51)
    assert (await store.usage.sum_since("slack", "T1", today)).requests == 3
    assert (await store.usage.sum_since("slack", "T1", today - timedelta(days=1))).requests == 4
    assert (await store.usage.sum_since("slack", "T1", today, user="nobody")).cost_usd == 0.0


# --- datetimes and URLs --------------------------------------------------------------------------------------------


async def test_datetimes_are_utc_aware_and_naive_ones_are_refused(store: Store, clock: FakeClock) -> None:
    clock.now = datetime(2026, 11, 30, 9, 0, tzinfo=timezone(timedelta(hours=2)))
    sub, _ = await store.subscriptions.add(HERE, "https://example.com/feed")
    assert sub.created_at == datetime(2026, 11, 30, 7, 0, tzinfo=UTC) and sub.created_at.tzinfo == UTC
    with pytest.raises(StatementError, match="naive datetime"):
        await store.subscriptions.update_poll_state(sub.id, next_poll_at=datetime(2026, 12, 1))


async def test_sqlite_urls_without_driver_and_in_memory(tmp_path: Path) -> None:
    async with await Store.open(f"sqlite:///{tmp_path}/plain.db") as plain:
        assert plain.engine.dialect.driver == "aiosqlite"
    async with await Store.open("sqlite://") as memory:
        assert await memory.events.claim_event("slack", "T1", "E1")
        assert not await memory.events.claim_event("slack", "T1", "E1")
    with pytest.raises(ConfigError, match="Unsupported database"):
        await Store.open("mysql://localhost/db")
