"""Per-channel settings: defaults until a channel changes something, then one row per channel."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from sqlalchemy import select

from bot.store._base import Repository
from bot.store.records import ChannelKey, ChannelSettings
from bot.store.tables import ChannelSettingsRow

_FIELDS = tuple(ChannelSettings.model_fields)


class SettingsRepository(Repository):
    """Reads return defaults for unknown channels without writing; updates are partial and atomic."""

    async def get(self, channel: ChannelKey) -> ChannelSettings:
        """The channel's settings (the defaults when it never changed any)."""
        query = select(*(getattr(ChannelSettingsRow, name) for name in _FIELDS)).where(
            ChannelSettingsRow.platform == channel.platform,
            ChannelSettingsRow.workspace == channel.workspace,
            ChannelSettingsRow.channel == channel.channel,
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return ChannelSettings.model_validate(row._asdict()) if row is not None else ChannelSettings()

    async def update(self, channel: ChannelKey, **changes: Any) -> ChannelSettings:
        """Change some settings of a channel and return all of them.

        Only the named fields are written (one upsert), so two admins changing different settings at once both win.
        Raises `ValueError` with a one-line, user-readable reason for an unknown field or an invalid value.
        """
        # Validating the changes over the defaults checks each changed field; the others are not touched.
        try:
            validated = ChannelSettings(**changes)
        except ValidationError as exc:
            reasons = [f"{'.'.join(map(str, err['loc'])) or 'settings'}: {err['msg']}" for err in exc.errors()]
            raise ValueError("; ".join(reasons)) from None
        changed = {name: getattr(validated, name) for name in changes}
        now = self._now()
        key = {"platform": channel.platform, "workspace": channel.workspace, "channel": channel.channel}
        stmt = (
            self._insert(ChannelSettingsRow)
            .values(**key, **validated.model_dump(), updated_at=now)
            .on_conflict_do_update(index_elements=list(key), set_={**changed, "updated_at": now})
        )
        async with self._engine.begin() as conn:
            await conn.execute(stmt)
        return await self.get(channel)
