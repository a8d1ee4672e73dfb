"""What every repository shares: the engine, the clock and the dialect's `INSERT ... ON CONFLICT`.

Each public repository method is one short transaction on its own connection, so the service layer never manages
sessions and concurrent tasks never share one. Races are settled by unique constraints: a write method starts with
its conflicting INSERT/UPDATE and reads afterwards. That order matters on SQLite, where a transaction that reads first
and then writes can fail with SQLITE_BUSY without waiting, while one whose first statement writes waits for the lock.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

Clock = Callable[[], datetime]
DialectInsert = postgresql.Insert | sqlite.Insert


class Repository:
    """Base class: holds the engine and the clock (injectable, so tests can move time)."""

    def __init__(self, engine: AsyncEngine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock
        self._postgres = engine.dialect.name == "postgresql"

    def _insert(self, table: Any) -> DialectInsert:
        """A dialect-specific INSERT, which has `on_conflict_do_nothing` / `on_conflict_do_update`."""
        return postgresql.insert(table) if self._postgres else sqlite.insert(table)

    def _now(self) -> datetime:
        return self._clock()
