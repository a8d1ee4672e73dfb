"""Threads the bot briefed in, the articles they discuss, and the Q&A messages posted in them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store._base import Repository
from bot.store.records import ChannelKey, StoredMessage, Thread
from bot.store.tables import MessageRow, ThreadArticleRow, ThreadRow


def _in_channel(channel: ChannelKey) -> list[Any]:
    return [
        ThreadRow.platform == channel.platform,
        ThreadRow.workspace == channel.workspace,
        ThreadRow.channel == channel.channel,
    ]


async def _load_threads(conn: AsyncConnection, *conditions: Any, limit: int | None = None) -> list[Thread]:
    query = select(ThreadRow).where(*conditions).order_by(ThreadRow.id.desc()).limit(limit)
    rows = (await conn.execute(query)).all()
    if not rows:
        return []
    links = await conn.execute(
        select(ThreadArticleRow.thread_id, ThreadArticleRow.article_id)
        .where(ThreadArticleRow.thread_id.in_([row.id for row in rows]))
        .order_by(ThreadArticleRow.id)
    )
    articles: dict[int, list[int]] = defaultdict(list)
    for thread_pk, article_id in links:
        articles[thread_pk].append(article_id)
    return [
        Thread(
            id=row.id,
            channel=ChannelKey(row.platform, row.workspace, row.channel),
            thread_id=row.external_id,
            article_ids=tuple(articles[row.id]),
            created_at=row.created_at,
        )
        for row in rows
    ]


class ThreadRepository(Repository):
    """Binds platform threads to the articles briefed in them."""

    async def bind(self, channel: ChannelKey, thread_id: str, article_id: int) -> Thread:
        """Record that `article_id` is discussed in the platform thread `thread_id` (idempotent), return the thread."""
        now = self._now()
        new_thread = (
            self._insert(ThreadRow)
            .values(
                platform=channel.platform,
                workspace=channel.workspace,
                channel=channel.channel,
                external_id=thread_id,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["platform", "workspace", "channel", "external_id"])
        )
        async with self._engine.begin() as conn:
            await conn.execute(new_thread)
            where = [*_in_channel(channel), ThreadRow.external_id == thread_id]
            pk = await conn.scalar(select(ThreadRow.id).where(*where))
            link = (
                self._insert(ThreadArticleRow)
                .values(thread_id=pk, article_id=article_id, created_at=now)
                .on_conflict_do_nothing(index_elements=["thread_id", "article_id"])
            )
            await conn.execute(link)
            threads = await _load_threads(conn, ThreadRow.id == pk)
        return threads[0]

    async def find(self, channel: ChannelKey, thread_id: str) -> Thread | None:
        """The thread with this platform id in `channel`, with its articles in binding order, if bound."""
        async with self._engine.connect() as conn:
            threads = await _load_threads(conn, *_in_channel(channel), ThreadRow.external_id == thread_id)
        return threads[0] if threads else None

    async def count(self, channel: ChannelKey) -> int:
        """How many threads are bound in the channel."""
        async with self._engine.connect() as conn:
            return int(await conn.scalar(select(func.count()).select_from(ThreadRow).where(*_in_channel(channel))) or 0)

    async def list(self, channel: ChannelKey, *, limit: int = 50) -> Sequence[Thread]:
        """The channel's bound threads, newest first."""
        async with self._engine.connect() as conn:
            return await _load_threads(conn, *_in_channel(channel), limit=limit)


class MessageRepository(Repository):
    """The questions asked and answers given in a thread, kept so follow-ups have context without re-reading Slack."""

    async def add(
        self,
        thread: int,
        role: Literal["question", "answer"],
        text: str,
        *,
        author: str | None = None,
        citations: list[Any] | None = None,
    ) -> StoredMessage:
        """Append a message to the thread with id `thread` (`Thread.id`, not the platform's id)."""
        now = self._now()
        values = {
            "thread_id": thread,
            "role": role,
            "author": author,
            "text": text,
            "citations": citations,
            "created_at": now,
        }
        async with self._engine.begin() as conn:
            pk = (await conn.execute(self._insert(MessageRow).values(values).returning(MessageRow.id))).scalar_one()
        return StoredMessage(
            id=pk,
            thread=thread,
            role=role,
            author=author,
            text=text,
            citations=citations,
            created_at=now,
        )

    async def history(self, thread: int, *, limit: int = 20) -> list[StoredMessage]:
        """The last `limit` messages of the thread, oldest first (ready to become a prompt's conversation)."""
        query = select(MessageRow).where(MessageRow.thread_id == thread).order_by(MessageRow.id.desc()).limit(limit)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [
            StoredMessage(
                id=row.id,
                thread=row.thread_id,
                role=row.role,
                author=row.author,
                text=row.text,
                citations=row.citations,
                created_at=row.created_at,
            )
            for row in reversed(rows)
        ]
