"""Helpers for the `briefbot run` tests: a local site, settings for the fakes, `run()` in this process, `briefbot run`
in a child process (a replica), signed Slack deliveries and a fresh PostgreSQL database per test.

Everything listens on 127.0.0.1. The bot's real fetcher reaches the local site because the settings allow exactly
127.0.0.1/32 and the site's port (`BRIEFBOT_FETCH_ALLOW`, `BRIEFBOT_FETCH_EXTRA_PORTS`), and the article URLs are
`http://127.0.0.1:PORT/...`: no name is ever resolved, so nothing leaves the machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import secrets
import signal
import socket
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from fake_slack import LIBRARY, NIGHT_BUS, FakeSlack, event_body, message, page, sign
from fetch_helpers import LocalServer, Reply
from sqlalchemy import text
from sqlalchemy.engine import make_url
from store_support import IN_CI, POSTGRES_URL, _execute, _in_thread

from bot.brief.extractive import ExtractiveBriefer
from bot.config import Settings
from bot.ingest.fetch import FetchPolicy, SafeFetcher
from bot.ingest.urls import normalize_url
from bot.run import Running, run
from bot.service import Place, Service, Source
from bot.store import ChannelKey, Store

SECRET = "run-test-signing-secret"
EMPTY_FEED = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Quiet feed</title><link>http://127.0.0.1/</link></channel></rss>"""
DIGEST_CHANNEL = ChannelKey("slack", "T1", "C1")
EVERY_DAY = "mon,tue,wed,thu,fri,sat,sun"
LISTENING = re.compile(r"(slack|health): listening on http://[^:]+:(\d+)")


def free_port() -> int:
    """A port nothing listens on right now (for the health server, where port 0 means "off")."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def local_site() -> LocalServer:
    """The web the bot reads: two articles and an empty feed."""
    site = LocalServer()
    await site.start()
    site.routes["/night-bus"] = Reply(body=page("Millbrook approves night bus pilot", NIGHT_BUS))
    site.routes["/library"] = Reply(body=page("Eastgate library reopens", LIBRARY))
    site.routes["/feed.xml"] = Reply(headers=[("Content-Type", "application/rss+xml")], body=EMPTY_FEED)
    return site


def site_url(site: LocalServer, path: str) -> str:
    return f"http://127.0.0.1:{site.port}{path}"


def run_settings(fake: FakeSlack | None, site: LocalServer, data_dir: Path, **overrides: Any) -> dict[str, Any]:
    """`briefbot run` against the fakes (Slack in HTTP mode, unless `fake` is None), as Settings field values."""
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "health_host": "127.0.0.1",
        "health_port": free_port(),
        "fetch_allow": ["127.0.0.1/32"],
        "fetch_extra_ports": [site.port],
    }
    if fake is not None:
        values |= {
            "slack_mode": "http",
            "slack_bot_token": "xoxb-test",
            "slack_signing_secret": SECRET,
            "slack_api_url": fake.api_url,
            "slack_http_host": "127.0.0.1",
            "slack_http_port": 0,
        }
    return values | overrides


def as_environment(values: dict[str, Any]) -> dict[str, str]:
    """Settings values as the BRIEFBOT_* variables a child process reads."""
    env = {}
    for name, value in values.items():
        text = ",".join(map(str, value)) if isinstance(value, list) else str(value)
        env[f"BRIEFBOT_{name.upper()}"] = text
    return env


@contextlib.asynccontextmanager
async def running_in_process(settings: Settings, **options: Any) -> AsyncIterator[tuple[Running, asyncio.Task[None]]]:
    """`run(settings)` as a task of this loop; yields once everything listens, stops it (and awaits it) at the end."""
    stop = asyncio.Event()
    started: asyncio.Future[Running] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(run(settings, stop=stop, on_started=started.set_result, **options))
    done, _ = await asyncio.wait({task, started}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        task.result()  # start-up failed: raise its error here
    assert started in done, "run() did not start within 30 s"
    try:
        yield started.result(), task
    finally:
        stop.set()
        await asyncio.wait_for(task, 60)


async def deliver(
    http: aiohttp.ClientSession, port: int, event: dict[str, Any], *, event_id: str, retry: int | None = None
) -> int:
    """POST a signed Events API callback to a replica's Slack port; the HTTP status."""
    body = json.dumps(event_body(event, event_id=event_id))
    headers = {"Content-Type": "application/json", **sign(SECRET, body)}
    if retry is not None:
        headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
    async with http.post(f"http://127.0.0.1:{port}/slack/events", data=body.encode(), headers=headers) as response:
        return response.status


def mention(url: str, ts: str, *, kind: str = "message") -> dict[str, Any]:
    """A user message linking `url` in channel C1 (as `message` or as `app_mention`)."""
    return message(f"<@UBOT> brief <{url}>", ts=ts, kind=kind)


async def http_get(http: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    async with http.get(url) as response:
        return response.status, await response.text()


def briefing_updates(fake: FakeSlack) -> list[Any]:
    """The placeholders replaced by a briefing (a header block), not by an error notice."""
    return [c for c in fake.called("chat.update") if (c.params.get("blocks") or [{}])[0].get("type") == "header"]


def digest_posts(fake: FakeSlack) -> list[Any]:
    return [c for c in fake.called("chat.postMessage") if str(c.params.get("text", "")).startswith("Digest")]


async def seed_a_due_digest(database_url: str, settings: Settings, article_url: str, feed_url: str) -> None:
    """Channel C1 with a briefed link in a thread (the digest's story), a feed, and a digest slot two minutes ago."""
    async with await Store.open(database_url) as store, SafeFetcher(FetchPolicy.from_settings(settings)) as fetcher:
        service = Service(store=store, fetcher=fetcher, briefer=ExtractiveBriefer())
        await service.brief(Source.link(article_url), Place(DIGEST_CHANNEL, "1700000000.000001", "U1"))
        await store.subscriptions.add(DIGEST_CHANNEL, normalize_url(feed_url), title="Quiet feed")
        slot = datetime.now(UTC) - timedelta(minutes=2)
        await store.settings.update(DIGEST_CHANNEL, digest_time=f"{slot:%H:%M}", timezone="UTC", digest_days=EVERY_DAY)


async def digest_runs(database_url: str) -> list[tuple[str, str, bool, str | None]]:
    async with await Store.open(database_url, migrate=False) as store, store.engine.connect() as conn:
        rows = await conn.execute(text("SELECT channel, state, recovered, message_ref FROM digest_runs"))
        return [(row.channel, row.state, row.recovered, row.message_ref) for row in rows]


# --- replicas: `briefbot run` in child processes -------------------------------------------------------------------


@dataclass
class Replica:
    """One `briefbot run` child process; its log lines are collected as they come (a full pipe would block it)."""

    name: str
    process: asyncio.subprocess.Process
    lines: list[str] = field(default_factory=list)
    ports: dict[str, int] = field(default_factory=dict)
    _listening: asyncio.Event = field(default_factory=asyncio.Event)
    _reader: asyncio.Task[None] | None = None

    @classmethod
    async def start(cls, name: str, env: dict[str, str], cwd: Path) -> Replica:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=cwd,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,  # the log: one stream, in order
        )
        replica = cls(name, process)
        replica._reader = asyncio.create_task(replica._read())
        return replica

    async def _read(self) -> None:
        assert self.process.stdout is not None
        async for raw in self.process.stdout:
            line = raw.decode(errors="replace").rstrip()
            self.lines.append(line)
            if found := LISTENING.search(line):
                self.ports[found.group(1)] = int(found.group(2))
            if "running: " in line:
                self._listening.set()
        self._listening.set()  # the process ended: stop waiting

    async def ready(self, timeout: float = 60) -> None:  # noqa: ASYNC109
        """Wait until the replica listens (its "running:" log line)."""
        await asyncio.wait_for(self._listening.wait(), timeout)
        if self.process.returncode is not None or "slack" not in self.ports:
            raise AssertionError(f"{self.name} did not start:\n" + self.log())

    async def stop(self, timeout: float = 60) -> int:  # noqa: ASYNC109
        """SIGTERM, as a service manager stops it; the exit status."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(self.process.wait(), timeout)
        if self._reader is not None:
            await self._reader
        return code

    def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()

    def log(self) -> str:
        return "\n".join(self.lines[-60:])


def child_environment(values: dict[str, Any]) -> dict[str, str]:
    """This process's environment without any BRIEFBOT_* setting, plus `values` (and no colour codes in logs)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BRIEFBOT_")}
    return env | as_environment(values) | {"NO_COLOR": "1", "PYTHONUNBUFFERED": "1"}


# --- PostgreSQL: a database of one's own ---------------------------------------------------------------------------


@pytest.fixture
def fresh_postgres() -> Iterator[str]:
    """A new, empty PostgreSQL database for one test (dropped after it), as an asyncpg URL.

    Skips without a server, except in CI (CI=true), where the test fails instead: CI must run it."""
    name = f"briefbot_run_{os.getpid()}_{secrets.token_hex(4)}"
    try:
        _in_thread(_execute(POSTGRES_URL, f'CREATE DATABASE "{name}"'))
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        message_ = f"PostgreSQL at {POSTGRES_URL.render_as_string(hide_password=True)} is unavailable ({exc!r})"
        if IN_CI:
            pytest.fail(message_ + "; CI must run the PostgreSQL tests", pytrace=False)
        pytest.skip(message_)
    yield POSTGRES_URL.set(database=name).render_as_string(hide_password=False)
    _in_thread(_execute(POSTGRES_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def drop_database(url: str) -> None:
    """Drop the database at `url` now, cutting its connections (a database that went away)."""
    parsed = make_url(url)
    await _execute(POSTGRES_URL, f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')


__all__ = [
    "LIBRARY",
    "NIGHT_BUS",
    "SECRET",
    "Replica",
    "as_environment",
    "briefing_updates",
    "child_environment",
    "deliver",
    "digest_posts",
    "digest_runs",
    "drop_database",
    "free_port",
    "fresh_postgres",
    "http_get",
    "local_site",
    "mention",
    "run_settings",
    "running_in_process",
    "seed_a_due_digest",
    "site_url",
]
