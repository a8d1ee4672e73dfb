"""Prometheus metrics and the health, readiness and metrics HTTP endpoints of `briefbot run`.

`/healthz` says the process is alive (its event loop answers); `/readyz` says it can do work: the database answers
and every started adapter reports itself connected; `/metrics` is the Prometheus text format.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

from bot.models import Usage

log = logging.getLogger(__name__)

ReadinessCheck = Callable[[], Awaitable[str | None]]  # None when ready, else why not


class Metrics:
    """The counters and histograms briefbot exports, in their own registry (tests and replicas stay separate)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.briefings = Counter(
            "briefbot_briefings_total",
            "Briefings delivered, by engine and origin (new or cache).",
            ["engine", "origin"],
            registry=r,
        )
        self.answers = Counter(
            "briefbot_answers_total",
            "Follow-up answers, by engine and whether the article didn't say.",
            ["engine", "refused"],
            registry=r,
        )
        self.tokens = Counter("briefbot_llm_tokens_total", "Model tokens used, by kind.", ["kind"], registry=r)
        self.cost = Counter("briefbot_llm_cost_usd_total", "Estimated model cost in USD.", registry=r)
        self.fetch_seconds = Histogram("briefbot_fetch_seconds", "Time to fetch and extract a link.", registry=r)
        self.engine_seconds = Histogram(
            "briefbot_engine_seconds",
            "Time to brief an article, by engine.",
            ["engine"],
            registry=r,
            buckets=(0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 120),
        )
        self.errors = Counter("briefbot_errors_total", "User-facing errors, by kind.", ["kind"], registry=r)
        self.digest_runs = Counter("briefbot_digest_runs_total", "Digest runs, by outcome.", ["outcome"], registry=r)

    def record_usage(self, usage: Usage) -> None:
        """Add one briefing's or answer's model usage."""
        if usage.prompt_tokens:
            self.tokens.labels("prompt").inc(usage.prompt_tokens)
        if usage.completion_tokens:
            self.tokens.labels("completion").inc(usage.completion_tokens)
        if usage.cost_usd:
            self.cost.inc(usage.cost_usd)

    @contextmanager
    def timed(self, histogram: Histogram, *labels: str) -> Iterator[None]:
        """Observe the duration of the block."""
        start = time.perf_counter()
        try:
            yield
        finally:
            (histogram.labels(*labels) if labels else histogram).observe(time.perf_counter() - start)


@dataclass
class HealthServer:
    """Serves /healthz, /readyz and /metrics on `host:port` while `briefbot run` runs."""

    metrics: Metrics
    host: str = "127.0.0.1"
    port: int = 9464
    checks: dict[str, ReadinessCheck] = field(default_factory=dict)
    check_timeout: float = 5.0  # a check that hangs (a database that stopped answering) means "not ready"
    _runner: web.AppRunner | None = field(default=None, init=False)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/healthz", self._health)
        app.router.add_get("/readyz", self._ready)
        app.router.add_get("/metrics", self._metrics)
        return app

    async def start(self) -> int:
        """Start listening; returns the bound port (useful with port 0)."""
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        addresses = self._runner.addresses
        return int(addresses[0][1]) if addresses else self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _health(self, _request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def _ready(self, _request: web.Request) -> web.Response:
        problems = []
        for name, check in self.checks.items():
            try:
                problem = await asyncio.wait_for(check(), self.check_timeout)
            except TimeoutError:
                problem = "no answer"
            except Exception as exc:  # a failing check means "not ready", never a crashed endpoint
                log.warning("readiness check %s failed: %s", name, type(exc).__name__)
                problem = type(exc).__name__  # the class only: messages can carry URLs or hosts
            if problem:
                problems.append(f"{name}: {problem}")
        if problems:
            return web.Response(status=503, text="not ready\n" + "\n".join(problems) + "\n")
        return web.Response(text="ready\n")

    async def _metrics(self, _request: web.Request) -> web.Response:
        body = generate_latest(self.metrics.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
