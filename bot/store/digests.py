"""Digest runs: the claim that makes exactly one replica post each channel's digest for a period.

A run goes `claimed` -> `posted` (or `failed`). A claim left `claimed` for longer than `stale_after` means its owner
crashed between claiming and posting; one other owner may take it over, once. A `posted` or `failed` run is never
claimed again, so a crash after posting records nothing twice.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from bot.store._base import Repository
from bot.store.records import ChannelKey, DigestClaim, DigestRun
from bot.store.tables import DigestRunRow


def _in_channel(channel: ChannelKey) -> list[Any]:
    return [
        DigestRunRow.platform == channel.platform,
        DigestRunRow.workspace == channel.workspace,
        DigestRunRow.channel == channel.channel,
    ]


def _run(row: Any) -> DigestRun:
    return DigestRun(
        id=row.id,
        channel=ChannelKey(row.platform, row.workspace, row.channel),
        period=row.period,
        state=row.state,
        claimed_at=row.claimed_at,
        claimed_by=row.claimed_by,
        recovered=row.recovered,
        posted_at=row.posted_at,
        message_ref=row.message_ref,
        error=row.error,
    )


class DigestRepository(Repository):
    """Claims and outcomes of digest posts, unique per (channel, period)."""

    async def claim(self, channel: ChannelKey, period: str, owner: str, stale_after: timedelta) -> DigestClaim | None:
        """Claim the digest of `channel` for `period` (e.g. the local date "2026-11-30") for `owner`.

        Returns the claim for exactly one caller: the first, or, when the first claim is older than `stale_after` and
        still unposted, one recoverer (at most once per run). Everyone else gets None. `stale_after` must exceed the
        longest a digest post can take, or a slow owner and its recoverer would both post.
        """
        now = self._now()
        fresh = (
            self._insert(DigestRunRow)
            .values(
                platform=channel.platform,
                workspace=channel.workspace,
                channel=channel.channel,
                period=period,
                state="claimed",
                claimed_at=now,
                claimed_by=owner,
                recovered=False,
            )
            .on_conflict_do_nothing(index_elements=["platform", "workspace", "channel", "period"])
            .returning(DigestRunRow.id)
        )
        # Racing recoverers queue on the row lock (PostgreSQL) or the write lock (SQLite) and the WHERE clause is
        # re-checked after the wait: the first moves claimed_at to now and sets recovered, so it fails for the rest.
        recover = (
            update(DigestRunRow)
            .where(
                *_in_channel(channel),
                DigestRunRow.period == period,
                DigestRunRow.state == "claimed",
                DigestRunRow.claimed_at < now - stale_after,
                DigestRunRow.recovered.is_(False),
            )
            .values(claimed_at=now, claimed_by=owner, recovered=True)
            .returning(DigestRunRow.id)
        )
        async with self._engine.begin() as conn:
            pk = (await conn.execute(fresh)).scalar()
            recovered = pk is None
            if recovered:
                pk = (await conn.execute(recover)).scalar()
        if pk is None:
            return None
        return DigestClaim(id=pk, channel=channel, period=period, owner=owner, claimed_at=now, recovered=recovered)

    async def mark_posted(self, claim: DigestClaim, message_ref: str | None = None) -> bool:
        """Record that the claimed digest was posted (`message_ref`: the platform's message id).

        False when the claim is no longer ours (it went stale and was recovered) or was already marked.
        """
        return await self._finish(claim, state="posted", posted_at=self._now(), message_ref=message_ref)

    async def mark_failed(self, claim: DigestClaim, error: str) -> bool:
        """Record that posting failed for good (e.g. the channel is gone): the run is not retried."""
        return await self._finish(claim, state="failed", error=error)

    async def get(self, channel: ChannelKey, period: str) -> DigestRun | None:
        """The run of `channel` for `period`, if any."""
        query = select(DigestRunRow).where(*_in_channel(channel), DigestRunRow.period == period)
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return _run(row) if row is not None else None

    async def last_posted(self, channel: ChannelKey) -> DigestRun | None:
        """The channel's most recently posted digest (the next digest covers items seen since it), if any."""
        query = (
            select(DigestRunRow)
            .where(*_in_channel(channel), DigestRunRow.state == "posted")
            .order_by(DigestRunRow.posted_at.desc(), DigestRunRow.id.desc())
            .limit(1)
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return _run(row) if row is not None else None

    async def _finish(self, claim: DigestClaim, **values: Any) -> bool:
        stmt = (
            update(DigestRunRow)
            .where(
                DigestRunRow.id == claim.id,
                DigestRunRow.state == "claimed",
                DigestRunRow.claimed_by == claim.owner,
                DigestRunRow.claimed_at == claim.claimed_at,
            )
            .values(**values)
            .returning(DigestRunRow.id)
        )
        async with self._engine.begin() as conn:
            return (await conn.execute(stmt)).first() is not None
