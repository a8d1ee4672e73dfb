"""Starting the Discord bot: configuration, intents sent in IDENTIFY, and fatal refusals that must not be retried."""

# ruff: noqa: F811  (pytest fixtures imported from support modules are injected by parameter name)

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import discord
import pytest
from fake_discord import FakeDiscord, fake, service, site, store  # noqa: F401
from pydantic import Field, SecretStr
from store_support import sqlite_template  # noqa: F401

from bot.adapters.discord_bot import (
    BriefBot,
    DiscordConfig,
    DiscordStartupError,
    ShardedBriefBot,
    build_discord_bot,
    run_discord,
)
from bot.adapters.discord_config import invite_url
from bot.config import Settings
from bot.errors import ConfigError
from bot.service import Service

TOKEN = SecretStr("fake-token")
MESSAGE_CONTENT = 1 << 15


async def test_a_bad_token_stops_with_a_clear_message_and_no_retry(fake: FakeDiscord, service: Service) -> None:
    fake.login_status = 401
    with pytest.raises(DiscordStartupError) as raised:
        await run_discord(DiscordConfig(token=TOKEN), service)
    assert "rejected the bot token" in str(raised.value) and "BRIEFBOT_DISCORD_TOKEN" in str(raised.value)
    assert isinstance(raised.value, ConfigError)  # the CLI exits with its configuration status (78)
    assert len(fake.sent("GET", r"^/users/@me$")) == 1  # one attempt: no login loop
    assert fake.identify == []


async def test_a_missing_privileged_intent_stops_with_a_clear_message(fake: FakeDiscord, service: Service) -> None:
    fake.gateway_close = 4014
    with pytest.raises(DiscordStartupError) as raised:
        await asyncio.wait_for(run_discord(DiscordConfig(token=TOKEN), service), timeout=30)
    assert "Message Content intent" in str(raised.value)
    assert "BRIEFBOT_DISCORD_MESSAGE_CONTENT=false" in str(raised.value)
    assert len(fake.identify) == 1  # Discord's refusal is final: not retried


@pytest.mark.parametrize("message_content", [True, False])
async def test_identify_asks_only_for_the_intents_needed(
    fake: FakeDiscord, service: Service, message_content: bool
) -> None:
    config = DiscordConfig(token=TOKEN, message_content=message_content)
    running = asyncio.create_task(run_discord(config, service))
    identified = asyncio.create_task(fake.wait_for(lambda: fake.identify))
    try:
        await asyncio.wait({running, identified}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        identified.cancel()
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
    [identify] = fake.identify
    assert identify["token"] == "fake-token"
    intents = discord.Intents._from_value(identify["intents"])
    assert intents.message_content is message_content
    assert not intents.members and not intents.presences  # the other privileged intents are never requested
    assert intents.guild_messages and intents.dm_messages and intents.guild_reactions


async def test_end_to_end_over_the_gateway(fake: FakeDiscord, service: Service) -> None:
    # Login, IDENTIFY, READY and GUILD_CREATE over the websocket, then a link arrives as a gateway event.
    running = asyncio.create_task(run_discord(DiscordConfig(token=TOKEN), service))
    try:
        async with asyncio.timeout(30):  # a safety net against a hang, not a timing assertion
            await fake.wait_for(lambda: fake.identify)
            await fake.dispatch("MESSAGE_CREATE", fake.user_message("http://news.example/library"))
            await fake.wait_for(lambda: fake.threads)
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
    [reply] = fake.posts()
    assert reply.json["embeds"][0]["title"] == "Riverside library switches to solar power"
    assert reply.json["allowed_mentions"]["parse"] == []


async def test_missing_token_is_a_config_error_before_any_request(fake: FakeDiscord, service: Service) -> None:
    with pytest.raises(ConfigError, match="BRIEFBOT_DISCORD_TOKEN is not set"):
        await run_discord(DiscordConfig(), service)
    assert fake.calls == []


def test_sharding_configuration(service: Service) -> None:
    bot = build_discord_bot(DiscordConfig(token=TOKEN, shard_ids=[2, 3], shard_count=4), service)
    assert isinstance(bot, ShardedBriefBot) and isinstance(bot, discord.AutoShardedClient)
    assert bot.shard_ids == [2, 3] and bot.shard_count == 4
    assert type(build_discord_bot(DiscordConfig(token=TOKEN), service)) is BriefBot
    with pytest.raises(ConfigError, match="SHARD_COUNT"):
        DiscordConfig(token=TOKEN, shard_ids=[1]).check()
    with pytest.raises(ConfigError, match="below"):
        DiscordConfig(token=TOKEN, shard_ids=[4], shard_count=4).check()


def test_invite_url_asks_for_exactly_the_documented_permissions() -> None:
    url = invite_url(1234)
    assert "client_id=1234" in url and "scope=bot+applications.commands" in url
    assert "permissions=309237730304" in url
    assert "309237730304" in Path(__file__).parents[1].joinpath("README.md").read_text()


def test_every_send_defaults_to_no_mentions(service: Service) -> None:
    bot = build_discord_bot(DiscordConfig(token=TOKEN), service)
    assert bot.allowed_mentions is not None and bot.allowed_mentions.to_dict() == {"parse": []}


def test_config_comes_from_settings_discord_fields() -> None:
    class WithDiscord(Settings):  # the fields requested for bot.config.Settings
        discord_token: SecretStr | None = None
        discord_message_content: bool = True
        discord_shard_ids: list[int] = Field(default_factory=list)
        discord_shard_count: int | None = None

    settings = WithDiscord(discord_token=SecretStr("t"), discord_message_content=False, discord_shard_count=2)
    config = DiscordConfig.from_settings(settings)
    assert config.token == SecretStr("t") and config.message_content is False and config.shard_count == 2
    assert DiscordConfig.from_settings(Settings()) == DiscordConfig()  # before the fields exist: the defaults
