"""Engines, migrations and the `Store` facade the service layer holds.

SQLite (aiosqlite, a file under the data dir) is the default; PostgreSQL (asyncpg) is chosen by URL. `Store.open`
brings the schema to the latest revision itself, so a new deployment needs no separate migration step;
`upgrade_database` does the same for `briefbot db upgrade`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool

from bot.errors import ConfigError
from bot.store._base import Clock
from bot.store.articles import ArticleRepository, BriefingRepository
from bot.store.digests import DigestRepository
from bot.store.events import EventRepository
from bot.store.feeds import FeedItemRepository, SubscriptionRepository
from bot.store.settings import SettingsRepository
from bot.store.threads import MessageRepository, ThreadRepository
from bot.store.types import utcnow
from bot.store.usage import UsageRepository

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT = 15.0  # seconds a SQLite writer waits for the lock before "database is locked"
_PG_MIGRATION_LOCK = 0x62726966  # pg_advisory_xact_lock key ("brif"): replicas starting together migrate in turn


def normalize_url(url: str) -> URL:
    """Parse a database URL, adding the async driver when omitted (`sqlite:///x.db`, `postgresql://...`)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError("BRIEFBOT_DATABASE_URL is not a valid database URL.") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite")
    if backend in {"postgresql", "postgres"}:
        return parsed.set(drivername="postgresql+asyncpg")
    raise ConfigError(f"Unsupported database {backend!r}: use a sqlite:/// or postgresql:// URL.")


def _is_memory(url: URL) -> bool:
    return url.database in {None, "", ":memory:"} or "mode=memory" in str(url)


def _on_sqlite_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # WAL lets readers work while one writer writes; foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode")
        if str(cursor.fetchone()[0]).lower() != "wal":
            _enable_wal(cursor)
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def _enable_wal(cursor: Any) -> None:
    """Switch a new database file to WAL (the mode is stored in the file, so this happens once). Two processes
    opening a brand-new file at once race for it: SQLite refuses the loser at once ("database is locked", no busy
    wait, to avoid a deadlock while the winner migrates); the loser goes on in the default journal mode, and a later
    connection finds the file in WAL."""
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
    except Exception as exc:  # the driver's OperationalError, wrapped differently by each adapter
        if "locked" not in str(exc).lower():
            raise
        log.debug("SQLite journal mode left as is for this connection: %s", exc)


def create_engine(url: str, **options: Any) -> AsyncEngine:
    """An async engine for `url`, configured for briefbot (SQLite pragmas and lock timeout, PostgreSQL pre-ping).

    For a SQLite file, the directory holding it is created. `options` go to SQLAlchemy's `create_async_engine`.
    """
    parsed = normalize_url(url)
    sqlite = parsed.get_backend_name() == "sqlite"
    if not sqlite:
        options.setdefault("pool_pre_ping", True)  # survive server restarts and idle-connection reaping
    elif _is_memory(parsed):
        options.setdefault("poolclass", StaticPool)  # every connection to ":memory:" is a new database: share one
    elif parsed.database:
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    if sqlite:
        options.setdefault("connect_args", {}).setdefault("timeout", SQLITE_BUSY_TIMEOUT)
    try:
        engine = create_async_engine(parsed, **options)
    except ModuleNotFoundError as exc:
        raise ConfigError(
            f"The database driver {exc.name!r} is not installed (PostgreSQL needs asyncpg, SQLite needs aiosqlite)."
        ) from None
    if sqlite:
        event.listen(engine.sync_engine, "connect", _on_sqlite_connect)
    return engine


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic configuration pointing at the migrations packaged in `bot.store` (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # env.py runs on this connection instead of opening its own (and calling asyncio.run inside our event loop).
    config.attributes["connection"] = connection
    return config


def _migrate(connection: Connection, action: Callable[[Config], None]) -> None:
    """Run an Alembic command on `connection`, in one transaction, one migrator at a time."""
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # Batch migrations copy and drop tables; with foreign keys on, a DROP would cascade-delete child rows.
        # The pragma is ignored inside a transaction, so it is set first and restored after commit.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    try:
        if sqlite:
            connection.exec_driver_sql("BEGIN IMMEDIATE")  # take the write lock now: concurrent migrators queue here
        else:
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
        _check_not_ahead(connection)
        action(alembic_config(connection))
        if sqlite:
            problems = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if problems:
                raise RuntimeError(f"migration left rows violating foreign keys: {problems[:5]}")
        connection.commit()
    except BaseException:
        connection.rollback()
        raise
    finally:
        if sqlite:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()


def _check_not_ahead(connection: Connection) -> None:
    # A database migrated by a newer release would otherwise fail deep inside Alembic with "Can't locate revision".
    known = {script.revision for script in ScriptDirectory(str(MIGRATIONS_DIR)).walk_revisions()}
    unknown = [rev for rev in MigrationContext.configure(connection).get_current_heads() if rev not in known]
    if unknown:
        raise ConfigError(f"The database schema ({', '.join(unknown)}) is newer than this briefbot: upgrade briefbot.")


async def _run_migration(url: str, action: Callable[[Config], None]) -> None:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            await conn.run_sync(_migrate, action)
    finally:
        await engine.dispose()


async def upgrade_database(url: str, revision: str = "head") -> None:
    """Migrate the database at `url` up to `revision` (default: the latest). Safe to run repeatedly and concurrently."""
    await _run_migration(url, lambda config: command.upgrade(config, revision))


async def downgrade_database(url: str, revision: str) -> None:
    """Migrate the database at `url` down to `revision` (`"base"` removes every table)."""
    await _run_migration(url, lambda config: command.downgrade(config, revision))


async def database_revision(url: str) -> str | None:
    """The revision the database at `url` is at (None for an empty database)."""
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(lambda sync: MigrationContext.configure(sync).get_current_revision())
    finally:
        await engine.dispose()


class Store:
    """The storage facade: one repository per aggregate over one engine. Open with `Store.open`, end with `close`."""

    def __init__(self, engine: AsyncEngine, *, clock: Clock = utcnow) -> None:
        self.engine = engine
        self.articles = ArticleRepository(engine, clock)
        self.briefings = BriefingRepository(engine, clock)
        self.threads = ThreadRepository(engine, clock)
        self.messages = MessageRepository(engine, clock)
        self.events = EventRepository(engine, clock)
        self.subscriptions = SubscriptionRepository(engine, clock)
        self.feed_items = FeedItemRepository(engine, clock)
        self.settings = SettingsRepository(engine, clock)
        self.digests = DigestRepository(engine, clock)
        self.usage = UsageRepository(engine, clock)

    @classmethod
    async def open(cls, url: str, *, migrate: bool = True, clock: Clock = utcnow, **engine_options: Any) -> Self:
        """Connect to `url` and, unless `migrate` is False, upgrade the schema to the latest revision first.

        Migrations run on the store's own engine via `run_sync`, so this is safe inside a running event loop.
        """
        engine = create_engine(url, **engine_options)
        try:
            if migrate:
                async with engine.connect() as conn:
                    await conn.run_sync(_migrate, lambda config: command.upgrade(config, "head"))
        except BaseException:
            await engine.dispose()
            raise
        return cls(engine, clock=clock)

    async def close(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()
