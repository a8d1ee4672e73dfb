"""Exactly-once processing of platform deliveries: the first caller to claim an event or a message gets True."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete

from bot.store._base import Repository
from bot.store.tables import ProcessedEventRow, ProcessedMessageRow


class EventRepository(Repository):
    """Claims on delivery ids. A claim is atomic in the database, so it holds across tasks, processes and replicas."""

    async def claim_event(self, platform: str, workspace: str, event_id: str) -> bool:
        """True only for the first caller with this (platform, workspace, event id): Slack retries and replays."""
        return await self._claim(ProcessedEventRow, platform=platform, workspace=workspace, event_id=event_id)

    async def claim_message(self, platform: str, channel: str, message_id: str) -> bool:
        """True only for the first caller with this (platform, channel, message id).

        Slack delivers a mention as both `message` and `app_mention`, and a Discord gateway RESUME replays messages:
        keying the work on the message makes both harmless.
        """
        return await self._claim(ProcessedMessageRow, platform=platform, channel=channel, message_id=message_id)

    async def prune(self, before: datetime) -> int:
        """Forget claims older than `before` (platforms stop retrying after minutes); return how many were removed."""
        removed = 0
        async with self._engine.begin() as conn:
            for table in (ProcessedEventRow, ProcessedMessageRow):
                result = await conn.execute(delete(table).where(table.created_at < before))
                removed += result.rowcount
        return removed

    async def _claim(self, table: type[ProcessedEventRow] | type[ProcessedMessageRow], **key: str) -> bool:
        # The primary key is the claim: ON CONFLICT DO NOTHING inserts for exactly one of any number of racers.
        stmt = self._insert(table).values(**key, created_at=self._now()).on_conflict_do_nothing()
        async with self._engine.begin() as conn:
            result = await conn.execute(stmt)
        return result.rowcount == 1
