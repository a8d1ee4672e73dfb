"""App commands driven the way discord.py's own tests drive them (an `Interaction` built from the payload, then
`CommandTree._call`), against the local fake of Discord's API, with the real service on SQLite."""

# ruff: noqa: F811  (pytest fixtures imported from support modules are injected by parameter name)

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fake_discord import (  # noqa: F401
    Call,
    FakeDiscord,
    Harness,
    discord_bot,
    fake,
    harness_for,
    service,
    site,
    store,
)
from store_support import sqlite_template  # noqa: F401

from bot.adapters.discord_embeds import digest_nonce
from bot.service import Service
from bot.store import ChannelKey, Store

LIBRARY_URL = "http://news.example/library"
DEFERRED = 5  # DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE: the "thinking…" state
EPHEMERAL = 64


def key(fake: FakeDiscord) -> ChannelKey:
    return ChannelKey("discord", str(fake.guild_id), str(fake.channel_id))


def callbacks(fake: FakeDiscord, payload: dict) -> list[Call]:
    return fake.sent("POST", rf"^/interactions/{payload['id']}/{payload['token']}/callback$")


def followups(fake: FakeDiscord, payload: dict) -> list[Call]:
    return fake.sent("POST", rf"^/webhooks/{fake.app_id}/{payload['token']}$")


def assert_deferred(fake: FakeDiscord, payload: dict, *, ephemeral: bool) -> None:
    [callback] = callbacks(fake, payload)
    assert callback.json["type"] == DEFERRED
    assert bool((callback.json.get("data") or {}).get("flags", 0) & EPHEMERAL) is ephemeral


async def test_commands_are_registered_with_discord(discord_bot: Harness, fake: FakeDiscord) -> None:
    [sync] = fake.sent("PUT", rf"^/applications/{fake.app_id}/commands$")
    commands = {c["name"]: c for c in sync.json}
    assert set(commands) == {"brief", "ask", "subscribe", "unsubscribe", "feeds", "digest", "settings", "Brief this"}
    assert commands["Brief this"]["type"] == 3  # a message context-menu command
    assert commands["brief"]["options"][0]["name"] == "url_or_text"
    assert commands["brief"]["contexts"] == [0, 1]  # servers and DMs with the bot
    assert commands["settings"]["default_member_permissions"] == 16  # Manage Channels
    assert commands["feeds"]["contexts"] == [0]  # server channels only


async def test_brief_defers_then_follows_up_and_opens_a_thread(
    discord_bot: Harness, fake: FakeDiscord, service: Service
) -> None:
    payload = await discord_bot.command("brief", {"url_or_text": LIBRARY_URL})
    assert_deferred(fake, payload, ephemeral=False)
    [followup] = followups(fake, payload)
    assert followup.query.get("wait") in {"1", "true"}  # the created message is returned: the thread starts on it
    assert followup.json["allowed_mentions"] == {"parse": []}
    assert followup.json["embeds"][0]["title"] == "Riverside library switches to solar power"
    message_id = followup.response["id"]
    [thread] = fake.sent("POST", r"/threads$")
    assert thread.path == f"/channels/{fake.channel_id}/messages/{message_id}/threads"
    assert thread.json["name"] == "Riverside library switches to solar power"
    assert await service.find_thread(key(fake), message_id) is not None
    # The callback (deferral) came before any work was posted: Discord's 3-second rule.
    assert fake.calls.index(callbacks(fake, payload)[0]) < fake.calls.index(followup)


async def test_brief_pasted_text(discord_bot: Harness, fake: FakeDiscord) -> None:
    text = (
        "The harbour authority will dredge the east channel in October, closing it to sailboats for two weeks. "
        "“The silt has been building up since the storms,” said Oskar Veld, the harbour master. The work costs "
        "$400,000 and is paid from the port's maintenance fund. Fishing boats may use the west channel meanwhile."
    )
    payload = await discord_bot.command("brief", {"url_or_text": text})
    [followup] = followups(fake, payload)
    assert "url" not in followup.json["embeds"][0]  # nothing to link to
    assert "Oskar Veld" in str(followup.json["embeds"])


async def test_brief_this_on_a_message_with_a_link(discord_bot: Harness, fake: FakeDiscord) -> None:
    target = fake.user_message(f"have you seen {LIBRARY_URL} ?")
    payload = await discord_bot.command("Brief this", target=target)
    assert_deferred(fake, payload, ephemeral=False)
    [followup] = followups(fake, payload)
    assert followup.json["embeds"][0]["url"] == LIBRARY_URL
    assert len(fake.threads) == 1


async def test_brief_this_without_a_link_is_a_private_error(discord_bot: Harness, fake: FakeDiscord) -> None:
    payload = await discord_bot.command("Brief this", target=fake.user_message("good morning"))
    [callback] = callbacks(fake, payload)
    assert callback.json["type"] == 4  # answered at once, no deferral needed
    assert callback.json["data"]["flags"] & EPHEMERAL
    assert callback.json["data"]["content"] == "⚠️ That message has no link or article text to brief."
    assert callback.json["data"]["allowed_mentions"] == {"parse": []}


async def test_ask_in_the_briefing_thread(discord_bot: Harness, fake: FakeDiscord) -> None:
    await discord_bot.command("brief", {"url_or_text": LIBRARY_URL})
    thread = fake.threads[0]
    payload = await discord_bot.command("ask", {"question": "Who chairs the energy committee?"}, channel=thread)
    assert_deferred(fake, payload, ephemeral=False)
    [answer] = followups(fake, payload)
    assert "Tomas Okafor" in answer.json["content"]
    assert answer.json["flags"] & 4 and answer.json["allowed_mentions"] == {"parse": []}


async def test_ask_outside_a_thread_is_a_private_error(discord_bot: Harness, fake: FakeDiscord) -> None:
    payload = await discord_bot.command("ask", {"question": "What does it cost?"})
    assert_deferred(fake, payload, ephemeral=False)
    # The public "thinking…" placeholder is removed, then the error is shown to the user alone.
    assert fake.sent("DELETE", rf"/webhooks/{fake.app_id}/{payload['token']}/messages/@original$")
    [error] = followups(fake, payload)
    assert error.json["flags"] & EPHEMERAL
    assert error.json["content"] == "⚠️ Ask follow-up questions in the thread of a briefing."


async def test_feed_commands_answer_privately(discord_bot: Harness, fake: FakeDiscord) -> None:
    payload = await discord_bot.command("subscribe", {"url": "http://news.example/feed.xml?utm_source=x"})
    assert_deferred(fake, payload, ephemeral=True)
    [reply] = followups(fake, payload)
    assert reply.json["flags"] & EPHEMERAL
    assert reply.json["content"].startswith("Subscribed to <http://news.example/feed.xml>.")

    payload = await discord_bot.command("feeds")
    assert "http://news.example/feed.xml" in followups(fake, payload)[0].json["content"]

    payload = await discord_bot.command("unsubscribe", {"url": "http://news.example/feed.xml"})
    assert followups(fake, payload)[0].json["content"] == "Unsubscribed."
    payload = await discord_bot.command("feeds")
    assert followups(fake, payload)[0].json["content"].startswith("No feeds yet")

    payload = await discord_bot.command("subscribe", {"url": "ftp://news.example/feed"})
    [error] = followups(fake, payload)
    assert error.json["flags"] & EPHEMERAL and error.json["content"].startswith("⚠️ ")


async def test_settings_show_and_change(discord_bot: Harness, fake: FakeDiscord, service: Service) -> None:
    payload = await discord_bot.command("settings")
    shown = followups(fake, payload)[0].json["content"]
    assert "`link_watching` = `all`" in shown and "`digest_time` = `08:00`" in shown

    await discord_bot.command("settings", {"key": "link_watching", "value": "mention"})
    assert (await service.channel_settings(key(fake))).link_watching == "mention"
    await discord_bot.command("settings", {"key": "language", "value": "default"})
    assert (await service.channel_settings(key(fake))).language is None

    payload = await discord_bot.command("settings", {"key": "link_watching", "value": "sometimes"})
    error = followups(fake, payload)[0].json["content"]
    assert error.startswith("⚠️ Invalid setting: link_watching")
    assert (await service.channel_settings(key(fake))).link_watching == "mention"


async def test_link_watching_mention_needs_a_mention(discord_bot: Harness, fake: FakeDiscord) -> None:
    await discord_bot.command("settings", {"key": "link_watching", "value": "mention"})
    before = len(fake.posts())
    await discord_bot.message(LIBRARY_URL)
    assert len(fake.posts()) == before
    await discord_bot.message(f"<@{fake.bot_id}> {LIBRARY_URL}", mentions=[fake.bot_user()])
    assert fake.posts()[-1].json["embeds"]


async def test_digest_not_available_yet(discord_bot: Harness, fake: FakeDiscord) -> None:
    payload = await discord_bot.command("digest")
    [callback] = callbacks(fake, payload)
    assert callback.json["data"]["content"] == "The digest is not available yet."
    assert callback.json["data"]["flags"] & EPHEMERAL


@pytest.fixture
async def digest_bot(fake: FakeDiscord, service: Service) -> AsyncIterator[Harness]:
    async def digest(channel: ChannelKey) -> str:
        items = "\n".join(f"- **Story {i}** @everyone https://news.example/story-{i}" for i in range(60))
        return f"**Morning digest for {channel.channel}**\n{items}"

    harness = await harness_for(fake, service)
    harness.bot.digest = digest
    yield harness
    await harness.close()
    assert harness.bot.failures == []


async def test_digest_posts_with_stable_nonces(digest_bot: Harness, fake: FakeDiscord) -> None:
    payload = await digest_bot.command("digest")
    assert_deferred(fake, payload, ephemeral=True)
    posts = fake.sent("POST", rf"^/channels/{fake.channel_id}/messages$")
    assert len(posts) >= 2  # 60 items do not fit in 2,000 characters
    run = f"interaction:{payload['id']}"
    assert [p.json["nonce"] for p in posts] == [digest_nonce(run, i) for i in range(len(posts))]
    for post in posts:
        assert post.json["enforce_nonce"] is True and len(post.json["nonce"]) <= 25
        assert len(post.json["content"]) <= 2000
        assert post.json["flags"] & 4 and post.json["allowed_mentions"] == {"parse": []}
        assert "@everyone" not in post.json["content"]
        assert "<https://news.example/story-" in post.json["content"]  # link previews off even without the flag
    assert followups(fake, payload)[0].json["content"] == "Digest posted."


async def test_an_interaction_is_handled_by_one_process(
    discord_bot: Harness, fake: FakeDiscord, service: Service, store: Store
) -> None:
    from bot.brief.extractive import ExtractiveBriefer

    url = store.engine.url.render_as_string(hide_password=False)
    async with await Store.open(url, migrate=False) as other_store:
        other = Service(store=other_store, fetcher=service.fetcher, briefer=ExtractiveBriefer())
        second = await harness_for(fake, other)
        try:
            import discord

            payload = fake.interaction("brief", {"url_or_text": LIBRARY_URL})
            for harness in (discord_bot, second):
                interaction = discord.Interaction(data=payload, state=harness.state)
                await harness.bot.tree._call(interaction)
                await harness.settle()
        finally:
            await second.close()
    assert len(callbacks(fake, payload)) == 1
    assert len(followups(fake, payload)) == 1


async def test_an_unexpected_failure_is_a_private_apology(
    discord_bot: Harness, fake: FakeDiscord, service: Service
) -> None:
    async def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("boom")

    service.brief = broken  # type: ignore[method-assign]
    payload = await discord_bot.command("brief", {"url_or_text": LIBRARY_URL})
    [error] = followups(fake, payload)
    assert error.json["content"] == "⚠️ Sorry, something went wrong on my side; it has been logged."
    assert error.json["flags"] & EPHEMERAL
    assert [type(e) for e in discord_bot.bot.failures] == [RuntimeError]
    discord_bot.bot.failures.clear()
