"""Digest composition end to end: three fixture feeds (RSS, Atom, JSON Feed) from three outlets are polled through
the real fetcher on loopback, briefed by the offline engine, clustered by story and composed; plus links shared in
the channel, empty days, the window since the last digest, backlog items, copies under two URLs, and escaping.
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
from feedsite import DISPATCH, LEDGER, WIRE, FeedSite, article_html

from bot.brief.extractive import ExtractiveBriefer
from bot.digest import (
    Digest,
    DigestEntry,
    DigestQuote,
    DigestSource,
    FeedPoller,
    compose_digest,
    digest_markdown,
    preview_digest,
)
from bot.digest.runner import NOTHING_NEW
from bot.service import Place, Service, Source
from bot.store import ChannelKey, Store

CHANNEL = ChannelKey("slack", "T1", "C1")
DAM = "http://ledger.example/ledger/2026/11/gallowmere-dam"


@pytest.fixture
def backend() -> str:
    return "sqlite"


@pytest.fixture
async def site() -> AsyncIterator[FeedSite]:
    async with FeedSite() as running:
        yield running


@pytest.fixture
async def service(store: Store, site: FeedSite) -> AsyncIterator[Service]:
    async with site.fetcher() as fetcher:
        yield Service(store=store, fetcher=fetcher, briefer=ExtractiveBriefer())


async def poll(service: Service, clock: FakeClock, *feeds: str) -> None:
    for url in feeds:
        await service.subscribe(CHANNEL, url)
    await FeedPoller(service, clock=clock).poll_due()


async def test_three_outlets_become_one_entry_per_story_ranked_by_coverage(service: Service, clock: FakeClock) -> None:
    await poll(service, clock, LEDGER, WIRE, DISPATCH)
    digest = await compose_digest(service, CHANNEL, now=clock.now)
    assert digest is not None
    assert digest.header == "9 articles in 5 stories from 3 feeds"
    outlets = [[s.outlet for s in entry.sources] for entry in digest.entries]
    assert [len(o) for o in outlets] == [3, 2, 2, 1, 1]
    dam = digest.entries[0]
    assert "Gallowmere" in dam.headline
    assert set(outlets[0]) == {"Riverton Ledger", "Coastal Wire", "Northern Dispatch"}
    assert dam.summary and dam.summary != dam.headline and dam.summary.count(". ") <= 1
    assert dam.quote is not None and dam.quote.speaker == "Marit Olsen"
    assert dam.quote.text in " ".join(p for p in (article_text(service, DAM),))
    assert DAM in [s.url for s in dam.sources]  # normalized: the feed's utm_* parameters are gone
    stories = {entry.headline.split()[0] for entry in digest.entries[1:3]}
    assert stories == {"Kestrel", "Solenne's"}


def article_text(service: Service, url: str) -> str:
    import json

    pages = json.loads((Path(__file__).resolve().parent / "fixtures" / "feeds" / "articles.json").read_text())
    return " ".join(pages["/" + url.split("/", 3)[3]]["paragraphs"])


async def test_markdown_has_the_header_quotes_and_links(service: Service, clock: FakeClock) -> None:
    await poll(service, clock, LEDGER, WIRE, DISPATCH)
    digest = await compose_digest(service, CHANNEL, now=clock.now)
    assert digest is not None
    text = digest_markdown(digest)
    assert text.startswith("**Digest** — 9 articles in 5 stories from 3 feeds\n")
    assert "**1. Cracks found in Gallowmere dam; 1,400 residents told to leave**" in text
    assert "> “We are not taking any chances with people's lives” — Marit Olsen" in text
    assert f"Riverton Ledger <{DAM}>" in text
    assert "utm_" not in text


async def test_links_shared_in_the_channel_join_the_digest(service: Service, site: FeedSite, clock: FakeClock) -> None:
    await poll(service, clock, LEDGER)
    site.server.routes["/news/harbour"] = Reply(body=article_html("/wire/kestrel-terminal"))
    await service.brief(Source.link("http://wire.example/news/harbour"), Place(CHANNEL, "t1", "U1"))
    # The Ledger's dam article shared in chat as well: one article, counted once, marked as shared.
    await service.brief(Source.link(DAM + "?utm_source=chat"), Place(CHANNEL, "t2", "U2"))
    digest = await compose_digest(service, CHANNEL, now=clock.now)
    assert digest is not None
    assert digest.header == "4 articles in 3 stories from 1 feed and 2 links shared here"
    kestrel = next(e for e in digest.entries if "Kestrel" in e.headline)
    assert {s.url for s in kestrel.sources} == {
        "http://ledger.example/ledger/2026/11/kestrel-port",
        "http://wire.example/news/harbour",
    }
    assert any(s.shared for s in kestrel.sources)
    assert "(shared here)" in digest_markdown(digest)


async def test_a_day_with_nothing_new_posts_nothing_unless_asked(service: Service, clock: FakeClock) -> None:
    await service.subscribe(CHANNEL, LEDGER)
    assert await compose_digest(service, CHANNEL, now=clock.now) is None
    await service.update_channel_settings(CHANNEL, digest_empty=True)
    digest = await compose_digest(service, CHANNEL, now=clock.now)
    assert digest is not None and digest.empty and digest.header == "Nothing new since the last digest."
    assert await preview_digest(service, clock=clock)(CHANNEL) == NOTHING_NEW


async def test_the_next_digest_starts_where_the_last_posted_one_began(
    service: Service, site: FeedSite, clock: FakeClock
) -> None:
    await poll(service, clock, WIRE)
    clock.advance(timedelta(minutes=1))
    claim = await service.store.digests.claim(CHANNEL, "2026-11-30", "me", timedelta(minutes=5))
    assert claim is not None and await service.store.digests.mark_posted(claim, "m1")
    clock.advance(timedelta(hours=1))
    assert await compose_digest(service, CHANNEL, now=clock.now) is None  # everything was in the last digest
    feed = site.feeds["/wire/atom.xml"]
    entry = (
        b"<entry><title>Bakery chain Crumbwell opens its 50th shop</title><id>urn:late</id>"
        b'<link href="http://dispatch.example/dispatch/crumbwell-50"/><updated>2026-11-30T07:30:00Z</updated></entry>'
    )
    feed.body, feed.etag = feed.body.replace(b"</feed>", entry + b"</feed>"), '"v2"'
    await FeedPoller(service, clock=clock).poll_due()
    digest = await compose_digest(service, CHANNEL, now=clock.now)
    assert digest is not None and [e.headline for e in digest.entries] == ["Bakery chain Crumbwell opens its 50th shop"]


async def test_a_new_feeds_backlog_is_left_out(service: Service, site: FeedSite, clock: FakeClock) -> None:
    clock.advance(timedelta(days=2))  # the fixture items were published two to three days ago
    await poll(service, clock, DISPATCH)
    assert await compose_digest(service, CHANNEL, now=clock.now) is None


async def test_the_same_text_under_two_urls_is_one_article_with_two_sources(
    service: Service, site: FeedSite, clock: FakeClock
) -> None:
    site.server.routes["/syndicated/dam"] = Reply(body=article_html("/ledger/2026/11/gallowmere-dam"))
    feed = b'<?xml version="1.0"?><rss version="2.0"><channel><title>Syndicator</title><item><title>Dam</title>'
    feed += b"<guid>syn-1</guid><link>http://old.example/syndicated/dam</link></item></channel></rss>"
    site.server.routes["/syn.xml"] = Reply(headers=[("Content-Type", "application/rss+xml")], body=feed)
    await poll(service, clock, LEDGER, "http://old.example/syn.xml")
    digest = await compose_digest(service, CHANNEL, now=clock.now)
    assert digest is not None
    assert digest.article_count == 3  # the copy is not a fourth article
    dam = digest.entries[0]
    assert {s.url for s in dam.sources} == {DAM, "http://old.example/syndicated/dam"}


async def test_preview_renders_without_claiming(service: Service, clock: FakeClock) -> None:
    await poll(service, clock, DISPATCH)
    text = await preview_digest(service, clock=clock)(CHANNEL)
    assert text.startswith("**Digest** — 3 articles in 3 stories from 1 feed")
    assert await service.store.digests.last_posted(CHANNEL) is None


def test_markdown_escapes_untrusted_text() -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 11, 30, 8, tzinfo=UTC)
    entry = DigestEntry(
        headline="[Click me](http://evil.example) # @everyone",
        summary="*bold* <!channel> `code`",
        quote=DigestQuote(text="Hi @here", speaker="A_B"),
        sources=[DigestSource(outlet="Evil [x]", url="http://a.example/p(1)")],
    )
    digest = Digest(since=now, until=now, entries=[entry], article_count=1, story_count=1, feed_count=1)
    text = digest_markdown(digest)
    assert "\\[Click me\\]\\(http://evil.example\\)" in text
    assert "@everyone" not in text and "@here" not in text
    assert "\\<\\!channel\\>" in text and "\\*bold\\*" in text and "\\`code\\`" in text
    assert "Evil \\[x\\] <http://a.example/p%281%29>" in text
    assert "](" not in text  # no labelled links at all
