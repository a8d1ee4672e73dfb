"""Fixtures for the storage tests: one SQLite file per test; on PostgreSQL, one database per session and a fresh
schema per test (dropped and recreated for `db_url`; truncated when already at the latest revision for `migrated_url`).

The PostgreSQL server comes from `BRIEFBOT_TEST_POSTGRES_URL` (default `postgresql+asyncpg://postgres@127.0.0.1:5432/
test`). It is read when this module is imported, i.e. at collection, before conftest's autouse fixture strips every
`BRIEFBOT_*` variable. The server is used only to create (and finally drop) a uniquely named database. Outside CI the
PostgreSQL variants skip when no server answers; with `CI=true` they fail instead, so CI cannot silently lose them.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import func, inspect, select
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.models import Article, Briefing, SourceInfo, Usage
from bot.store import Store, upgrade_database
from bot.store.db import MIGRATIONS_DIR
from bot.store.tables import Base

POSTGRES_URL = make_url(
    os.environ.get("BRIEFBOT_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
).set(drivername="postgresql+asyncpg")
IN_CI = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}
BACKENDS = ["sqlite", "postgresql"]
HEAD = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
APP_TABLES = [table.name for table in Base.metadata.sorted_tables]
T = TypeVar("T")


def make_article(text: str = "First paragraph.\n\nSecond paragraph.", url: str | None = None) -> Article:
    return Article(url=url, title="A title", text=text, word_count=len(text.split()))


def make_briefing(tldr: str = "Short.", engine: str = "extractive", prompt_version: str | None = None) -> Briefing:
    return Briefing(
        tldr=tldr,
        key_points=[],
        quotes=[],
        implications=[],
        source=SourceInfo(title="A title"),
        engine=engine,
        prompt_version=prompt_version,
        usage=Usage(prompt_tokens=10, completion_tokens=5, calls=1, cost_usd=0.001),
    )


async def table_names(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))


async def count(engine: AsyncEngine, table: type[Base]) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(table)) or 0)


class FakeClock:
    """A settable clock for `Store.open(clock=...)`: stale claims and usage windows without sleeping."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 30, 7, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def _in_thread(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion on a thread with its own event loop (sync fixtures must not touch the test's)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


async def _connect(url: URL) -> asyncpg.Connection:
    return await asyncpg.connect(url.set(drivername="postgresql").render_as_string(hide_password=False), timeout=3)


async def _execute(url: URL, *statements: str) -> None:
    """Run admin SQL with plain asyncpg."""
    conn = await _connect(url)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


async def _empty_migrated_postgres(url: URL) -> None:
    # Re-running the migration costs ~0.3 s a test and TRUNCATE ~0.2 s (it fsyncs new files); deleting the few rows a
    # test leaves is near free. A schema not at the head revision (left by a migration test) is rebuilt instead.
    conn = await _connect(url)
    try:
        try:
            version = await conn.fetchval("SELECT version_num FROM alembic_version")
        except asyncpg.UndefinedTableError:
            version = None
        if version == HEAD:
            async with conn.transaction():
                for name in reversed(APP_TABLES):  # children first
                    await conn.execute(f"DELETE FROM {name}")
            return
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    finally:
        await conn.close()
    await upgrade_database(url.render_as_string(hide_password=False))


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[URL]:
    """A database created for this test session (unique name) and dropped at its end."""
    name = f"briefbot_test_{os.getpid()}_{secrets.token_hex(4)}"
    try:
        _in_thread(_execute(POSTGRES_URL, f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        where = POSTGRES_URL.render_as_string(hide_password=True)
        message = f"PostgreSQL at {where} is unavailable ({exc.__class__.__name__}: {exc})"
        if IN_CI:
            pytest.fail(message + "; CI must run the PostgreSQL tests", pytrace=False)
        pytest.skip(message)
    yield POSTGRES_URL.set(database=name)
    _in_thread(_execute(POSTGRES_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{(tmp_path / 'data' / 'briefbot.db').as_posix()}"


@pytest.fixture
def db_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database (no tables): a new SQLite file, or the session's PostgreSQL database with a new schema."""
    if backend == "sqlite":
        return _sqlite_url(tmp_path)
    database: URL = request.getfixturevalue("postgres_database")
    _in_thread(_execute(database, "DROP SCHEMA public CASCADE", "CREATE SCHEMA public"))
    return database.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once per session; copying it is much faster than migrating every test's database."""
    path = tmp_path_factory.mktemp("template") / "briefbot.db"
    _in_thread(upgrade_database(f"sqlite+aiosqlite:///{path.as_posix()}"))
    return path


@pytest.fixture
def migrated_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database at the latest revision with no rows in any table."""
    if backend == "sqlite":
        target = tmp_path / "data" / "briefbot.db"
        target.parent.mkdir()
        shutil.copyfile(request.getfixturevalue("sqlite_template"), target)
        return f"sqlite+aiosqlite:///{target.as_posix()}"
    database: URL = request.getfixturevalue("postgres_database")
    _in_thread(_empty_migrated_postgres(database))
    return database.render_as_string(hide_password=False)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def store(migrated_url: str, clock: FakeClock) -> AsyncIterator[Store]:
    """A store on a migrated, empty database, driven by `clock` (migrating on open is covered by its own tests)."""
    async with await Store.open(migrated_url, clock=clock, migrate=False) as opened:
        yield opened
