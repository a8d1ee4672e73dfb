"""`briefbot run`: every configured adapter, the feed poller and the digest scheduler in one asyncio process.

Start-up reports what is enabled and why anything is not; a configuration problem (including Slack or Discord
refusing the token) stops the process with one readable message and exit status 78, which service managers are told
not to restart on. On SIGTERM/SIGINT the scheduler stops taking new work, briefings already in progress are given
`DRAIN_SECONDS` to finish and post, then the adapters disconnect and the database closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import text

from bot.config import Settings
from bot.digest.jobs import DigestJobs, digest_jobs
from bot.digest.poller import PollPolicy
from bot.digest.runner import DigestSink, RoutingSink, preview_digest
from bot.errors import ConfigError
from bot.observability import HealthServer
from bot.schedule import ScheduleConfig
from bot.service import Service
from bot.wiring import Core, open_core

log = logging.getLogger(__name__)
DRAIN_SECONDS = 30.0


@dataclass
class Adapter:
    """One running platform: its serving task, how to drain its in-flight work, and whether it is ready."""

    name: str
    task: asyncio.Task[None]
    drain: Callable[[], Awaitable[None]]
    ready: Callable[[], bool] = lambda: True


@dataclass
class Running:
    """What `run` started, for readiness checks and shutdown."""

    core: Core
    stop: asyncio.Event
    adapters: list[Adapter] = field(default_factory=list)
    sinks: dict[str, DigestSink] = field(default_factory=dict)
    jobs: DigestJobs | None = None


def startup_report(settings: Settings) -> list[str]:
    """One line per part: what starts, and for what does not, the setting that would enable it."""
    lines = [f"database: {settings.resolved_database_url.split('@')[-1]}"]
    if settings.llm_configured and settings.engine != "extractive":
        lines.append(f"engine: LLM ({settings.llm_model}) with the offline engine as fallback")
    else:
        lines.append("engine: offline extractive (set BRIEFBOT_LLM_API_KEY or BRIEFBOT_LLM_BASE_URL for an LLM)")
    if settings.slack_configured:
        lines.append(f"slack: enabled ({settings.slack_mode} mode)")
    else:
        lines.append("slack: off (set BRIEFBOT_SLACK_BOT_TOKEN, or BRIEFBOT_SLACK_CLIENT_ID for OAuth)")
    if settings.discord_configured:
        lines.append("discord: enabled" + ("" if settings.discord_message_content else " (no Message Content intent)"))
    else:
        lines.append("discord: off (set BRIEFBOT_DISCORD_TOKEN)")
    lines.append(f"feeds: polled every {settings.feed_poll_minutes} min; digests on each channel's schedule")
    if settings.health_port:
        lines.append(f"health: http://{settings.health_host}:{settings.health_port}/healthz, /readyz, /metrics")
    return lines


async def run(settings: Settings) -> None:
    """Run until SIGTERM/SIGINT. Raises ConfigError when nothing can run or a platform refuses its credentials."""
    if not (settings.slack_configured or settings.discord_configured):
        raise ConfigError(
            "Nothing to run: configure Slack (BRIEFBOT_SLACK_BOT_TOKEN) or Discord (BRIEFBOT_DISCORD_TOKEN); "
            "`briefbot chat` runs the bot in this terminal without either."
        )
    for line in startup_report(settings):
        log.info("%s", line)
    async with open_core(settings) as core:
        running = Running(core, asyncio.Event())
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):  # not on Windows' default loop
                loop.add_signal_handler(sig, running.stop.set)
        digest = preview_digest(core.service)
        try:
            if settings.slack_configured:
                running.adapters.append(await _start_slack(settings, core.service, running, digest))
            if settings.discord_configured:
                running.adapters.append(_start_discord(settings, core.service, running, digest))
            running.jobs = _start_digests(settings, core.service, running)
            await running.jobs.start()
            health = await _start_health(settings, running)
            try:
                await _serve(running)
            finally:
                if health is not None:
                    await health.stop()
        finally:
            await _shutdown(running)


async def _start_slack(settings: Settings, service: Service, running: Running, digest: Callable) -> Adapter:
    from bot.adapters.slack_app import build_slack, serve_http, serve_socket_mode
    from bot.adapters.slack_digest import SlackDigestSink

    runtime = build_slack(settings, service, digest=digest)
    await runtime.start()  # checks the bot token now: a refusal is a configuration error, not a crash loop
    running.sinks["slack"] = SlackDigestSink(runtime, service)

    async def serve() -> None:
        if runtime.config.mode == "http":
            try:
                async with serve_http(runtime, runtime.config.http_host, runtime.config.http_port):
                    await running.stop.wait()
            finally:
                await runtime.aclose()
        else:
            await serve_socket_mode(runtime, running.stop)

    return Adapter("slack", asyncio.create_task(serve(), name="slack"), runtime.bot.drain)


def _start_discord(settings: Settings, service: Service, running: Running, digest: Callable) -> Adapter:
    from bot.adapters.discord_bot import DiscordConfig, build_discord_bot, serve_discord
    from bot.adapters.discord_digest import DiscordDigestSink

    config = DiscordConfig.from_settings(settings)
    config.check()
    bot = build_discord_bot(config, service, digest=digest)
    running.sinks["discord"] = DiscordDigestSink(bot, service)

    async def serve() -> None:
        server = asyncio.create_task(serve_discord(bot, config))
        stopper = asyncio.create_task(running.stop.wait())
        await asyncio.wait({server, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if not server.done():
            await bot.close()
        stopper.cancel()
        await server

    return Adapter("discord", asyncio.create_task(serve(), name="discord"), bot.drain, bot.is_ready)


def _start_digests(settings: Settings, service: Service, running: Running) -> DigestJobs:
    jobs = digest_jobs(
        service,
        RoutingSink(running.sinks),
        poll=PollPolicy(
            interval=timedelta(minutes=settings.feed_poll_minutes),
            max_backoff=timedelta(hours=settings.feed_max_backoff_hours),
            max_errors=settings.feed_max_errors,
            briefs_per_channel=settings.feed_briefs_per_poll,
        ),
        schedule=ScheduleConfig(
            grace=timedelta(hours=settings.digest_grace_hours),
            sweep_every=timedelta(minutes=settings.digest_sweep_minutes),
        ),
        stale_after=timedelta(minutes=settings.digest_stale_claim_minutes),
    )
    service.on_settings_changed = jobs.scheduler.refresh
    return jobs


async def _start_health(settings: Settings, running: Running) -> HealthServer | None:
    if not settings.health_port:
        return None
    service = running.core.service

    async def database() -> str | None:
        async with service.store.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return None

    checks = {"database": database}
    for adapter in running.adapters:
        checks[adapter.name] = _adapter_check(adapter)
    health = HealthServer(service.metrics, settings.health_host, settings.health_port, checks)
    await health.start()
    return health


def _adapter_check(adapter: Adapter) -> Callable[[], Awaitable[str | None]]:
    async def check() -> str | None:
        if adapter.task.done():
            return "stopped"
        return None if adapter.ready() else "connecting"

    return check


async def _serve(running: Running) -> None:
    """Wait for a stop signal, or for an adapter to end on its own (a fatal error: re-raised)."""
    stopper = asyncio.create_task(running.stop.wait())
    try:
        done, _ = await asyncio.wait(
            {stopper, *(a.task for a in running.adapters)}, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        stopper.cancel()
    for adapter in running.adapters:
        if adapter.task in done and adapter.task.exception() is not None:
            raise adapter.task.exception()  # type: ignore[misc]


async def _shutdown(running: Running) -> None:
    log.info("stopping: no new digests; letting briefings in progress finish (up to %.0f s)", DRAIN_SECONDS)
    if running.jobs is not None:
        running.jobs.shutdown()
    drains = [a.drain() for a in running.adapters if not a.task.done()]
    if drains:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*drains, return_exceptions=True), DRAIN_SECONDS)
    running.stop.set()
    for adapter in running.adapters:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(adapter.task, 10)
    log.info("stopped")
