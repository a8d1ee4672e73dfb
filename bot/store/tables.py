"""The database schema as SQLAlchemy declarative tables: the single source the migrations are checked against.

Every uniqueness rule of docs/reliability.md section 5 is a constraint here, so concurrent writers are arbitrated by
the database (`INSERT ... ON CONFLICT DO NOTHING`), never by a read-then-write in Python. Long values (URLs, feed URLs,
item GUIDs) are indexed through their SHA-256 hex digests, so a 10 KB URL never meets an index size limit.

A new column or table means a new migration in `bot/store/migrations/versions/`; a test fails when the two disagree.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bot.store.types import BigID, UTCDateTime

# Deterministic constraint names: SQLite batch migrations can only drop or alter a constraint that has a name.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Ident = String(255)  # platform ids (team, channel, user, ts, snowflake...): short, but never assume how short
Hash = String(64)  # SHA-256 hex digest


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class ArticleRow(Base):
    """An extracted article, keyed by its normalized URL's hash (NULL for pasted text) and its text's hash."""

    __tablename__ = "articles"

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    url: Mapped[str | None] = mapped_column(Text)
    # A unique index allows many NULLs on both SQLite and PostgreSQL: pasted text never collides.
    url_hash: Mapped[str | None] = mapped_column(Hash, unique=True)
    content_hash: Mapped[str] = mapped_column(Hash, index=True)
    title: Mapped[str | None] = mapped_column(Text)
    data: Mapped[str] = mapped_column(Text)  # Article.model_dump_json()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class BriefingRow(Base):
    """A cached briefing. `prompt_version` is '' rather than NULL, because NULLs never collide in a unique key."""

    __tablename__ = "briefings"
    __table_args__ = (UniqueConstraint("article_id", "engine", "prompt_version"),)

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))
    engine: Mapped[str] = mapped_column(Ident)
    prompt_version: Mapped[str] = mapped_column(Ident)
    data: Mapped[str] = mapped_column(Text)  # Briefing.model_dump_json()
    prompt_tokens: Mapped[int] = mapped_column(Integer)
    completion_tokens: Mapped[int] = mapped_column(Integer)
    cost_usd: Mapped[float] = mapped_column(Double)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ThreadRow(Base):
    """A chat thread the bot briefed in; `external_id` is the platform's thread id (Slack ts, Discord id)."""

    __tablename__ = "threads"
    __table_args__ = (UniqueConstraint("platform", "workspace", "channel", "external_id"),)

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    platform: Mapped[str] = mapped_column(Ident)
    workspace: Mapped[str] = mapped_column(Ident)
    channel: Mapped[str] = mapped_column(Ident)
    external_id: Mapped[str] = mapped_column(Ident)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ThreadArticleRow(Base):
    """Which articles a thread discusses, in binding order (the auto-increment id is the order: no race on it)."""

    __tablename__ = "thread_articles"
    __table_args__ = (UniqueConstraint("thread_id", "article_id"),)

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"))
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MessageRow(Base):
    """A question or answer in a thread: our own copy of the conversation (Slack rate-limits reading threads)."""

    __tablename__ = "messages"
    __table_args__ = (
        CheckConstraint("role IN ('question', 'answer')", name="role"),
        Index(None, "thread_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    author: Mapped[str | None] = mapped_column(Ident)
    text: Mapped[str] = mapped_column(Text)
    citations: Mapped[list[Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ProcessedEventRow(Base):
    """Deduplicates platform deliveries by event id (Slack retries and replays)."""

    __tablename__ = "processed_events"

    platform: Mapped[str] = mapped_column(Ident, primary_key=True)
    workspace: Mapped[str] = mapped_column(Ident, primary_key=True)
    event_id: Mapped[str] = mapped_column(Ident, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class ProcessedMessageRow(Base):
    """Deduplicates work per message (Slack's `message` + `app_mention` pair, Discord gateway RESUME replays)."""

    __tablename__ = "processed_messages"

    platform: Mapped[str] = mapped_column(Ident, primary_key=True)
    channel: Mapped[str] = mapped_column(Ident, primary_key=True)
    message_id: Mapped[str] = mapped_column(Ident, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class SubscriptionRow(Base):
    """A channel's feed subscription and its polling state. `next_poll_at` NULL means "poll as soon as possible"."""

    __tablename__ = "subscriptions"
    __table_args__ = (UniqueConstraint("platform", "workspace", "channel", "feed_url_hash"),)

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    platform: Mapped[str] = mapped_column(Ident)
    workspace: Mapped[str] = mapped_column(Ident)
    channel: Mapped[str] = mapped_column(Ident)
    feed_url: Mapped[str] = mapped_column(Text)
    feed_url_hash: Mapped[str] = mapped_column(Hash, index=True)
    title: Mapped[str | None] = mapped_column(Text)
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    last_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    error_count: Mapped[int] = mapped_column(Integer)
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ChannelSettingsRow(Base):
    """Per-channel preferences; a channel without a row uses the defaults of `ChannelSettings`."""

    __tablename__ = "channel_settings"

    platform: Mapped[str] = mapped_column(Ident, primary_key=True)
    workspace: Mapped[str] = mapped_column(Ident, primary_key=True)
    channel: Mapped[str] = mapped_column(Ident, primary_key=True)
    engine: Mapped[str | None] = mapped_column(Ident)
    digest_time: Mapped[str] = mapped_column(String(5))
    timezone: Mapped[str] = mapped_column(String(64))
    digest_days: Mapped[str] = mapped_column(String(64))
    language: Mapped[str | None] = mapped_column(String(35))
    link_watching: Mapped[str] = mapped_column(String(16))
    digest_empty: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FeedItemRow(Base):
    """An item seen in a feed, keyed per feed (not per channel) so one poll serves every subscribed channel."""

    __tablename__ = "feed_items"
    __table_args__ = (
        UniqueConstraint("feed_url_hash", "item_key"),
        Index(None, "feed_url_hash", "seen_at"),
    )

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    feed_url_hash: Mapped[str] = mapped_column(Hash)
    item_key: Mapped[str] = mapped_column(Hash)  # hash of the item's GUID, else its link
    url: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    article_id: Mapped[int | None] = mapped_column(ForeignKey("articles.id", ondelete="SET NULL"), index=True)
    published: Mapped[datetime | None] = mapped_column(UTCDateTime)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DigestRunRow(Base):
    """One digest per channel and period: the claim row that lets exactly one replica send it."""

    __tablename__ = "digest_runs"
    __table_args__ = (
        UniqueConstraint("platform", "workspace", "channel", "period"),
        CheckConstraint("state IN ('claimed', 'posted', 'failed')", name="state"),
    )

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    platform: Mapped[str] = mapped_column(Ident)
    workspace: Mapped[str] = mapped_column(Ident)
    channel: Mapped[str] = mapped_column(Ident)
    period: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16))
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str] = mapped_column(Ident)
    # Set when a stale claim is taken over; a claim is recovered at most once, so a crash loop cannot spam a channel.
    recovered: Mapped[bool] = mapped_column(Boolean)
    posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    message_ref: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)


class UsageRow(Base):
    """Tokens and cost of one request (a briefing or an answer), for quotas and reporting."""

    __tablename__ = "usage"
    __table_args__ = (
        Index(None, "platform", "workspace", "created_at"),
        Index(None, "platform", "workspace", "channel", "created_at"),
        Index(None, "platform", "workspace", "user_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    platform: Mapped[str] = mapped_column(Ident)
    workspace: Mapped[str] = mapped_column(Ident)
    channel: Mapped[str] = mapped_column(Ident)
    user_id: Mapped[str | None] = mapped_column(Ident)
    engine: Mapped[str] = mapped_column(Ident)
    calls: Mapped[int] = mapped_column(Integer)
    prompt_tokens: Mapped[int] = mapped_column(Integer)
    completion_tokens: Mapped[int] = mapped_column(Integer)
    cost_usd: Mapped[float] = mapped_column(Double)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class InstallationRow(Base):
    """A Slack OAuth installation (multi-workspace HTTP mode). Ids are '' rather than NULL so the unique key holds.

    The token columns hold ciphertext produced by the installation store; this table never sees a plain token.
    """

    __tablename__ = "installations"
    __table_args__ = (UniqueConstraint("enterprise_id", "team_id"),)

    id: Mapped[int] = mapped_column(BigID, primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(Ident)
    team_id: Mapped[str] = mapped_column(Ident)
    bot_user_id: Mapped[str | None] = mapped_column(Ident)
    bot_token: Mapped[str] = mapped_column(Text)  # encrypted
    data: Mapped[str | None] = mapped_column(Text)  # encrypted installation JSON
    installed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
