"""The core service on real databases (SQLite and PostgreSQL) with real HTTP to a local server.

Only the network edge is stood in for: a stub resolver maps `news.example` to 127.0.0.1 and the connector reaches the
local server. The engine is the real offline engine, wrapped to count how often it is asked to work.
"""

# ruff: noqa: F811  (pytest fixtures imported from store_support are injected by parameter name)

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fetch_helpers import LocalServer, LoopbackConnector, Reply, StubResolver
from store_support import (  # noqa: F401
    FakeClock,
    backend,
    clock,
    migrated_url,
    postgres_database,
    sqlite_template,
    store,
)

from bot.brief.extractive import ExtractiveBriefer
from bot.errors import QuotaError, SourceError, ThreadError
from bot.ingest.fetch import FetchPolicy, SafeFetcher
from bot.models import Article, Briefing
from bot.service import Place, Quotas, Service, Source
from bot.store import ChannelKey, Store

ARTICLE = (Path(__file__).resolve().parents[1] / "examples" / "harbor-bridge.txt").read_text()
CHANNEL = ChannelKey("slack", "T1", "C1")
PAGE = f"""<html><head><title>Harbor bridge closes to trucks</title></head><body><article>
{"".join(f"<p>{p}</p>" for p in ARTICLE.split(chr(10) + chr(10))[3:14])}
</article></body></html>""".encode()


FEED = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Port Ellery Ledger</title><link>http://news.example/</link>
<item><title>Harbor bridge closes to trucks</title><link>http://news.example/bridge</link><guid>b1</guid></item>
</channel></rss>"""


class CountingBriefer:
    """The real offline engine, counting the briefings it makes (a first-class fake, like llm's MockModel)."""

    name = "extractive"

    def __init__(self) -> None:
        self.calls = 0
        self._engine = ExtractiveBriefer()

    async def brief(self, article: Article) -> Briefing:
        self.calls += 1
        await asyncio.sleep(0.01)  # let concurrent requests pile up while this one works
        return await self._engine.brief(article)


@pytest.fixture
async def site() -> AsyncIterator[LocalServer]:
    server = LocalServer()
    await server.start()
    server.routes["/bridge"] = Reply(body=PAGE)
    server.routes["/feed.xml"] = Reply(headers=[("Content-Type", "application/rss+xml")], body=FEED)
    server.routes["/about"] = Reply(body=b"<html><body><p>We are a small newsroom.</p></body></html>")
    yield server
    await server.close()


@pytest.fixture
async def service(store: Store, site: LocalServer) -> AsyncIterator[Service]:
    fetcher = SafeFetcher(
        FetchPolicy(allow_networks=(ipaddress.ip_network("127.0.0.1/32"),)),
        resolver=StubResolver({"news.example": ["127.0.0.1"]}),
        connector=LoopbackConnector({80: site.port}),
    )
    async with fetcher:
        yield Service(store=store, fetcher=fetcher, briefer=CountingBriefer())


def place(thread: str | None = None, user: str = "U1") -> Place:
    return Place(CHANNEL, thread, user)


async def test_same_text_twice_is_answered_from_storage(service: Service) -> None:
    first = await service.brief(Source.text(ARTICLE), place())
    second = await service.brief(Source.text(ARTICLE), place())
    assert not first.cached
    assert second.cached
    assert second.article_id == first.article_id
    assert second.briefing == first.briefing
    assert service.briefer.calls == 1  # type: ignore[attr-defined]


async def test_twenty_concurrent_requests_share_one_fetch_and_one_briefing(service: Service, site: LocalServer) -> None:
    outcomes = await asyncio.gather(
        *(service.brief(Source.link("http://news.example/bridge"), place(user=f"U{i}")) for i in range(20))
    )
    assert site.paths() == ["/bridge"]
    assert service.briefer.calls == 1  # type: ignore[attr-defined]
    assert len({o.article_id for o in outcomes}) == 1


async def test_tracking_parameters_do_not_defeat_the_cache(service: Service, site: LocalServer) -> None:
    await service.brief(Source.link("http://news.example/bridge"), place())
    again = await service.brief(Source.link("HTTP://News.Example/bridge?utm_source=slack#top"), place())
    assert again.cached
    assert site.paths() == ["/bridge"]


async def test_force_briefs_again(service: Service) -> None:
    await service.brief(Source.text(ARTICLE), place())
    forced = await service.brief(Source.text(ARTICLE), place(), force=True)
    assert not forced.cached
    assert service.briefer.calls == 2  # type: ignore[attr-defined]


async def test_follow_up_questions_cite_the_article_or_refuse(service: Service) -> None:
    outcome = await service.brief(Source.text(ARTICLE), place("1700000000.000100"))
    answer = await service.ask(place("1700000000.000100"), "How much will the repairs cost?")
    assert not answer.refused
    start, end = answer.citations[0]
    assert "$186 million" in outcome.article.text[start:end]

    refused = await service.ask(place("1700000000.000100"), "What did the governor say about the ferry schedule?")
    assert refused.refused
    assert refused.reason == "The article doesn't say."

    thread = await service.find_thread(CHANNEL, "1700000000.000100")
    assert thread is not None
    history = await service.store.messages.history(thread.id)
    assert [m.role for m in history] == ["question", "answer", "question", "answer"]
    assert history[0].text == "How much will the repairs cost?"


async def test_question_outside_a_briefing_thread_gets_a_clear_error(service: Service) -> None:
    with pytest.raises(ThreadError, match="no briefing"):
        await service.ask(place("unknown-thread"), "What happened?")


async def test_threads_survive_a_restart(service: Service, migrated_url: str, clock: FakeClock) -> None:
    await service.brief(Source.text(ARTICLE), place("t-restart"))
    async with await Store.open(migrated_url, clock=clock) as reopened:
        fresh = Service(store=reopened, fetcher=service.fetcher, briefer=CountingBriefer())
        answer = await fresh.ask(place("t-restart"), "Who is the chief city engineer?")
    assert not answer.refused
    assert "Okafor" in answer.text


async def test_quota_refuses_politely_but_cached_briefings_stay_free(service: Service) -> None:
    service.quotas = Quotas(per_user=1)
    await service.brief(Source.text(ARTICLE), place())
    again = await service.brief(Source.text(ARTICLE), place())
    assert again.cached
    with pytest.raises(QuotaError, match="today's 1 briefings"):
        await service.brief(Source.text(ARTICLE.replace("Port Ellery", "Port Allen")), place())
    # Another user still has their own allowance.
    other = await service.brief(Source.text(ARTICLE.replace("Port Ellery", "Port Allen")), place(user="U2"))
    assert not other.cached


async def test_replayed_events_are_claimed_once(service: Service) -> None:
    assert await service.claim_event(CHANNEL, "Ev1", "1700000000.000200")
    assert not await service.claim_event(CHANNEL, "Ev1", "1700000000.000200")
    # The same message delivered as a second event type (message + app_mention) is still one piece of work.
    assert not await service.claim_event(CHANNEL, "Ev2", "1700000000.000200")


async def test_subscriptions_are_checked_and_idempotent(service: Service) -> None:
    first = await service.subscribe(CHANNEL, "http://news.example/feed.xml?utm_medium=x")
    second = await service.subscribe(CHANNEL, "http://NEWS.example/feed.xml")
    assert first.id == second.id
    assert first.title == "Port Ellery Ledger"
    assert [s.feed_url for s in await service.feeds(CHANNEL)] == ["http://news.example/feed.xml"]
    assert await service.unsubscribe(CHANNEL, "http://news.example/feed.xml")
    assert await service.feeds(CHANNEL) == []


async def test_subscribing_to_a_page_without_a_feed_says_so(service: Service) -> None:
    with pytest.raises(SourceError, match="That address is not a feed"):
        await service.subscribe(CHANNEL, "http://news.example/about")
    assert await service.feeds(CHANNEL) == []


async def test_an_llm_briefing_is_reused_and_a_fallback_is_not(store: Store, site: LocalServer) -> None:
    from fake_openai import FakeOpenAI, error, llm_settings

    from bot.brief.llm import build_engine

    async with FakeOpenAI() as fake, SafeFetcher(FetchPolicy()) as fetcher:
        service = Service(store=store, fetcher=fetcher, briefer=build_engine(llm_settings(fake, llm_max_retries=0)))
        fake.enqueue(error(500, "overloaded"))
        fallback = await service.brief(Source.text(ARTICLE), place())
        assert fallback.briefing.engine.startswith("extractive (llm fallback:")
        first = await service.brief(Source.text(ARTICLE), place())  # the model is back: the fallback was not kept
        assert not first.cached and first.briefing.engine == "llm (gpt-4o-mini)"
        calls = len(fake.requests)
        again = await service.brief(Source.text(ARTICLE), place())
        assert again.cached and len(fake.requests) == calls  # no new model request, no tokens
