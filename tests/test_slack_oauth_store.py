"""The Slack adapter's SQL: the installation store, and the subscription methods it calls, on SQLite and PostgreSQL."""

# ruff: noqa: F811  (pytest fixtures imported from store_support are injected by parameter name)

from __future__ import annotations

from cryptography.fernet import Fernet
from slack_sdk.oauth.installation_store.models.installation import Installation
from sqlalchemy import select
from store_support import backend, clock, migrated_url, postgres_database, sqlite_template, store  # noqa: F401

from bot.adapters.slack_oauth import SqlInstallationStore, TokenCipher
from bot.service import Service
from bot.store import ChannelKey, Store
from bot.store.tables import InstallationRow

KEY = Fernet.generate_key().decode()


async def test_installation_is_replaced_on_reinstall_encrypted_and_deleted(store: Store) -> None:
    installations = SqlInstallationStore(store.engine, TokenCipher(KEY))
    await installations.async_save(Installation(user_id="U9", team_id="T3", bot_token="xoxb-first", bot_user_id="B"))
    await installations.async_save(Installation(user_id="U9", team_id="T3", bot_token="xoxb-second", bot_user_id="B"))
    bot = await installations.async_find_bot(enterprise_id=None, team_id="T3")
    assert bot is not None and bot.bot_token == "xoxb-second" and bot.bot_user_id == "B"
    async with store.engine.connect() as conn:
        (row,) = list(await conn.execute(select(InstallationRow)))
    assert "xoxb" not in row.bot_token and "xoxb" not in (row.data or "")
    await installations.async_delete_all(enterprise_id=None, team_id="T3")
    assert await installations.async_find_installation(enterprise_id=None, team_id="T3") is None


async def test_subscriptions_are_disabled_per_channel_and_per_workspace(store: Store) -> None:
    service = Service(store=store, fetcher=None, briefer=None)  # type: ignore[arg-type]
    one, two, elsewhere = (
        ChannelKey("slack", "T3", "C1"),
        ChannelKey("slack", "T3", "C2"),
        ChannelKey("slack", "T4", "C1"),
    )
    for channel in (one, two, elsewhere):
        await store.subscriptions.add(channel, "http://news.example/feed.xml")
    assert await service.disable_channel(one, "Slack: not_in_channel") == 1
    assert await service.disable_workspace("slack", "T3", "Slack: app_uninstalled") == 1  # C1 was already off
    feeds = await service.workspace_feeds("slack", "T3")
    assert [(f.channel.channel, f.disabled_reason) for f in feeds] == [
        ("C1", "Slack: not_in_channel"),
        ("C2", "Slack: app_uninstalled"),
    ]
    assert [f.disabled_reason for f in await service.feeds(elsewhere)] == [None]
