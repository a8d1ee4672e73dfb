"""Persistence: SQLAlchemy (async) tables, repositories and Alembic migrations; SQLite by default, PostgreSQL by URL.

`store = await Store.open(settings.resolved_database_url)` creates or upgrades the schema, then the service layer
calls the repositories (`store.events.claim_event(...)`, `store.articles.get_by_url(...)`...) and finally
`await store.close()`. Every method is its own short transaction.
"""

from __future__ import annotations

from bot.store.db import Store, create_engine, database_revision, downgrade_database, upgrade_database
from bot.store.records import (
    ChannelKey,
    ChannelSettings,
    DigestClaim,
    DigestRun,
    FeedItem,
    StoredArticle,
    StoredMessage,
    Subscription,
    Thread,
    UsageTotals,
    content_hash,
    normalized_url_hash,
    sha256_hex,
)

__all__ = [
    "ChannelKey",
    "ChannelSettings",
    "DigestClaim",
    "DigestRun",
    "FeedItem",
    "Store",
    "StoredArticle",
    "StoredMessage",
    "Subscription",
    "Thread",
    "UsageTotals",
    "content_hash",
    "create_engine",
    "database_revision",
    "downgrade_database",
    "normalized_url_hash",
    "sha256_hex",
    "upgrade_database",
]
