"""Initial schema: articles, briefings, threads, messages, dedupe claims, feeds, settings, digests, usage, installs.

Revision ID: 0001
Revises:
Create Date: 2026-11-29

Types are spelled out here rather than imported from `bot.store`, so this revision keeps meaning what it meant when
later code changes. Every constraint is named (see `NAMING_CONVENTION` in `bot/store/tables.py`).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite only auto-increments a column typed INTEGER
TS = sa.DateTime(timezone=True)
IDENT = sa.String(length=255)
HASH = sa.String(length=64)


def _id() -> sa.Column[int]:
    return sa.Column("id", ID, nullable=False)


def _channel_columns() -> list[sa.Column[str]]:
    return [
        sa.Column("platform", IDENT, nullable=False),
        sa.Column("workspace", IDENT, nullable=False),
        sa.Column("channel", IDENT, nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "articles",
        _id(),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("url_hash", HASH, nullable=True),
        sa.Column("content_hash", HASH, nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_articles"),
        sa.UniqueConstraint("url_hash", name="uq_articles_url_hash"),
    )
    op.create_index("ix_articles_content_hash", "articles", ["content_hash"])

    op.create_table(
        "briefings",
        _id(),
        sa.Column("article_id", ID, nullable=False),
        sa.Column("engine", IDENT, nullable=False),
        sa.Column("prompt_version", IDENT, nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("prompt_tokens", sa.Integer(), nullable=False),
        sa.Column("completion_tokens", sa.Integer(), nullable=False),
        sa.Column("cost_usd", sa.Double(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"], ["articles.id"], name="fk_briefings_article_id_articles", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_briefings"),
        sa.UniqueConstraint(
            "article_id", "engine", "prompt_version", name="uq_briefings_article_id_engine_prompt_version"
        ),
    )

    op.create_table(
        "threads",
        _id(),
        *_channel_columns(),
        sa.Column("external_id", IDENT, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_threads"),
        sa.UniqueConstraint(
            "platform", "workspace", "channel", "external_id", name="uq_threads_platform_workspace_channel_external_id"
        ),
    )

    op.create_table(
        "thread_articles",
        _id(),
        sa.Column("thread_id", ID, nullable=False),
        sa.Column("article_id", ID, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"], ["articles.id"], name="fk_thread_articles_article_id_articles", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["thread_id"], ["threads.id"], name="fk_thread_articles_thread_id_threads", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_thread_articles"),
        sa.UniqueConstraint("thread_id", "article_id", name="uq_thread_articles_thread_id_article_id"),
    )
    op.create_index("ix_thread_articles_article_id", "thread_articles", ["article_id"])

    op.create_table(
        "messages",
        _id(),
        sa.Column("thread_id", ID, nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("author", IDENT, nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("citations", sa.JSON(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.CheckConstraint("role IN ('question', 'answer')", name="ck_messages_role"),
        sa.ForeignKeyConstraint(
            ["thread_id"], ["threads.id"], name="fk_messages_thread_id_threads", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_messages"),
    )
    op.create_index("ix_messages_thread_id_id", "messages", ["thread_id", "id"])

    op.create_table(
        "processed_events",
        sa.Column("platform", IDENT, nullable=False),
        sa.Column("workspace", IDENT, nullable=False),
        sa.Column("event_id", IDENT, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("platform", "workspace", "event_id", name="pk_processed_events"),
    )
    op.create_index("ix_processed_events_created_at", "processed_events", ["created_at"])

    op.create_table(
        "processed_messages",
        sa.Column("platform", IDENT, nullable=False),
        sa.Column("channel", IDENT, nullable=False),
        sa.Column("message_id", IDENT, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("platform", "channel", "message_id", name="pk_processed_messages"),
    )
    op.create_index("ix_processed_messages_created_at", "processed_messages", ["created_at"])

    op.create_table(
        "subscriptions",
        _id(),
        *_channel_columns(),
        sa.Column("feed_url", sa.Text(), nullable=False),
        sa.Column("feed_url_hash", HASH, nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("etag", sa.Text(), nullable=True),
        sa.Column("last_modified", sa.Text(), nullable=True),
        sa.Column("last_polled_at", TS, nullable=True),
        sa.Column("next_poll_at", TS, nullable=True),
        sa.Column("error_count", sa.Integer(), nullable=False),
        sa.Column("disabled_reason", sa.Text(), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_subscriptions"),
        sa.UniqueConstraint(
            "platform",
            "workspace",
            "channel",
            "feed_url_hash",
            name="uq_subscriptions_platform_workspace_channel_feed_url_hash",
        ),
    )
    op.create_index("ix_subscriptions_feed_url_hash", "subscriptions", ["feed_url_hash"])
    op.create_index("ix_subscriptions_next_poll_at", "subscriptions", ["next_poll_at"])

    op.create_table(
        "channel_settings",
        *_channel_columns(),
        sa.Column("engine", IDENT, nullable=True),
        sa.Column("digest_time", sa.String(length=5), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("digest_days", sa.String(length=64), nullable=False),
        sa.Column("language", sa.String(length=35), nullable=True),
        sa.Column("link_watching", sa.String(length=16), nullable=False),
        sa.Column("digest_empty", sa.Boolean(), nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("platform", "workspace", "channel", name="pk_channel_settings"),
    )

    op.create_table(
        "feed_items",
        _id(),
        sa.Column("feed_url_hash", HASH, nullable=False),
        sa.Column("item_key", HASH, nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("article_id", ID, nullable=True),
        sa.Column("published", TS, nullable=True),
        sa.Column("seen_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"], ["articles.id"], name="fk_feed_items_article_id_articles", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_feed_items"),
        sa.UniqueConstraint("feed_url_hash", "item_key", name="uq_feed_items_feed_url_hash_item_key"),
    )
    op.create_index("ix_feed_items_article_id", "feed_items", ["article_id"])
    op.create_index("ix_feed_items_feed_url_hash_seen_at", "feed_items", ["feed_url_hash", "seen_at"])

    op.create_table(
        "digest_runs",
        _id(),
        *_channel_columns(),
        sa.Column("period", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("claimed_at", TS, nullable=False),
        sa.Column("claimed_by", IDENT, nullable=False),
        sa.Column("recovered", sa.Boolean(), nullable=False),
        sa.Column("posted_at", TS, nullable=True),
        sa.Column("message_ref", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.CheckConstraint("state IN ('claimed', 'posted', 'failed')", name="ck_digest_runs_state"),
        sa.PrimaryKeyConstraint("id", name="pk_digest_runs"),
        sa.UniqueConstraint(
            "platform", "workspace", "channel", "period", name="uq_digest_runs_platform_workspace_channel_period"
        ),
    )

    op.create_table(
        "usage",
        _id(),
        *_channel_columns(),
        sa.Column("user_id", IDENT, nullable=True),
        sa.Column("engine", IDENT, nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.Column("prompt_tokens", sa.Integer(), nullable=False),
        sa.Column("completion_tokens", sa.Integer(), nullable=False),
        sa.Column("cost_usd", sa.Double(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_usage"),
    )
    op.create_index("ix_usage_platform_workspace_created_at", "usage", ["platform", "workspace", "created_at"])
    op.create_index(
        "ix_usage_platform_workspace_channel_created_at", "usage", ["platform", "workspace", "channel", "created_at"]
    )
    op.create_index(
        "ix_usage_platform_workspace_user_id_created_at", "usage", ["platform", "workspace", "user_id", "created_at"]
    )

    op.create_table(
        "installations",
        _id(),
        sa.Column("enterprise_id", IDENT, nullable=False),
        sa.Column("team_id", IDENT, nullable=False),
        sa.Column("bot_user_id", IDENT, nullable=True),
        sa.Column("bot_token", sa.Text(), nullable=False),
        sa.Column("data", sa.Text(), nullable=True),
        sa.Column("installed_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_installations"),
        sa.UniqueConstraint("enterprise_id", "team_id", name="uq_installations_enterprise_id_team_id"),
    )


def downgrade() -> None:
    # Children before parents; dropping a table drops its indexes.
    for table in (
        "installations",
        "usage",
        "digest_runs",
        "feed_items",
        "channel_settings",
        "subscriptions",
        "processed_messages",
        "processed_events",
        "messages",
        "thread_articles",
        "threads",
        "briefings",
        "articles",
    ):
        op.drop_table(table)
