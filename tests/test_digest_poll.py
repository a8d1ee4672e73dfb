"""Feed polling (bot.digest.poller) on a real store with the real fetcher and the offline engine: new items become
articles with briefings within budget, 304s re-process nothing, errors back off and finally disable the subscription
with a reason the channel sees, item links go through the SSRF guard, and `/subscribe` validates the feed first.
"""

# ruff: noqa: F811  (pytest fixtures imported from store_support are injected by parameter name)

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from fetch_helpers import Reply
from store_support import FakeClock, clock, migrated_url, sqlite_template, store  # noqa: F401

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "feeds"))
from feedsite import DISPATCH, LEDGER, PRIVATE_HOST, WIRE, FeedSite, fixture_bytes

from bot.brief.extractive import ExtractiveBriefer
from bot.digest import poller as poller_module
from bot.digest.poller import FeedPoller, PollPolicy, backoff_delay
from bot.ingest.feeds import NotAFeedError
from bot.service import Service
from bot.store import ChannelKey, Store

CHANNEL = ChannelKey("slack", "T1", "C1")
OTHER = ChannelKey("discord", "G1", "42")


@pytest.fixture
def backend() -> str:
    return "sqlite"  # polling logic is backend-neutral; the PostgreSQL races are covered in test_digest_runner


@pytest.fixture
async def site() -> AsyncIterator[FeedSite]:
    async with FeedSite() as running:
        yield running


@pytest.fixture
async def service(store: Store, site: FeedSite) -> AsyncIterator[Service]:
    async with site.fetcher() as fetcher:
        yield Service(store=store, fetcher=fetcher, briefer=ExtractiveBriefer())


def poller(service: Service, clock: FakeClock, **policy: object) -> FeedPoller:
    return FeedPoller(service, PollPolicy(**policy), clock=clock)  # type: ignore[arg-type]


async def subscribe(service: Service, *urls: str, channel: ChannelKey = CHANNEL) -> None:
    for url in urls:
        await service.subscribe(channel, url)


async def test_first_poll_records_items_and_prepares_briefings(
    service: Service, site: FeedSite, clock: FakeClock
) -> None:
    await subscribe(service, LEDGER, WIRE, DISPATCH)
    report = await poller(service, clock).poll_due()
    # 9 linked items; the Ledger's javascript: item and the Dispatch's ftp:// item are not even recorded.
    assert (report.feeds, report.failed, report.new_items, report.briefed) == (3, 0, 9, 9)
    hashes = [s.feed_url_hash for s in await service.feeds(CHANNEL)]
    items = await service.store.feed_items.seen_since(hashes, clock.now - timedelta(minutes=1))
    assert len(items) == 9 and all(item.article_id is not None for item in items)
    for item in items:
        stored = await service.store.articles.get(item.article_id)  # type: ignore[arg-type]
        assert stored is not None and stored.url == item.url
        assert await service.store.briefings.get(stored.id, "extractive", None) is not None
    subs = await service.feeds(CHANNEL)
    assert {s.title for s in subs} == {"Riverton Ledger", "Coastal Wire", "Northern Dispatch"}
    assert all(s.etag == '"v1"' and s.next_poll_at == clock.now + timedelta(minutes=30) for s in subs)
    assert site.contacted() == {"127.0.0.1"}


async def test_a_304_reprocesses_nothing(service: Service, site: FeedSite, clock: FakeClock) -> None:
    await subscribe(service, LEDGER)
    feeds = poller(service, clock)
    await feeds.poll_due()
    pages = len(site.page_requests())
    assert await feeds.poll_due() == type(await feeds.poll_due())()  # nothing due yet: no request at all
    clock.advance(timedelta(minutes=31))
    report = await feeds.poll_due()
    assert (report.feeds, report.not_modified, report.new_items, report.briefed) == (1, 1, 0, 0)
    assert site.feeds["/ledger/feed.xml"].served[-1].headers["if-none-match"] == '"v1"'
    assert len(site.page_requests()) == pages
    assert (await service.feeds(CHANNEL))[0].next_poll_at == clock.now + timedelta(minutes=30)


async def test_new_items_in_a_changed_feed_are_the_only_work(
    service: Service, site: FeedSite, clock: FakeClock
) -> None:
    await subscribe(service, WIRE)
    feeds = poller(service, clock)
    await feeds.poll_due()
    atom_entry = (
        b"<entry><title>Kestrel port agrees automation deal</title><id>urn:new-1</id>"
        b'<link rel="alternate" href="http://ledger.example/ledger/2026/11/kestrel-port"/>'
        b"<updated>2026-11-30T06:00:00Z</updated></entry></feed>"
    )
    feed = site.feeds["/wire/atom.xml"]
    feed.body, feed.etag = feed.body.replace(b"</feed>", atom_entry), '"v2"'
    clock.advance(timedelta(minutes=30))
    report = await feeds.poll_due()
    assert (report.new_items, report.briefed) == (1, 1)
    assert (await service.feeds(CHANNEL))[0].etag == '"v2"'


async def test_errors_back_off_exponentially_then_disable_with_a_visible_reason(
    service: Service, site: FeedSite, clock: FakeClock
) -> None:
    await subscribe(service, LEDGER)
    site.feeds["/ledger/feed.xml"].status = 500
    policy = PollPolicy(max_errors=4)
    feeds = FeedPoller(service, policy, clock=clock)
    waits = []
    for _ in range(4):
        report = await feeds.poll_due()
        assert report.failed == 1
        sub = (await service.feeds(CHANNEL))[0]
        assert sub.next_poll_at is not None
        waits.append(sub.next_poll_at - clock.now)
        clock.now = sub.next_poll_at
    assert waits == [backoff_delay(policy, n) for n in (1, 2, 3, 4)]
    assert waits[:3] == [timedelta(hours=1), timedelta(hours=2), timedelta(hours=4)]
    sub = (await service.feeds(CHANNEL))[0]
    assert sub.error_count == 4 and not sub.enabled
    assert sub.disabled_reason is not None and sub.disabled_reason.startswith("Stopped: 4 checks in a row failed (")
    assert (await feeds.poll_due()).feeds == 0  # disabled: never polled again
    # Subscribing again is the user's way to retry: the store re-enables it.
    site.feeds["/ledger/feed.xml"].status = 200
    await subscribe(service, LEDGER)
    assert (await feeds.poll_due()).new_items == 3


async def test_an_unexpected_parser_crash_backs_off_like_any_failure(
    service: Service, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    await subscribe(service, LEDGER)

    async def crash(*args: object, **kwargs: object) -> None:
        raise ValueError("a parser bug on hostile input")

    monkeypatch.setattr(poller_module, "poll_feed", crash)
    report = await poller(service, clock).poll_due()
    assert report.failed == 1
    sub = (await service.feeds(CHANNEL))[0]
    assert sub.error_count == 1 and sub.next_poll_at == clock.now + timedelta(hours=1)  # no hot retry loop


def test_backoff_is_capped() -> None:
    policy = PollPolicy(interval=timedelta(minutes=30), max_backoff=timedelta(hours=6))
    assert backoff_delay(policy, 0) == timedelta(minutes=30)
    assert backoff_delay(policy, 30) == timedelta(hours=6)


async def test_a_feed_that_turns_into_an_entity_bomb_is_disabled_at_once(
    service: Service, site: FeedSite, clock: FakeClock
) -> None:
    await subscribe(service, LEDGER)
    site.feeds["/ledger/feed.xml"].body = fixture_bytes("entity-bomb.xml")
    report = await poller(service, clock).poll_due()
    assert len(report.disabled) == 1 and "declares XML entities" in report.disabled[0]
    assert not (await service.feeds(CHANNEL))[0].enabled


async def test_briefings_stay_within_the_channel_budget_and_leftovers_come_next(
    service: Service, site: FeedSite, clock: FakeClock
) -> None:
    await subscribe(service, LEDGER, WIRE, DISPATCH)
    feeds = poller(service, clock, briefs_per_channel=2)
    first = await feeds.poll_due()
    assert (first.new_items, first.briefed, first.over_budget) == (9, 2, 7)
    assert len(site.page_requests()) == 2
    clock.advance(timedelta(minutes=30))
    second = await feeds.poll_due()  # every feed answers 304: only leftover briefing work remains
    assert (second.not_modified, second.new_items, second.briefed) == (3, 0, 2)


async def test_a_feed_shared_by_two_channels_is_fetched_once_and_charged_once(
    service: Service, site: FeedSite, clock: FakeClock
) -> None:
    await subscribe(service, DISPATCH, channel=CHANNEL)
    await subscribe(service, DISPATCH, channel=OTHER)
    before = len(site.feeds["/dispatch/feed.json"].served)  # subscribing checks the feed once per channel
    report = await poller(service, clock).poll_due()
    assert (report.feeds, report.new_items, report.briefed) == (1, 3, 3)
    assert len(site.feeds["/dispatch/feed.json"].served) - before == 1
    subscriptions = await service.feeds(CHANNEL) + await service.feeds(OTHER)
    assert [s.etag for s in subscriptions] == ['"v1"', '"v1"']


async def test_an_article_in_two_feeds_is_fetched_and_briefed_once(
    service: Service, site: FeedSite, clock: FakeClock
) -> None:
    copy = b'<?xml version="1.0"?><rss version="2.0"><channel><title>Aggregator</title><item>'
    copy += b"<title>Dam cracks</title><guid>agg-1</guid>"
    copy += b"<link>http://ledger.example/ledger/2026/11/gallowmere-dam?utm_campaign=agg</link></item></channel></rss>"
    site.server.routes["/agg.xml"] = Reply(headers=[("Content-Type", "application/rss+xml")], body=copy)
    await subscribe(service, LEDGER, "http://old.example/agg.xml")
    await poller(service, clock).poll_due()
    assert site.page_requests().count("/ledger/2026/11/gallowmere-dam") == 1


async def test_item_links_go_through_the_ssrf_guard(service: Service, site: FeedSite, clock: FakeClock) -> None:
    feed = b'<?xml version="1.0"?><rss version="2.0"><channel><title>Sneaky</title>'
    feed += f"<item><title>Internal</title><guid>s1</guid><link>http://{PRIVATE_HOST}/admin</link></item>".encode()
    feed += b"<item><title>Metadata</title><guid>s2</guid><link>http://169.254.169.254/latest/</link></item>"
    feed += b"<item><title>Local file</title><guid>s3</guid><link>file:///etc/passwd</link></item>"
    feed += b"</channel></rss>"
    site.server.routes["/sneaky.xml"] = Reply(headers=[("Content-Type", "application/rss+xml")], body=feed)
    await subscribe(service, "http://old.example/sneaky.xml")
    report = await poller(service, clock).poll_due()
    assert (report.new_items, report.briefed) == (2, 0)  # file:// is not even recorded
    assert site.contacted() == {"127.0.0.1"}  # 10.0.0.1 and 169.254.169.254 were refused before connecting


async def test_a_dead_link_is_briefed_from_the_feeds_full_content(
    service: Service, site: FeedSite, clock: FakeClock
) -> None:
    words = " ".join(f"The county said the works on the road will take week {n}." for n in range(12))
    feed = b'<?xml version="1.0"?><rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">'
    feed += b"<channel><title>Full text</title><item><title>Roadworks</title><guid>r1</guid>"
    feed += b"<link>http://old.example/gone</link>"
    feed += f"<content:encoded><![CDATA[<p>{words}</p><p>{words}</p>]]></content:encoded></item>".encode()
    feed += b"</channel></rss>"
    site.server.routes["/full.xml"] = Reply(headers=[("Content-Type", "application/rss+xml")], body=feed)
    await subscribe(service, "http://old.example/full.xml")
    report = await poller(service, clock).poll_due()
    assert report.briefed == 1
    stored = await service.store.articles.get_by_url("http://old.example/gone")
    assert stored is not None and "county said the works" in stored.article.text


async def test_subscribe_refuses_what_is_not_a_feed(service: Service, site: FeedSite) -> None:
    site.server.routes["/page"] = Reply(body=fixture_bytes("no-feed.html"))
    with pytest.raises(NotAFeedError, match=r"^That address is not a feed \("):
        await service.subscribe(CHANNEL, "http://ledger.example/page")
    site.server.routes["/broken.xml"] = Reply(
        headers=[("Content-Type", "application/xml")], body=fixture_bytes("malformed.xml")
    )
    with pytest.raises(NotAFeedError, match="the XML is broken at line 2"):
        await service.subscribe(CHANNEL, "http://ledger.example/broken.xml")
    assert await service.feeds(CHANNEL) == []


async def test_subscribe_subscribes_to_the_feed_a_site_advertises(service: Service, site: FeedSite) -> None:
    site.server.routes["/wire/"] = Reply(body=fixture_bytes("site.html"))
    subscription = await service.subscribe(CHANNEL, "http://wire.example/wire/")
    assert subscription.feed_url == WIRE and subscription.title == "Coastal Wire"
