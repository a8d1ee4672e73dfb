"""The Discord bot driven through discord.py's real parsing and dispatch (gateway payloads fed to its
`ConnectionState` parsers), against a local fake of Discord's REST API, with the real service, fetcher and offline
engine on SQLite. Every assertion is about what went over the wire to the fake."""

# ruff: noqa: F811  (pytest fixtures imported from support modules are injected by parameter name)

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator

import pytest
from fake_discord import (  # noqa: F401
    LIBRARY,
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

from bot.adapters.discord_bot import UndeliverableError
from bot.adapters.discord_embeds import DESCRIPTION_LIMIT, EMBEDS_PER_MESSAGE, MESSAGE_EMBED_TOTAL, digest_nonce
from bot.brief.extractive import ExtractiveBriefer
from bot.models import Article, Briefing, KeyPoint, Quote
from bot.service import Service
from bot.store import ChannelKey, Store

NONE = {"parse": [], "replied_user": False}  # AllowedMentions.none() on a reply: nobody pinged, not even the author
LIBRARY_URL = "http://news.example/library"


def key(fake: FakeDiscord) -> ChannelKey:
    return ChannelKey("discord", str(fake.guild_id), str(fake.channel_id))


def reply_to(call: Call) -> int:
    return int(call.json["message_reference"]["message_id"])


def assert_inert(calls: list[Call]) -> None:
    """Nothing sent can ping anyone: every body carries an empty allowed_mentions."""
    for call in calls:
        assert call.json["allowed_mentions"]["parse"] == [], call
        assert not call.json["allowed_mentions"].get("users") and not call.json["allowed_mentions"].get("roles")


async def test_link_in_channel_gets_a_briefing_reply_that_opens_a_thread(
    discord_bot: Harness, fake: FakeDiscord, service: Service
) -> None:
    posted = await discord_bot.message(f"Worth a read: {LIBRARY_URL}")

    [reply] = fake.posts()
    assert reply.path == f"/channels/{fake.channel_id}/messages"
    assert reply_to(reply) == int(posted["id"])
    assert reply.json["allowed_mentions"] == NONE
    head, quotes, implications = reply.json["embeds"]
    assert head["title"] == "Riverside library switches to solar power"
    assert head["url"] == LIBRARY_URL
    assert head["description"].startswith("**TL;DR** ")
    assert "\n\n**Key points**\n• " in head["description"]
    assert any(f["name"].startswith("Mara Lindqvist") for f in quotes["fields"])
    assert implications["title"] == "Implications" and "engine: extractive" in implications["footer"]["text"]

    [thread] = fake.sent("POST", r"/threads$")
    briefing_id = int(reply.response["id"])
    assert thread.path == f"/channels/{fake.channel_id}/messages/{briefing_id}/threads"
    assert thread.json["name"] == "Riverside library switches to solar power"
    bound = await service.find_thread(key(fake), str(briefing_id))  # a thread's id is its starter message's id
    assert bound is not None and len(bound.article_ids) == 1


async def test_a_question_in_the_thread_is_answered_there(discord_bot: Harness, fake: FakeDiscord) -> None:
    await discord_bot.message(LIBRARY_URL)
    thread_id = int(fake.threads[0]["id"])

    question = await discord_bot.message("How much does the project cost?", channel_id=thread_id)
    answer = fake.posts()[-1]
    assert answer.path == f"/channels/{thread_id}/messages"
    assert reply_to(answer) == int(question["id"])
    assert "$1.2 million" in answer.json["content"]
    assert "cited from the article" in answer.json["content"]
    assert answer.json["flags"] & 4  # SUPPRESS_EMBEDS: no link previews on model text
    assert answer.json["allowed_mentions"] == NONE

    before = len(fake.posts())
    await discord_bot.message("lunch anyone?")  # chatter in the channel itself: not a question, no reply
    assert len(fake.posts()) == before


async def test_a_replayed_event_is_briefed_once(discord_bot: Harness, fake: FakeDiscord) -> None:
    payload = await discord_bot.message(LIBRARY_URL)
    await discord_bot.deliver("MESSAGE_CREATE", payload)  # gateway RESUME replays the same message
    assert len(fake.posts()) == 1
    assert len(fake.threads) == 1


async def test_two_processes_on_one_token_brief_once(
    discord_bot: Harness, fake: FakeDiscord, service: Service, store: Store
) -> None:
    # A second process: its own store connection to the same database, its own bot, the same gateway events.
    url = store.engine.url.render_as_string(hide_password=False)
    async with await Store.open(url, migrate=False) as other_store:
        other = Service(store=other_store, fetcher=service.fetcher, briefer=ExtractiveBriefer())
        second = await harness_for(fake, other)
        try:
            payload = fake.user_message(LIBRARY_URL)
            second.state.parse_message_create(payload)
            await discord_bot.deliver("MESSAGE_CREATE", payload)
            await second.settle()
        finally:
            await second.close()
    assert len(fake.posts()) == 1
    assert len(fake.threads) == 1


async def test_newspaper_reaction_briefs_a_message_once(
    discord_bot: Harness, fake: FakeDiscord, service: Service
) -> None:
    await service.update_channel_settings(key(fake), link_watching="off")
    posted = await discord_bot.message(f"no auto briefing here {LIBRARY_URL}")
    assert fake.posts() == []

    await discord_bot.deliver("MESSAGE_REACTION_ADD", fake.reaction(int(posted["id"]), "👍"))
    assert fake.posts() == []
    await discord_bot.deliver("MESSAGE_REACTION_ADD", fake.reaction(int(posted["id"])))
    [reply] = fake.posts()
    assert reply_to(reply) == int(posted["id"])
    assert reply.json["embeds"][0]["title"] == "Riverside library switches to solar power"
    assert len(fake.threads) == 1

    await discord_bot.deliver("MESSAGE_REACTION_ADD", fake.reaction(int(posted["id"])))  # a second 📰
    assert len(fake.posts()) == 1


async def test_newspaper_reaction_on_an_uncached_message_fetches_it(discord_bot: Harness, fake: FakeDiscord) -> None:
    old = fake.user_message(f"from last week: {LIBRARY_URL}")  # never delivered: not in discord.py's cache
    await discord_bot.deliver("MESSAGE_REACTION_ADD", fake.reaction(int(old["id"])))
    assert fake.sent("GET", rf"/channels/{fake.channel_id}/messages/{old['id']}$")
    [reply] = fake.posts()
    assert reply_to(reply) == int(old["id"])


async def test_mentions_and_foreign_links_in_article_text_are_neutralised(
    discord_bot: Harness, fake: FakeDiscord
) -> None:
    await discord_bot.message("http://news.example/ferry")
    [reply] = fake.posts()
    assert_inert([reply])
    assert "Ines Barros" in json.dumps(reply.json, ensure_ascii=False)
    sent = json.dumps([c.json for c in fake.calls if c.json], ensure_ascii=False)
    assert not re.search(r"@(everyone|here)", sent)
    assert not re.search(r"<[@#][!&]?\d+>", sent)  # no live user, role or channel mention anywhere
    assert "evil.example" not in sent
    name = fake.threads[0]["name"]
    assert len(name) <= 100 and "@everyone" not in name and "<@&" not in name


async def test_article_errors_are_short_replies(discord_bot: Harness, fake: FakeDiscord) -> None:
    posted = await discord_bot.message("see http://10.0.0.1/admin")
    [reply] = fake.posts()
    assert reply_to(reply) == int(posted["id"])
    assert reply.json["content"].startswith("⚠️ ")
    assert "private" in reply.json["content"] or "local" in reply.json["content"]
    assert reply.json["allowed_mentions"] == NONE and reply.json["flags"] & 4
    assert fake.threads == []


async def test_a_bug_is_an_apology_and_is_recorded(discord_bot: Harness, fake: FakeDiscord, service: Service) -> None:
    async def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("boom")

    service.brief = broken  # type: ignore[method-assign]
    await discord_bot.message(LIBRARY_URL)
    [reply] = fake.posts()
    assert reply.json["content"] == "⚠️ Sorry, something went wrong on my side; it has been logged."
    assert [type(e) for e in discord_bot.bot.failures] == [RuntimeError]
    discord_bot.bot.failures.clear()


async def test_without_a_thread_replies_to_the_briefing_are_questions(discord_bot: Harness, fake: FakeDiscord) -> None:
    fake.refuse[("POST", r"/threads$")] = (403, 50013)  # no Create Public Threads permission
    await discord_bot.message(LIBRARY_URL)
    [briefing] = fake.posts()
    briefing_id = int(briefing.response["id"])
    assert fake.threads == []

    await discord_bot.message("How many panels will be installed?", reference=briefing_id)
    answer = fake.posts()[-1]
    assert answer is not briefing and "420" in answer.json["content"]


async def test_mentions_without_a_link(discord_bot: Harness, fake: FakeDiscord) -> None:
    me = fake.bot_user()
    await discord_bot.message(f"<@{fake.bot_id}> hello", mentions=[me])
    assert "Share a link" in fake.posts()[-1].json["content"]

    article = " ".join(LIBRARY[:3])  # pasted text, long enough to be an article
    await discord_bot.message(f"<@{fake.bot_id}> {article}", mentions=[me])
    assert fake.posts()[-1].json["embeds"][0]["description"].startswith("**TL;DR**")


async def test_other_bots_are_ignored(discord_bot: Harness, fake: FakeDiscord) -> None:
    robot = fake.user(fake.snowflake(), "robot", bot=True)
    await discord_bot.message(LIBRARY_URL, author=robot)
    assert fake.posts() == []


async def test_scheduled_digest_posts_carry_stable_nonces(discord_bot: Harness, fake: FakeDiscord) -> None:
    await discord_bot.bot.post_digest(key(fake), "**Digest**\n- Library goes solar @here", key="sub-1:2026-11-30")
    [post] = fake.posts()
    assert post.path == f"/channels/{fake.channel_id}/messages"
    assert post.json["nonce"] == digest_nonce("sub-1:2026-11-30", 0) and post.json["enforce_nonce"] is True
    assert post.json["allowed_mentions"] == {"parse": []} and "@here" not in post.json["content"]

    fake.refuse[("POST", r"/messages$")] = (403, 50001)  # the bot was removed from the channel
    with pytest.raises(UndeliverableError):
        await discord_bot.bot.post_digest(key(fake), "tomorrow's digest", key="sub-1:2026-12-01")


# --- without the Message Content intent -----------------------------------------------------------------------------


@pytest.fixture
async def no_content_bot(fake: FakeDiscord, service: Service) -> AsyncIterator[Harness]:
    harness = await harness_for(fake, service, message_content=False)
    yield harness
    await harness.close()
    assert harness.bot.failures == []


async def test_without_message_content_mentions_and_dms_still_work(
    no_content_bot: Harness, fake: FakeDiscord, service: Service
) -> None:
    assert no_content_bot.bot.intents.message_content is False
    # Discord blanks the content of messages that do not mention the bot: no link watching, and no claim either.
    blank = await no_content_bot.message("")
    assert fake.posts() == []
    assert await service.claim_event(key(fake), None, blank["id"])  # still unclaimed: nothing was written

    me = fake.bot_user()
    await no_content_bot.message(f"<@{fake.bot_id}> {LIBRARY_URL}", mentions=[me])
    assert len(fake.posts()) == 1 and len(fake.threads) == 1

    dm = fake.dm_channel()
    await no_content_bot.message(LIBRARY_URL, channel_id=int(dm["id"]), guild=False)
    reply = fake.posts()[-1]
    assert reply.path == f"/channels/{dm['id']}/messages" and reply.json["embeds"]
    assert len(fake.threads) == 1  # no threads in DMs

    await no_content_bot.message("What will the panels cut?", channel_id=int(dm["id"]), guild=False)
    assert "60 percent" in fake.posts()[-1].json["content"]

    payload = await no_content_bot.command("settings", {"key": "link_watching"})
    [shown] = fake.sent("POST", rf"^/webhooks/{fake.app_id}/{payload['token']}$")
    assert "without the Message Content intent" in shown.json["content"]


# --- long briefings -------------------------------------------------------------------------------------------------


class VerboseBriefer:
    """The real offline engine, padded to a briefing of about 9,000 characters (more points, speakers and quotes)."""

    name = "extractive"

    async def brief(self, article: Article) -> Briefing:
        base = await ExtractiveBriefer().brief(article)
        points = [
            KeyPoint(text=f"Point {i}: " + "the roof will carry more panels than planned. " * 5) for i in range(14)
        ]
        quotes = [
            Quote(
                speaker=f"Speaker {i}",
                text=f"Quote {i} " + "we will measure every kilowatt. " * 20,
                kind="direct",
                start=0,
                end=1,
                verified=True,
            )
            for i in range(9)
        ]
        return base.model_copy(update={"key_points": points, "quotes": quotes})


async def test_a_long_briefing_is_split_into_messages_within_limits(
    fake: FakeDiscord, store: Store, service: Service
) -> None:
    verbose = Service(store=store, fetcher=service.fetcher, briefer=VerboseBriefer())
    harness = await harness_for(fake, verbose)
    try:
        await harness.message(LIBRARY_URL)
    finally:
        await harness.close()
    posts = fake.posts()
    assert len(posts) == 2  # 6,000 characters of embeds per message
    assert reply_to(posts[0]) > 0 and posts[0].path == f"/channels/{fake.channel_id}/messages"
    thread_id = fake.threads[0]["id"]
    assert all(p.path == f"/channels/{thread_id}/messages" for p in posts[1:])  # continuations go in the thread
    total_text = 0
    for post in posts:
        assert post.json["allowed_mentions"]["parse"] == []
        embeds = post.json["embeds"]
        assert 1 <= len(embeds) <= EMBEDS_PER_MESSAGE
        sizes = [_embed_chars(e) for e in embeds]
        assert sum(sizes) <= MESSAGE_EMBED_TOTAL
        for embed in embeds:
            assert len(embed.get("title", "")) <= 256 and len(embed.get("description", "")) <= DESCRIPTION_LIMIT
            assert len(embed.get("fields", [])) <= 25
            assert all(len(f["name"]) <= 256 and len(f["value"]) <= 1024 for f in embed.get("fields", []))
        total_text += sum(sizes)
    assert 9000 < total_text < 11_000, total_text
    sent = json.dumps([p.json for p in posts])
    assert all(f"Point {i}:" in sent for i in range(14))  # nothing lost in the split
    assert all(f"Quote {i} " in sent for i in range(9))


def _embed_chars(embed: dict) -> int:
    fields = sum(len(f["name"]) + len(f["value"]) for f in embed.get("fields", []))
    footer = len(embed.get("footer", {}).get("text", ""))
    return len(embed.get("title", "")) + len(embed.get("description", "")) + fields + footer
