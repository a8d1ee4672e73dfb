"""`briefbot run`: configuration errors exit 78, start-up report, Slack HTTP and Socket Mode against the fake Slack
with the health server, readiness, metrics, and a graceful stop that still posts the briefing in progress."""

# ruff: noqa: F811  (pytest fixtures imported from run_support are injected by parameter name)

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from fake_discord import FakeDiscord
from fake_discord import fake as discord_fake  # noqa: F401  (a fixture: discord.py's network edge -> the fake)
from fake_slack import FakeSlack, event_body, message
from fetch_helpers import LocalServer
from run_support import (
    as_environment,
    briefing_updates,
    deliver,
    digest_posts,
    digest_runs,
    drop_database,
    fresh_postgres,  # noqa: F401
    http_get,
    local_site,
    mention,
    run_settings,
    running_in_process,
    seed_a_due_digest,
    site_url,
)
from typer.testing import CliRunner

from bot.brief.extractive import ExtractiveBriefer
from bot.cli import EXIT_CONFIG, app
from bot.config import Settings
from bot.errors import ConfigError
from bot.models import Article, Briefing
from bot.run import CoreFactory, run, startup_report
from bot.wiring import Core, open_core

cli = CliRunner()


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as opened:
        yield opened


@pytest.fixture
async def site() -> AsyncIterator[LocalServer]:
    server = await local_site()
    yield server
    await server.close()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def health_url(settings: Settings, path: str) -> str:
    return f"http://127.0.0.1:{settings.health_port}{path}"


# --- configuration errors: exit 78, one readable message, nothing retried -----------------------------------------


def test_nothing_configured_exits_78_with_what_to_set() -> None:
    result = cli.invoke(app, ["run"])
    assert result.exit_code == EXIT_CONFIG == 78
    assert "Nothing to run" in result.stderr
    assert "BRIEFBOT_SLACK_BOT_TOKEN" in result.stderr and "BRIEFBOT_DISCORD_TOKEN" in result.stderr


def test_incomplete_slack_configuration_exits_78_naming_the_missing_setting(tmp_path: Path) -> None:
    env = {"BRIEFBOT_SLACK_MODE": "http", "BRIEFBOT_SLACK_BOT_TOKEN": "xoxb-1", "BRIEFBOT_DATA_DIR": str(tmp_path)}
    result = cli.invoke(app, ["run"], env=env)
    assert result.exit_code == EXIT_CONFIG
    assert "BRIEFBOT_SLACK_SIGNING_SECRET is required in http mode" in result.stderr


async def test_slack_refusing_the_bot_token_exits_78_after_one_check(fake: FakeSlack, site, tmp_path: Path) -> None:
    values = run_settings(fake, site, tmp_path / "data", slack_bot_token="xoxb-revoked-token")
    # The CLI runs its own event loop: in a thread, while the fake Slack answers on this one.
    result = await asyncio.to_thread(cli.invoke, app, ["run"], env=as_environment(values))
    assert result.exit_code == EXIT_CONFIG, result.output
    assert "Slack refused BRIEFBOT_SLACK_BOT_TOKEN (invalid_auth)" in result.stderr
    assert "xoxb-revoked-token" not in result.output
    assert fake.methods() == ["auth.test"]  # checked once at start-up; no retry loop, nothing posted


def test_startup_report_says_what_runs_and_what_would_enable_the_rest(tmp_path: Path) -> None:
    quiet = startup_report(Settings(data_dir=tmp_path, health_port=0))
    assert quiet[0] == f"database: sqlite+aiosqlite:///{tmp_path.as_posix()}/briefbot.db"
    assert "engine: offline extractive (set BRIEFBOT_LLM_API_KEY or BRIEFBOT_LLM_BASE_URL for an LLM)" in quiet
    assert "slack: off (set BRIEFBOT_SLACK_BOT_TOKEN, or BRIEFBOT_SLACK_CLIENT_ID for OAuth)" in quiet
    assert "discord: off (set BRIEFBOT_DISCORD_TOKEN)" in quiet
    assert "health: off (BRIEFBOT_HEALTH_PORT=0)" in quiet

    busy = startup_report(
        Settings(
            database_url="postgresql://briefbot:s3cret-pw@db:5432/briefbot",
            llm_api_key="sk-test-key-123456789",
            slack_bot_token="xoxb-1",
            slack_mode="http",
            discord_token="token",
            discord_message_content=False,
        )
    )
    assert busy[0] == "database: postgresql://briefbot:***@db:5432/briefbot"
    assert "engine: LLM (gpt-4o-mini) with the offline engine as fallback" in busy
    assert "slack: enabled (http mode)" in busy
    assert "discord: enabled (no Message Content intent)" in busy
    assert "health: /healthz, /readyz and /metrics enabled" in busy
    assert not any("s3cret" in line for line in busy)


# --- Slack HTTP mode: health, readiness, metrics, dedupe, shutdown ------------------------------------------------


async def test_http_mode_serves_events_health_readiness_and_metrics(fake: FakeSlack, site, http, tmp_path) -> None:
    settings = Settings(**run_settings(fake, site, tmp_path / "data"))
    async with running_in_process(settings) as (running, _task):
        slack_port = running.ports["slack"]
        assert running.ports["health"] == settings.health_port
        assert await http_get(http, health_url(settings, "/healthz")) == (200, "ok\n")
        assert await http_get(http, health_url(settings, "/readyz")) == (200, "ready\n")
        status, metrics = await http_get(http, health_url(settings, "/metrics"))
        assert status == 200 and 'briefbot_briefings_total{engine="extractive",origin="new"}' not in metrics

        event = mention(site_url(site, "/night-bus"), ts="1700000000.000100")
        assert await deliver(http, slack_port, event, event_id="Ev1") == 200
        assert await deliver(http, slack_port, event, event_id="Ev1", retry=1) == 200  # Slack's redelivery
        await fake.wait_for(lambda f: len(briefing_updates(f)) == 1)

        _, metrics = await http_get(http, health_url(settings, "/metrics"))
        assert 'briefbot_briefings_total{engine="extractive",origin="new"} 1.0' in metrics
        assert "briefbot_engine_seconds_count" in metrics
    # Stopped: both ports are closed and the work was done once.
    for port in (slack_port, settings.health_port):
        with pytest.raises(aiohttp.ClientConnectionError):
            await http_get(http, f"http://127.0.0.1:{port}/healthz")
    assert len(fake.called("chat.postMessage")) == 1 and len(briefing_updates(fake)) == 1
    assert len(fake.called("auth.test")) == 1  # the start-up check's result is shared with every request


class GatedBriefer:
    """The offline engine, held at `gate` until the test opens it: a briefing in progress, for as long as needed."""

    name = "extractive"

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.gate = asyncio.Event()
        self._engine = ExtractiveBriefer()

    async def brief(self, article: Article) -> Briefing:
        self.entered.set()
        await self.gate.wait()
        return await self._engine.brief(article)


def with_briefer(briefer: GatedBriefer) -> CoreFactory:
    """A core factory: the real core, with `briefer` as its engine."""

    @asynccontextmanager
    async def factory(settings: Settings) -> AsyncIterator[Core]:
        async with open_core(settings) as core:
            core.service.briefer = briefer
            yield core

    return factory


async def test_stop_closes_the_intake_then_lets_the_briefing_in_progress_post(
    fake: FakeSlack, site, http, tmp_path: Path
) -> None:
    settings = Settings(**run_settings(fake, site, tmp_path / "data"))
    briefer = GatedBriefer()
    async with running_in_process(settings, core_factory=with_briefer(briefer)) as (running, task):
        port = running.ports["slack"]
        event = mention(site_url(site, "/library"), ts="1700000000.000200")
        assert await deliver(http, port, event, event_id="Ev2") == 200
        await briefer.entered.wait()  # acknowledged, placeholder posted, engine running
        (placeholder,) = await fake.wait_calls("chat.postMessage")

        running.stop.set()  # what SIGTERM does
        await wait_until_closed(port)  # the listener closes first: Slack retries new events elsewhere
        status, body = await http_get(http, health_url(settings, "/readyz"))
        assert (status, body) == (503, "not ready\nprocess: stopping\n")
        assert not task.done()  # still draining: the briefing has not been posted yet
        assert briefing_updates(fake) == []

        briefer.gate.set()
    (update,) = briefing_updates(fake)
    assert update.params["ts"] == placeholder.response["ts"]
    assert "Eastgate" in update.params["text"]


class GatedSlack(FakeSlack):
    """The fake Slack, holding every digest post at `gate` (and saying so with `held`)."""

    def __init__(self) -> None:
        super().__init__()
        self.gate, self.held = asyncio.Event(), asyncio.Event()

    async def _api(self, request: web.Request) -> web.Response:
        posting = request.match_info["method"] == "chat.postMessage"
        if posting and str((await self._params(request)).get("text", "")).startswith("Digest"):
            self.held.set()
            await self.gate.wait()
        return await super()._api(request)


async def wait_until_closed(port: int) -> None:
    """Until nothing accepts connections on `port` any more (new connections: a kept-alive one could linger)."""
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            return
        writer.close()
        await writer.wait_closed()
        await asyncio.sleep(0.05)


async def test_stop_lets_a_digest_in_progress_post_and_be_recorded(site, http, tmp_path: Path) -> None:
    # Cut off between Slack's answer and `mark_posted`, the claim would go stale and the digest be sent again.
    async with GatedSlack() as fake:
        settings = Settings(**run_settings(fake, site, tmp_path / "data"))
        database = settings.resolved_database_url
        await seed_a_due_digest(database, settings, site_url(site, "/night-bus"), site_url(site, "/feed.xml"))
        async with running_in_process(settings) as (running, task):
            try:
                await fake.held.wait()  # the start-up sweep is posting the digest
                running.stop.set()
                await wait_until_closed(running.ports["slack"])  # the shutdown is under way...
                assert not task.done()  # ...and waits for the digest run
            finally:
                fake.gate.set()
        (digest,) = digest_posts(fake)
    assert await digest_runs(database) == [("C1", "posted", False, digest.response["ts"])]


async def test_readiness_fails_when_the_database_goes_away(
    fake: FakeSlack, site, http, tmp_path: Path, fresh_postgres: str
) -> None:
    settings = Settings(**run_settings(fake, site, tmp_path / "data", database_url=fresh_postgres))
    async with running_in_process(settings):
        assert await http_get(http, health_url(settings, "/readyz")) == (200, "ready\n")
        await drop_database(fresh_postgres)
        status, body = await http_get(http, health_url(settings, "/readyz"))
        assert status == 503
        assert body.startswith("not ready\ndatabase: ")
        assert "slack" not in body  # the adapter itself is fine
        assert await http_get(http, health_url(settings, "/healthz")) == (200, "ok\n")  # alive, just not ready


# --- Socket Mode ---------------------------------------------------------------------------------------------------


async def test_socket_mode_connects_acks_and_briefs(fake: FakeSlack, site, http, tmp_path: Path) -> None:
    values = run_settings(fake, site, tmp_path / "data", slack_mode="socket", slack_app_token="xapp-test")
    settings = Settings(**values)
    async with running_in_process(settings) as (running, _task):
        assert "slack" not in running.ports  # nothing listens: the bot connects out
        await fake.wait_calls("socket_connected")
        body = event_body(message(f"<{site_url(site, '/night-bus')}>", ts="1700000000.000300"), event_id="EvS")
        await fake.socket_send({"envelope_id": "env-1", "type": "events_api", "payload": body})
        await fake.wait_for(lambda f: len(briefing_updates(f)) == 1)
        assert {"envelope_id": "env-1"} in fake.socket_acks
        assert await http_get(http, health_url(settings, "/readyz")) == (200, "ready\n")


async def test_socket_mode_readiness_follows_the_connection(fake: FakeSlack, site, http, tmp_path: Path) -> None:
    # Ready means connected, not merely started: while Slack is unreachable, /readyz says the adapter is connecting
    # (the process stays alive and the SDK keeps trying).
    values = run_settings(fake, site, tmp_path / "data", slack_mode="socket", slack_app_token="xapp-test")
    settings = Settings(**values)
    async with running_in_process(settings) as (_running, task):
        await fake.wait_calls("socket_connected")
        assert await http_get(http, health_url(settings, "/readyz")) == (200, "ready\n")
        fake.refuse_sockets = True
        await fake.socket_drop()
        for _ in range(200):
            status, body = await http_get(http, health_url(settings, "/readyz"))
            if status == 503:
                break
            await asyncio.sleep(0.05)
        assert (status, body) == (503, "not ready\nslack: connecting\n")
        assert await http_get(http, health_url(settings, "/healthz")) == (200, "ok\n")
        assert not task.done()


# --- Discord --------------------------------------------------------------------------------------------------------


async def test_discord_is_ready_once_its_gateway_is_and_closes_on_stop(
    discord_fake: FakeDiscord, site, http, tmp_path: Path
) -> None:
    values = run_settings(None, site, tmp_path / "data", discord_token="fake-token")
    settings = Settings(**values)
    async with running_in_process(settings) as (running, task):
        assert [a.name for a in running.adapters] == ["discord"]
        await discord_fake.wait_for(lambda: discord_fake.identify)
        for _ in range(600):  # "discord: connecting" until READY has been processed
            if (await http_get(http, health_url(settings, "/readyz")))[0] == 200:
                break
            await asyncio.sleep(0.05)
        assert await http_get(http, health_url(settings, "/readyz")) == (200, "ready\n")
    assert task.done() and task.exception() is None


async def test_discord_refusing_the_token_ends_the_run_with_a_config_error(
    discord_fake: FakeDiscord, site, tmp_path: Path
) -> None:
    # The refusal happens in the gateway task after start-up; `run` must end with it (exit 78), not hang or exit 0.
    discord_fake.login_status = 401
    values = run_settings(None, site, tmp_path / "data", discord_token="fake-token")
    with pytest.raises(ConfigError, match="BRIEFBOT_DISCORD_TOKEN"):
        await asyncio.wait_for(run(Settings(**values)), 30)
    assert len(discord_fake.sent("GET", r"^/users/@me$")) == 1  # one login attempt, no loop


async def test_run_without_platforms_raises_config_error_before_opening_anything(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="Nothing to run"):
        await run(Settings(data_dir=tmp_path / "data"))
    assert not (tmp_path / "data").exists()  # no database was created
