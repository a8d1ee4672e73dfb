"""Feeds (bot.ingest.feeds): parsing the fixture feeds, refusing entity declarations before any parser runs,
feedparser fed bytes only, conditional GET, the feed size cap, and autodiscovery, through the real SafeFetcher on
loopback (stub resolver + loopback connector: no DNS, no packet beyond 127.0.0.1).
"""

from __future__ import annotations

import importlib.util
import io
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import feedparser
import pytest
from fetch_helpers import Reply

sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures" / "feeds"))
from feedsite import DISPATCH, LEDGER, PRIVATE_HOST, WIRE, FeedSite, fixture_bytes

from bot.errors import BlockedURLError, TooLargeError
from bot.ingest import feeds
from bot.ingest.feeds import (
    NotAFeedError,
    UnsafeFeedError,
    discover_feeds,
    parse_feed,
    poll_feed,
    resolve_feed,
)


def _oversized_module():
    path = Path(__file__).resolve().parent / "fixtures" / "feeds" / "oversized.py"
    spec = importlib.util.spec_from_file_location("briefbot_oversized_feed", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
async def site() -> AsyncIterator[FeedSite]:
    async with FeedSite() as running:
        yield running


@pytest.fixture
def no_feedparser(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Make any call to feedparser fail the test, recording what it was given."""
    calls: list[object] = []

    def forbidden(source: object, *args: object, **kwargs: object) -> None:
        calls.append(source)
        raise AssertionError("feedparser must not run on this input")

    monkeypatch.setattr(feeds.feedparser, "parse", forbidden)
    return calls


# --- parsing the fixtures --------------------------------------------------------------------------------------------


def test_rss_items_have_normalized_links_dates_and_plain_summaries() -> None:
    feed = parse_feed(fixture_bytes("ledger.rss.xml"), url=LEDGER, content_type="application/rss+xml")
    assert (feed.format, feed.title, feed.site_url) == ("rss20", "Riverton Ledger", "http://ledger.example/")
    links = [entry.link for entry in feed.entries]
    assert links == [
        "http://ledger.example/ledger/2026/11/gallowmere-dam",  # utm_* tracking parameters dropped
        "http://ledger.example/ledger/2026/11/kestrel-port",  # relative link resolved against the feed
        "http://ledger.example/ledger/2026/11/leaf-blowers",
        None,  # javascript: is not a web link: kept as an item, never fetchable
    ]
    first = feed.entries[0]
    assert first.key == "ledger-2026-11-gallowmere-dam"
    assert first.published is not None and first.published.isoformat() == "2026-11-29T18:05:00+00:00"
    assert first.summary.startswith("Engineers found two cracks in the Gallowmere dam;")  # tags gone, text kept
    blowers = feed.entries[2]
    assert blowers.content_html is not None and "<script" not in blowers.content_html  # feedparser sanitized it


def test_atom_entries_resolve_against_xml_base() -> None:
    feed = parse_feed(fixture_bytes("wire.atom.xml"), url=WIRE)
    assert feed.format == "atom10" and feed.title == "Coastal Wire"
    assert [e.link for e in feed.entries] == [
        "http://wire.example/wire/gallowmere-evacuation",
        "http://wire.example/wire/kestrel-terminal",
        "http://wire.example/wire/solenne-chess",
    ]
    assert feed.entries[2].published is not None  # only <updated>: used as the date


def test_json_feed_items_skip_junk_and_resolve_relative_urls() -> None:
    feed = parse_feed(fixture_bytes("dispatch.feed.json"), url=DISPATCH, content_type="application/feed+json")
    assert feed.format == "json1.1" and feed.title == "Northern Dispatch"
    assert [e.key for e in feed.entries][:3] == ["dispatch-gallowmere-1", "dispatch-ada-lind", "dispatch-crumbwell-50"]
    assert feed.entries[1].link == "http://dispatch.example/dispatch/ada-lind"
    assert len(feed.entries) == 4  # the string "item" is ignored
    assert feed.entries[3].link is None  # ftp:// is never a fetchable link
    assert feed.entries[2].summary.startswith("Crumbwell, the bakery chain")  # from content_html, tags removed


def test_external_dtd_without_internal_subset_is_read_latin1() -> None:
    feed = parse_feed(fixture_bytes("netscape-doctype.rss.xml"), url="http://old.example/rss")
    assert feed.format == "rss091n"
    assert feed.entries[0].title == "Café opens"


def test_a_malformed_feed_says_where_it_is_broken() -> None:
    with pytest.raises(NotAFeedError, match=r"^That address is not a feed \(the XML is broken at line 2, column 1"):
        parse_feed(fixture_bytes("malformed.xml"), url="http://bad.example/feed")


def test_a_feed_with_a_stray_ampersand_is_still_read_with_a_warning() -> None:
    body = b'<?xml version="1.0"?><rss version="2.0"><channel><title>Fish & Chips</title><item><title>A</title>'
    body += b"<link>http://a.example/1</link></item></channel></rss>"
    feed = parse_feed(body, url="http://a.example/feed")
    assert [e.link for e in feed.entries] == ["http://a.example/1"]
    assert feed.warnings


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"this is not xml at all {", "no RSS, Atom or JSON Feed"),
        (b'<?xml version="1.0"?><note><to>x</to></note>', "no RSS, Atom or JSON Feed"),
        (b'{"version": "1.0", "items": []}', "it is JSON, but not a JSON Feed"),
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": [', "the JSON is broken"),
        (b'{"version": "https://jsonfeed.org/version/1", "items": "none"}', "no list of items"),
        (b"[" * 100_000, "the JSON is broken"),
        (b"<!DOCTYPE html><html><body>hello</body></html>", "it is a web page"),
    ],
)
def test_not_a_feed_messages_name_the_reason(body: bytes, reason: str) -> None:
    with pytest.raises(NotAFeedError, match=r"^That address is not a feed \(") as caught:
        parse_feed(body, url="http://x.example/feed")
    assert reason in str(caught.value)


# --- entities: refused before any parser sees them -------------------------------------------------------------------


def _utf16(name: str) -> bytes:
    text = fixture_bytes(name).decode().replace('encoding="UTF-8"', 'encoding="UTF-16"')
    return text.encode("utf-16")


@pytest.mark.parametrize(
    "body",
    [
        fixture_bytes("entity-bomb.xml"),
        fixture_bytes("external-entity.xml"),
        _utf16("entity-bomb.xml"),  # the declaration is invisible to a byte search of the raw body
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ATTLIST item a CDATA "x">]><rss version="2.0"/>',
        b'<?xml version="1.0"?><!doctype rss [ <!entity x "y"> ]><rss version="2.0"/>',
        b'<rss version="2.0"><channel><!ENTITY late "x"><title>t</title></channel></rss>',
    ],
    ids=["billion-laughs", "external-entities", "utf16-bomb", "internal-subset", "lowercase", "entity-in-body"],
)
def test_entity_declaring_feeds_are_refused_before_parsing(body: bytes, no_feedparser: list[object]) -> None:
    with pytest.raises(UnsafeFeedError, match="declares XML entities"):
        parse_feed(body, url="http://bomb.example/feed", content_type="application/xml")
    assert no_feedparser == []


def test_feedparser_only_ever_gets_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    given: list[object] = []
    real = feedparser.parse

    def spy(source: object, *args: object, **kwargs: object) -> object:
        given.append(source)
        return real(source, *args, **kwargs)

    monkeypatch.setattr(feeds.feedparser, "parse", spy)
    parse_feed(fixture_bytes("ledger.rss.xml"), url=LEDGER)
    # A body that is a file path or a URL is data, not an address: nothing is opened or fetched for it.
    for body in (b"/etc/passwd", b"http://10.0.0.1/feed.xml", b"file:///etc/hostname"):
        with pytest.raises(NotAFeedError):
            parse_feed(body, url="http://x.example/feed")
    assert given and all(isinstance(source, io.BytesIO) for source in given)


# --- autodiscovery ---------------------------------------------------------------------------------------------------


def test_discovery_finds_advertised_feeds_in_order_once_and_web_only() -> None:
    found = discover_feeds(fixture_bytes("site.html"), "http://wire.example/index.html")
    assert found == ["http://wire.example/wire/atom.xml", "http://wire.example/wire/rss.xml"]


async def test_resolve_feed_follows_a_site_to_its_feed(site: FeedSite) -> None:
    site.server.routes["/wire/"] = Reply(body=fixture_bytes("site.html"))
    async with site.fetcher() as fetcher:
        poll = await resolve_feed(fetcher, "http://wire.example/wire/")
    assert poll.url == WIRE and poll.feed is not None and poll.feed.title == "Coastal Wire"
    assert site.server.paths() == ["/wire/", "/wire/atom.xml"]  # the first advertised feed worked: no more requests


async def test_resolve_feed_on_a_page_without_feed_says_so(site: FeedSite) -> None:
    site.server.routes["/plain"] = Reply(body=fixture_bytes("no-feed.html"))
    async with site.fetcher() as fetcher:
        with pytest.raises(NotAFeedError, match=r"web page with no RSS, Atom or JSON Feed link"):
            await resolve_feed(fetcher, "http://ledger.example/plain")


async def test_a_discovered_feed_on_a_private_address_is_never_contacted(site: FeedSite) -> None:
    page = f'<html><head><link rel="alternate" type="application/rss+xml" href="http://{PRIVATE_HOST}/rss"></head>'
    site.server.routes["/sneaky"] = Reply(body=page.encode())
    async with site.fetcher() as fetcher:
        with pytest.raises(BlockedURLError):
            await resolve_feed(fetcher, "http://ledger.example/sneaky")
    assert site.contacted() == {"127.0.0.1"}
    assert PRIVATE_HOST in site.resolver.queries


# --- polling through the fetcher -------------------------------------------------------------------------------------


async def test_poll_sends_validators_back_and_a_304_parses_nothing(
    site: FeedSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with site.fetcher() as fetcher:
        first = await poll_feed(fetcher, LEDGER)
        assert first.feed is not None and len(first.feed.entries) == 4
        assert (first.etag, first.last_modified) == ('"v1"', "Sun, 29 Nov 2026 20:00:00 GMT")
        monkeypatch.setattr(feeds, "parse_feed", lambda *a, **k: pytest.fail("a 304 must not be parsed"))
        second = await poll_feed(fetcher, LEDGER, etag=first.etag, last_modified=first.last_modified)
    assert second.not_modified and second.feed is None
    assert (second.etag, second.last_modified) == (first.etag, first.last_modified)
    sent = site.feeds["/ledger/feed.xml"].served[-1].headers
    assert sent["if-none-match"] == '"v1"' and sent["if-modified-since"] == "Sun, 29 Nov 2026 20:00:00 GMT"


async def test_last_modified_alone_is_enough_for_a_304(site: FeedSite) -> None:
    async with site.fetcher() as fetcher:
        poll = await poll_feed(fetcher, WIRE, last_modified="Sun, 29 Nov 2026 20:00:00 GMT")
    assert poll.not_modified
    assert "if-none-match" not in site.feeds["/wire/atom.xml"].served[-1].headers


async def test_an_endless_feed_stops_at_the_feed_cap(site: FeedSite) -> None:
    generator = _oversized_module().oversized_feed
    site.server.routes["/endless.xml"] = Reply(
        headers=[("Content-Type", "application/rss+xml")], stream=lambda: generator(8_000_000)
    )
    async with site.fetcher() as fetcher:
        with pytest.raises(TooLargeError):
            await poll_feed(fetcher, "http://endless.example/endless.xml")


async def test_an_entity_bomb_served_over_http_is_refused(site: FeedSite, no_feedparser: list[object]) -> None:
    site.server.routes["/bomb.xml"] = Reply(
        headers=[("Content-Type", "application/rss+xml")], body=fixture_bytes("entity-bomb.xml")
    )
    async with site.fetcher() as fetcher:
        with pytest.raises(UnsafeFeedError):
            await poll_feed(fetcher, "http://bomb.example/bomb.xml")
    assert no_feedparser == []
