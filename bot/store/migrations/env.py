"""Alembic environment for briefbot, async-aware.

The app runs migrations through `bot.store.db`, which passes an open connection in `config.attributes["connection"]`
(from `AsyncConnection.run_sync`): no nested event loop. The Alembic CLI, used by developers for
`alembic revision --autogenerate`, passes none; then this file opens an async engine itself, for `sqlalchemy.url` or
else the database configured in the environment (`BRIEFBOT_DATABASE_URL`, default SQLite under the data dir).
"""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import context
from sqlalchemy.engine import Connection

from bot.store.tables import Base

config = context.config
target_metadata = Base.metadata


def _configure(**options: Any) -> None:
    # Batch mode renders ALTERs SQLite can run (copy-and-move) and is plain ALTER TABLE elsewhere.
    context.configure(target_metadata=target_metadata, render_as_batch=True, compare_type=True, **options)


def _database_url() -> str:
    # An alembic.ini is optional (pyproject's [tool.alembic] is enough); without one there is no main section to read.
    if config.file_config.has_section(config.config_ini_section):
        url = config.get_main_option("sqlalchemy.url")
        if url:
            return url
    from bot.config import load_settings

    return load_settings().resolved_database_url


def do_run_migrations(connection: Connection) -> None:
    _configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


async def _run_with_own_engine() -> None:
    from bot.store.db import create_engine

    engine = create_engine(_database_url())
    try:
        async with engine.connect() as connection:
            await connection.run_sync(do_run_migrations)
            await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    _configure(url=_database_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()
elif (shared := config.attributes.get("connection")) is not None:
    do_run_migrations(shared)
else:
    asyncio.run(_run_with_own_engine())
