"""The health server's endpoints (/healthz, /readyz, /metrics) and the metrics the service counts."""

# ruff: noqa: F811  (pytest fixtures imported from store_support are injected by parameter name)

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from fake_slack import NIGHT_BUS, hermetic_fetcher, page
from fetch_helpers import LocalServer, Reply
from store_support import clock, migrated_url, sqlite_template, store  # noqa: F401

from bot.brief.extractive import ExtractiveBriefer
from bot.errors import BlockedURLError, FetchError, ThreadError
from bot.models import Usage
from bot.observability import HealthServer, Metrics, ReadinessCheck
from bot.service import Place, Service, Source
from bot.store import ChannelKey, Store

PLACE = Place(ChannelKey("slack", "T1", "C1"), user="U1")
METRIC_NAMES = [
    "briefbot_briefings_total",
    "briefbot_answers_total",
    "briefbot_llm_tokens_total",
    "briefbot_llm_cost_usd_total",
    "briefbot_fetch_seconds",
    "briefbot_engine_seconds",
    "briefbot_errors_total",
    "briefbot_digest_runs_total",
]


@pytest.fixture
def backend() -> str:
    return "sqlite"  # metrics do not depend on the database; the store is tested on both


async def _ok() -> str | None:
    return None


async def _connecting() -> str | None:
    return "connecting"


async def _raises() -> str | None:
    raise RuntimeError("could not connect to postgresql://briefbot:s3cret@db:5432/briefbot")


async def _hangs() -> str | None:
    await asyncio.Event().wait()
    return None


async def serve(checks: dict[str, ReadinessCheck], metrics: Metrics | None = None) -> tuple[HealthServer, str]:
    server = HealthServer(metrics or Metrics(), "127.0.0.1", 0, checks, check_timeout=0.2)
    port = await server.start()
    assert port != 0  # the bound port, not the requested one
    return server, f"http://127.0.0.1:{port}"


async def get(url: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return response.status, await response.text(), response.headers.get("Content-Type", "")


async def test_all_checks_passing_means_ready() -> None:
    server, base = await serve({"database": _ok, "slack": _ok})
    try:
        assert (await get(base + "/healthz"))[:2] == (200, "ok\n")
        assert (await get(base + "/readyz"))[:2] == (200, "ready\n")
        status, body, content_type = await get(base + "/metrics")
        assert status == 200 and content_type.startswith("text/plain")
        for name in METRIC_NAMES:
            assert f"# TYPE {name} " in body
    finally:
        await server.stop()
    with pytest.raises(aiohttp.ClientConnectionError):
        await get(base + "/healthz")


async def test_failing_checks_make_readyz_503_listing_each_without_leaking_details() -> None:
    checks = {"database": _raises, "slack": _connecting, "discord": _ok, "scheduler": _hangs}
    server, base = await serve(checks)
    try:
        status, body, _ = await get(base + "/readyz")
        assert status == 503
        assert body == "not ready\ndatabase: RuntimeError\nslack: connecting\nscheduler: no answer\n"
        assert "s3cret" not in body
        # Alive all the same: a service manager must not restart a process that is only waiting for its database.
        assert (await get(base + "/healthz"))[:2] == (200, "ok\n")
    finally:
        await server.stop()


async def test_metrics_of_separate_instances_are_separate() -> None:
    first, second = Metrics(), Metrics()
    first.briefings.labels("extractive", "new").inc()
    labels = {"engine": "extractive", "origin": "new"}
    assert first.registry.get_sample_value("briefbot_briefings_total", labels) == 1
    assert second.registry.get_sample_value("briefbot_briefings_total", labels) is None


def test_usage_adds_tokens_and_cost() -> None:
    metrics = Metrics()
    metrics.record_usage(Usage(prompt_tokens=120, completion_tokens=30, calls=1, cost_usd=0.002))
    metrics.record_usage(Usage())  # an offline briefing: nothing to add
    sample = metrics.registry.get_sample_value
    assert sample("briefbot_llm_tokens_total", {"kind": "prompt"}) == 120
    assert sample("briefbot_llm_tokens_total", {"kind": "completion"}) == 30
    assert sample("briefbot_llm_cost_usd_total") == pytest.approx(0.002)


# --- what the service counts ---------------------------------------------------------------------------------------


@pytest.fixture
async def service(store: Store) -> AsyncIterator[Service]:
    site = LocalServer()
    await site.start()
    site.routes["/night-bus"] = Reply(body=page("Night bus pilot", NIGHT_BUS))
    site.routes["/gone"] = Reply(status=404, body=b"not here")
    async with hermetic_fetcher(site) as fetcher:
        yield Service(store=store, fetcher=fetcher, briefer=ExtractiveBriefer())
    await site.close()


def count(service: Service, name: str, **labels: str) -> float:
    return service.metrics.registry.get_sample_value(name, labels) or 0.0


async def test_a_new_briefing_and_a_cached_one_are_counted_apart(service: Service) -> None:
    first = await service.brief(Source.link("http://news.example/night-bus"), PLACE)
    again = await service.brief(Source.link("http://news.example/night-bus"), PLACE)
    assert (first.cached, again.cached) == (False, True)
    assert count(service, "briefbot_briefings_total", engine="extractive", origin="new") == 1
    assert count(service, "briefbot_briefings_total", engine="extractive", origin="cache") == 1
    # Only the new one fetched and ran the engine.
    assert count(service, "briefbot_fetch_seconds_count") == 1
    assert count(service, "briefbot_engine_seconds_count", engine="extractive") == 1


async def test_errors_are_counted_by_kind(service: Service) -> None:
    with pytest.raises(FetchError):
        await service.brief(Source.link("http://news.example/gone"), PLACE)
    with pytest.raises(BlockedURLError):
        await service.brief(Source.link("http://10.0.0.1/"), PLACE)  # data only: refused before any connection
    with pytest.raises(ThreadError):
        await service.ask(Place(PLACE.channel, thread_id="123.456"), "Who approved it?")
    assert count(service, "briefbot_errors_total", kind="fetch") == 1
    assert count(service, "briefbot_errors_total", kind="blocked_url") == 1
    assert count(service, "briefbot_errors_total", kind="thread") == 1
    assert count(service, "briefbot_briefings_total", engine="extractive", origin="new") == 0


async def test_answers_are_counted_with_whether_the_article_said(service: Service) -> None:
    thread = "1700000000.000100"
    await service.brief(Source.link("http://news.example/night-bus"), Place(PLACE.channel, thread, "U1"))
    await service.ask(Place(PLACE.channel, thread, "U1"), "How much will the pilot cost?")
    await service.ask(Place(PLACE.channel, thread, "U1"), "What is the mayor's favourite colour?")
    assert count(service, "briefbot_answers_total", engine="extractive", refused="false") == 1
    assert count(service, "briefbot_answers_total", engine="extractive", refused="true") == 1
