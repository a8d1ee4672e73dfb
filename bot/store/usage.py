"""Per-request token and cost records, and the sums quotas are checked against."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from bot.models import Usage
from bot.store._base import Repository
from bot.store.records import ChannelKey, UsageTotals
from bot.store.tables import UsageRow


class UsageRepository(Repository):
    """Append-only usage log; sums are computed on demand over indexed (scope, created_at) ranges."""

    async def record(self, channel: ChannelKey, *, user: str | None, engine: str, usage: Usage) -> None:
        """Record one request's usage (a briefing or an answer) made in `channel` for `user`."""
        values = {
            "platform": channel.platform,
            "workspace": channel.workspace,
            "channel": channel.channel,
            "user_id": user,
            "engine": engine,
            "calls": usage.calls,
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens,
            "cost_usd": usage.cost_usd,
            "created_at": self._now(),
        }
        async with self._engine.begin() as conn:
            await conn.execute(self._insert(UsageRow).values(values))

    async def sum_since(
        self,
        platform: str,
        workspace: str,
        since: datetime,
        *,
        channel: str | None = None,
        user: str | None = None,
    ) -> UsageTotals:
        """Usage recorded at or after `since` in a workspace, narrowed to one channel and/or one user when given.

        Quotas call this per user, per channel and per workspace (e.g. `since` = the start of today in UTC).
        """
        conditions = [UsageRow.platform == platform, UsageRow.workspace == workspace, UsageRow.created_at >= since]
        if channel is not None:
            conditions.append(UsageRow.channel == channel)
        if user is not None:
            conditions.append(UsageRow.user_id == user)
        query = select(
            func.count(),
            func.coalesce(func.sum(UsageRow.calls), 0),
            func.coalesce(func.sum(UsageRow.prompt_tokens), 0),
            func.coalesce(func.sum(UsageRow.completion_tokens), 0),
            func.coalesce(func.sum(UsageRow.cost_usd), 0.0),
        ).where(*conditions)
        async with self._engine.connect() as conn:
            requests, calls, prompt, completion, cost = (await conn.execute(query)).one()
        return UsageTotals(
            requests=int(requests),
            calls=int(calls),
            prompt_tokens=int(prompt),
            completion_tokens=int(completion),
            cost_usd=float(cost),
        )
