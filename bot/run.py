"""`briefbot run`: every configured adapter, the feed poller and the digest scheduler in one asyncio process.

Start-up reports what is enabled and why anything is not; a configuration problem (including Slack or Discord
refusing a token) stops the process with one readable message and exit status 78, which service managers are told
not to restart on. Once everything listens, the bound ports are logged (`slack: listening on http://HOST:PORT/...`,
`health: listening on http://HOST:PORT`), so port 0 is usable.

Shutdown (SIGTERM/SIGINT, or the `stop` event) runs in this order, so that work already acknowledged still gets
posted and nothing new is accepted meanwhile:

1. `/readyz` answers 503 ("stopping"), so a load balancer stops sending requests here;
2. the scheduler stops starting digest runs and feed polls;
3. the adapters stop taking events: Slack's HTTP listener closes (Slack retries elsewhere), its Socket Mode
   connection closes (Slack delivers to the other connections); Discord's gateway stays up until step 5;
4. briefings, answers and digest runs in progress get `DRAIN_SECONDS` to finish and post;
5. the adapters disconnect (cancelling whatever is left), the health server and the database close.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.config import Settings
from bot.digest.jobs import DigestJobs, digest_jobs
from bot.digest.poller import PollPolicy
from bot.digest.runner import DigestSink, RoutingSink, preview_digest
from bot.errors import ConfigError
from bot.ingest.extract import warm_up
from bot.observability import HealthServer, ReadinessCheck
from bot.schedule import ScheduleConfig
from bot.store import ChannelKey
from bot.wiring import Core, open_core

__all__ = ["DRAIN_SECONDS", "Adapter", "CoreFactory", "Running", "run", "startup_report"]

log = logging.getLogger(__name__)
DRAIN_SECONDS = 30.0  # a briefing still running after this is cut off (its placeholder stays "Reading …")
CLOSE_SECONDS = 10.0  # per adapter, to disconnect

CoreFactory = Callable[[Settings], AbstractAsyncContextManager[Core]]
DigestPreview = Callable[[ChannelKey], Awaitable[str]]


async def _nothing() -> None:
    return None


async def _always_ready() -> str | None:
    return None


@dataclass
class Adapter:
    """One running platform, as `run` drives it through start-up and the shutdown steps above.

    `stop_intake` stops taking new events; `drain` waits for the work in progress; `close` disconnects (cancelling
    what is left). `task` is a connection that runs on its own (Discord's gateway): it ending means the adapter
    failed. `check` is its readiness: None when ready, else why not.
    """

    name: str
    drain: Callable[[], Awaitable[None]]
    close: Callable[[], Awaitable[None]]
    stop_intake: Callable[[], Awaitable[None]] = _nothing
    task: asyncio.Task[None] | None = None
    check: ReadinessCheck = _always_ready


@dataclass
class Running:
    """What `run` started: for readiness checks, for tests (`ports`) and for shutdown."""

    core: Core
    stop: asyncio.Event
    adapters: list[Adapter] = field(default_factory=list)
    sinks: dict[str, DigestSink] = field(default_factory=dict)
    jobs: DigestJobs | None = None
    health: HealthServer | None = None
    ports: dict[str, int] = field(default_factory=dict)  # bound ports: "slack" (HTTP mode), "health"


def _safe_database(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(invalid BRIEFBOT_DATABASE_URL)"


def startup_report(settings: Settings) -> list[str]:
    """One line per part: what starts, and for what does not, the setting that would enable it."""
    lines = [f"database: {_safe_database(settings.resolved_database_url)}"]
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
        lines.append("health: /healthz, /readyz and /metrics enabled")
    else:
        lines.append("health: off (BRIEFBOT_HEALTH_PORT=0)")
    return lines


async def run(
    settings: Settings,
    *,
    core_factory: CoreFactory = open_core,
    stop: asyncio.Event | None = None,
    on_started: Callable[[Running], None] | None = None,
) -> None:
    """Run until SIGTERM/SIGINT (or `stop` is set). Raises ConfigError when nothing can run or a platform refuses
    its credentials. `core_factory` builds the service (tests pass one with a scripted engine); `on_started` is
    called once everything listens."""
    if not (settings.slack_configured or settings.discord_configured):
        raise ConfigError(
            "Nothing to run: configure Slack (BRIEFBOT_SLACK_BOT_TOKEN) or Discord (BRIEFBOT_DISCORD_TOKEN); "
            "`briefbot chat` runs the bot in this terminal without either."
        )
    for line in startup_report(settings):
        log.info("%s", line)
    # The extractor's lazy caches (date parsing, jusText) cost seconds of CPU on first use: pay it now, in a thread.
    warming = asyncio.create_task(asyncio.to_thread(warm_up))
    async with core_factory(settings) as core:
        running = Running(core, stop or asyncio.Event())
        with _signals(running.stop):
            try:
                await _start(settings, running)
                log.info("running: %s", ", ".join(a.name for a in running.adapters))
                if on_started is not None:
                    on_started(running)
                await _serve(running)
            finally:
                await _shutdown(running)
                await asyncio.gather(warming, return_exceptions=True)


async def _start(settings: Settings, running: Running) -> None:
    digest = preview_digest(running.core.service)
    if settings.slack_configured:
        running.adapters.append(await _start_slack(settings, running, digest))
    if settings.discord_configured:
        running.adapters.append(_start_discord(settings, running, digest))
    running.jobs = _digest_jobs(settings, running)
    await running.jobs.start()
    if settings.health_port:
        running.health = _health_server(settings, running)
        running.ports["health"] = port = await running.health.start()
        log.info("health: listening on http://%s:%d", settings.health_host, port)


@contextlib.contextmanager
def _signals(stop: asyncio.Event) -> Iterator[None]:
    """SIGINT/SIGTERM set `stop` while `run` runs (the handlers are removed afterwards)."""
    loop = asyncio.get_running_loop()
    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, _on_signal, sig, stop)
            installed.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):  # Windows' loop; a loop outside the main thread
            pass
    try:
        yield
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


def _on_signal(sig: signal.Signals, stop: asyncio.Event) -> None:
    log.info("%s received", sig.name)
    stop.set()


async def _start_slack(settings: Settings, running: Running, digest: DigestPreview) -> Adapter:
    from bot.adapters.slack_app import (
        EVENTS_PATH,
        SlackRuntime,
        SocketModeLink,
        build_slack,
        serve_http,
        serve_socket_mode,
    )
    from bot.adapters.slack_digest import SlackDigestSink

    service = running.core.service
    runtime = build_slack(settings, service, digest=digest)
    intake = AsyncExitStack()  # what takes events in: the HTTP listener, or the Socket Mode connection
    task: asyncio.Task[None] | None = None
    check: ReadinessCheck = _always_ready
    try:
        await runtime.start()  # checks the bot token now: a refusal is a configuration error, not a crash loop
        config = runtime.config
        if config.mode == "http":
            port = await intake.enter_async_context(serve_http(runtime, config.http_host, config.http_port))
            running.ports["slack"] = port
            log.info("slack: listening on http://%s:%d%s", config.http_host, port, EVENTS_PATH)
        else:
            # `serve_socket_mode` closes the runtime when it ends, which would cancel the briefings in progress
            # before the drain: give it a view of the runtime whose `aclose` leaves that to the shutdown.
            class KeepOpen(SlackRuntime):
                async def aclose(self) -> None:
                    return None

            view = KeepOpen(runtime.app, runtime.bot, runtime.config, runtime.single_team)
            disconnect = asyncio.Event()
            link = SocketModeLink()
            task = asyncio.create_task(serve_socket_mode(view, disconnect, link), name="slack")

            async def connected() -> str | None:
                return None if await link.connected() else "connecting"

            check = connected

            async def close_socket() -> None:
                disconnect.set()
                with contextlib.suppress(Exception):
                    await task

            intake.push_async_callback(close_socket)
    except BaseException:
        await intake.aclose()
        await runtime.aclose()
        raise
    running.sinks["slack"] = SlackDigestSink(runtime, service)
    return Adapter("slack", runtime.bot.drain, runtime.aclose, intake.aclose, task=task, check=check)


def _start_discord(settings: Settings, running: Running, digest: DigestPreview) -> Adapter:
    from bot.adapters.discord_bot import DiscordConfig, build_discord_bot, serve_discord
    from bot.adapters.discord_digest import DiscordDigestSink

    config = DiscordConfig.from_settings(settings)
    config.check()
    bot = build_discord_bot(config, running.core.service, digest=digest)
    running.sinks["discord"] = DiscordDigestSink(bot, running.core.service)

    async def check() -> str | None:
        return None if bot.is_ready() else "connecting"

    # No way to pause the gateway: it stays connected through the drain, and `bot.close` ends `serve_discord`.
    task = asyncio.create_task(serve_discord(bot, config), name="discord")
    return Adapter("discord", bot.drain, bot.close, task=task, check=check)


def _digest_jobs(settings: Settings, running: Running) -> DigestJobs:
    service = running.core.service
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


def _health_server(settings: Settings, running: Running) -> HealthServer:
    service = running.core.service

    async def stopping() -> str | None:
        return "stopping" if running.stop.is_set() else None

    async def database() -> str | None:
        async with service.store.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return None

    checks: dict[str, ReadinessCheck] = {"process": stopping, "database": database}
    for adapter in running.adapters:
        checks[adapter.name] = _adapter_check(adapter)
    return HealthServer(service.metrics, settings.health_host, settings.health_port, checks)


def _adapter_check(adapter: Adapter) -> ReadinessCheck:
    async def check() -> str | None:
        if adapter.task is not None and adapter.task.done():
            return "stopped"
        return await adapter.check()

    return check


async def _serve(running: Running) -> None:
    """Wait for the stop signal, or for an adapter's connection to end on its own: a fatal error, re-raised."""
    stopper = asyncio.create_task(running.stop.wait())
    connections = {a.task for a in running.adapters if a.task is not None}
    try:
        done, _ = await asyncio.wait({stopper, *connections}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
    for adapter in running.adapters:
        task = adapter.task
        if task is None or task not in done:
            continue
        if not task.cancelled() and (error := task.exception()) is not None:
            raise error
        # Exiting 0 here would keep a service manager (Restart=on-failure) from restarting us.
        raise RuntimeError(f"{adapter.name} stopped unexpectedly")


async def _shutdown(running: Running) -> None:
    running.stop.set()  # /readyz says "stopping" from now on
    log.info("stopping: no new events or digests; work in progress gets up to %.0f s", DRAIN_SECONDS)
    if running.jobs is not None:
        running.jobs.scheduler.pause()  # no new runs; the ones in progress finish below
    for adapter in running.adapters:
        await _quietly(adapter.stop_intake(), f"{adapter.name}: closing the intake")
    waits = [a.drain() for a in running.adapters]
    if running.jobs is not None:
        waits.append(running.jobs.scheduler.idle())
    try:
        await asyncio.wait_for(asyncio.gather(*waits, return_exceptions=True), DRAIN_SECONDS)
    except TimeoutError:
        log.warning("work still in progress after %.0f s was cut off", DRAIN_SECONDS)
    if running.jobs is not None:
        running.jobs.shutdown()
    for adapter in running.adapters:
        await _quietly(asyncio.wait_for(adapter.close(), CLOSE_SECONDS), f"{adapter.name}: disconnecting")
        if adapter.task is not None:
            await _quietly(asyncio.wait_for(adapter.task, CLOSE_SECONDS), f"{adapter.name}: disconnecting")
    if running.health is not None:
        await running.health.stop()
    log.info("stopped")


async def _quietly(step: Awaitable[object], what: str) -> None:
    """Run one shutdown step; a failure is logged and the shutdown goes on."""
    try:
        await step
    except (Exception, asyncio.CancelledError) as exc:
        current = asyncio.current_task()
        if isinstance(exc, asyncio.CancelledError) and current is not None and current.cancelling():
            raise  # the shutdown itself is being cancelled, not just the step
        # The adapter's own errors were already reported where they happened (e.g. a refused token at start-up).
        log.warning("%s failed: %s", what, type(exc).__name__)
