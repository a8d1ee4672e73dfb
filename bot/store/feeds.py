"""Feed subscriptions per channel, their polling state, and the items seen in each feed."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select, update

from bot.store._base import Repository
from bot.store.records import ChannelKey, FeedItem, Subscription, normalized_url_hash, sha256_hex
from bot.store.tables import FeedItemRow, SubscriptionRow

_SUBSCRIPTION_KEY = ["platform", "workspace", "channel", "feed_url_hash"]


def _subscription(row: Any) -> Subscription:
    return Subscription(
        id=row.id,
        channel=ChannelKey(row.platform, row.workspace, row.channel),
        feed_url=row.feed_url,
        feed_url_hash=row.feed_url_hash,
        title=row.title,
        etag=row.etag,
        last_modified=row.last_modified,
        last_polled_at=row.last_polled_at,
        next_poll_at=row.next_poll_at,
        error_count=row.error_count,
        disabled_reason=row.disabled_reason,
        created_at=row.created_at,
    )


def _in_channel(channel: ChannelKey) -> list[Any]:
    return [
        SubscriptionRow.platform == channel.platform,
        SubscriptionRow.workspace == channel.workspace,
        SubscriptionRow.channel == channel.channel,
    ]


class SubscriptionRepository(Repository):
    """A channel subscribes to a feed at most once: unique on (channel, feed URL hash)."""

    async def add(self, channel: ChannelKey, feed_url: str, *, title: str | None = None) -> tuple[Subscription, bool]:
        """Subscribe `channel` to `feed_url` (already normalized); return the subscription and whether it is new.

        Subscribing again to a feed that was disabled re-enables it: the user asking is the signal that the channel
        works again.
        """
        digest = normalized_url_hash(feed_url)
        stmt = (
            self._insert(SubscriptionRow)
            .values(
                platform=channel.platform,
                workspace=channel.workspace,
                channel=channel.channel,
                feed_url=feed_url,
                feed_url_hash=digest,
                title=title,
                error_count=0,
                created_at=self._now(),
            )
            .on_conflict_do_nothing(index_elements=_SUBSCRIPTION_KEY)
            .returning(SubscriptionRow.id)
        )
        match = [*_in_channel(channel), SubscriptionRow.feed_url_hash == digest]
        async with self._engine.begin() as conn:
            created = (await conn.execute(stmt)).scalar() is not None
            if not created:
                await conn.execute(
                    update(SubscriptionRow)
                    .where(*match, SubscriptionRow.disabled_reason.is_not(None))
                    .values(disabled_reason=None, error_count=0, next_poll_at=None)
                )
            row = (await conn.execute(select(SubscriptionRow).where(*match))).one()
        return _subscription(row), created

    async def get(self, subscription_id: int) -> Subscription | None:
        """The subscription with this id, if any."""
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(SubscriptionRow).where(SubscriptionRow.id == subscription_id))).first()
        return _subscription(row) if row is not None else None

    async def remove(self, channel: ChannelKey, feed_url: str) -> bool:
        """Unsubscribe `channel` from `feed_url`; False when it was not subscribed."""
        stmt = (
            delete(SubscriptionRow)
            .where(*_in_channel(channel), SubscriptionRow.feed_url_hash == normalized_url_hash(feed_url))
            .returning(SubscriptionRow.id)
        )
        async with self._engine.begin() as conn:
            return (await conn.execute(stmt)).first() is not None

    async def list(self, channel: ChannelKey, *, include_disabled: bool = True) -> Sequence[Subscription]:
        """The channel's subscriptions, oldest first."""
        query = select(SubscriptionRow).where(*_in_channel(channel)).order_by(SubscriptionRow.id)
        if not include_disabled:
            query = query.where(SubscriptionRow.disabled_reason.is_(None))
        async with self._engine.connect() as conn:
            return [_subscription(row) for row in await conn.execute(query)]

    async def due(self, now: datetime | None = None, *, limit: int = 100) -> Sequence[Subscription]:
        """Enabled subscriptions whose next poll time has come (never-polled ones first)."""
        now = now or self._now()
        query = (
            select(SubscriptionRow)
            .where(
                SubscriptionRow.disabled_reason.is_(None),
                or_(SubscriptionRow.next_poll_at.is_(None), SubscriptionRow.next_poll_at <= now),
            )
            .order_by(SubscriptionRow.next_poll_at.asc().nulls_first(), SubscriptionRow.id)
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            return [_subscription(row) for row in await conn.execute(query)]

    async def update_poll_state(
        self,
        subscription_id: int,
        *,
        next_poll_at: datetime,
        failed: bool = False,
        etag: str | None = None,
        last_modified: str | None = None,
        title: str | None = None,
    ) -> None:
        """Record a poll. Success stores the validators (`etag`, `last_modified`) and resets the error count; failure
        keeps them (so the next poll can still be conditional) and counts the error. `title` None keeps the title.
        """
        values: dict[str, Any] = {"last_polled_at": self._now(), "next_poll_at": next_poll_at}
        if failed:
            values["error_count"] = SubscriptionRow.error_count + 1
        else:
            values |= {"error_count": 0, "etag": etag, "last_modified": last_modified}
            if title is not None:
                values["title"] = title
        async with self._engine.begin() as conn:
            await conn.execute(update(SubscriptionRow).where(SubscriptionRow.id == subscription_id).values(values))

    async def disable(self, subscription_id: int, reason: str) -> bool:
        """Stop polling and posting for this subscription, with a reason shown to users; False if it does not exist."""
        stmt = (
            update(SubscriptionRow)
            .where(SubscriptionRow.id == subscription_id)
            .values(disabled_reason=reason)
            .returning(SubscriptionRow.id)
        )
        async with self._engine.begin() as conn:
            return (await conn.execute(stmt)).first() is not None

    async def disable_workspace(self, platform: str, workspace: str, reason: str) -> int:
        """Disable every enabled subscription of a workspace with `reason`; how many were disabled."""
        stmt = (
            update(SubscriptionRow)
            .where(
                SubscriptionRow.platform == platform,
                SubscriptionRow.workspace == workspace,
                SubscriptionRow.disabled_reason.is_(None),
            )
            .values(disabled_reason=reason)
            .returning(SubscriptionRow.id)
        )
        async with self._engine.begin() as conn:
            return len((await conn.execute(stmt)).all())

    async def list_workspace(self, platform: str, workspace: str, *, limit: int = 200) -> Sequence[Subscription]:
        """Every subscription of a workspace, ordered by channel."""
        query = (
            select(SubscriptionRow)
            .where(SubscriptionRow.platform == platform, SubscriptionRow.workspace == workspace)
            .order_by(SubscriptionRow.channel, SubscriptionRow.id)
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            return [_subscription(row) for row in await conn.execute(query)]

    async def disable_channel(self, channel: ChannelKey, reason: str) -> int:
        """Disable every enabled subscription of a channel (e.g. `channel_not_found`); return how many."""
        stmt = (
            update(SubscriptionRow)
            .where(*_in_channel(channel), SubscriptionRow.disabled_reason.is_(None))
            .values(disabled_reason=reason)
            .returning(SubscriptionRow.id)
        )
        async with self._engine.begin() as conn:
            return len((await conn.execute(stmt)).all())


class FeedItemRepository(Repository):
    """Items seen per feed: polling twice, or from two replicas, never yields the same item twice."""

    async def mark_seen(
        self,
        feed_url_hash: str,
        item_id: str,
        *,
        url: str | None = None,
        title: str | None = None,
        published: datetime | None = None,
        article_id: int | None = None,
    ) -> bool:
        """Record an item of the feed (`item_id` is its GUID, else its link); True only the first time it is seen."""
        stmt = (
            self._insert(FeedItemRow)
            .values(
                feed_url_hash=feed_url_hash,
                item_key=sha256_hex(item_id),
                url=url,
                title=title,
                published=published,
                article_id=article_id,
                seen_at=self._now(),
            )
            .on_conflict_do_nothing(index_elements=["feed_url_hash", "item_key"])
        )
        async with self._engine.begin() as conn:
            return (await conn.execute(stmt)).rowcount == 1

    async def attach_article(self, feed_url_hash: str, item_id: str, article_id: int) -> None:
        """Link a seen item to the article extracted from it."""
        stmt = (
            update(FeedItemRow)
            .where(FeedItemRow.feed_url_hash == feed_url_hash, FeedItemRow.item_key == sha256_hex(item_id))
            .values(article_id=article_id)
        )
        async with self._engine.begin() as conn:
            await conn.execute(stmt)

    async def seen_since(self, feed_url_hashes: Iterable[str], since: datetime, *, limit: int = 200) -> list[FeedItem]:
        """Items first seen at or after `since` in any of these feeds, in the order they were seen."""
        query = (
            select(FeedItemRow)
            .where(FeedItemRow.feed_url_hash.in_(list(feed_url_hashes)), FeedItemRow.seen_at >= since)
            .order_by(FeedItemRow.seen_at, FeedItemRow.id)
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [
            FeedItem(
                id=row.id,
                feed_url_hash=row.feed_url_hash,
                item_key=row.item_key,
                url=row.url,
                title=row.title,
                article_id=row.article_id,
                published=row.published,
                seen_at=row.seen_at,
            )
            for row in rows
        ]
