"""The Slack app end to end: signed HTTP requests into the real Bolt app on a real port, against a fake Slack Web API.

The core is real (SQLite store, offline engine, SSRF-safe fetcher reaching a local site through a stub resolver and a
loopback-only connector). Tests wait on the fake recording the expected call, never on sleeps; `slack_world` fails a
test whose background work hit a bug.
"""

# ruff: noqa: F811  (pytest fixtures imported from store_support are injected by parameter name)

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator

import pytest
from fake_slack import (
    LIBRARY,
    FakeSlack,
    Scripted,
    SlackWorld,
    event_body,
    live_mentions,
    message,
    sign,
    slack_world,
)
from store_support import clock, migrated_url, sqlite_template, store  # noqa: F401

from bot.adapters.slack_app import SlackConfig, build_slack, run_http, run_socket_mode, serve_socket_mode
from bot.adapters.slack_blocks import plain_text
from bot.errors import ConfigError
from bot.models import Article, Briefing, KeyPoint, Quote, SourceInfo
from bot.service import Service
from bot.store import ChannelKey, Store

CHANNEL = ChannelKey("slack", "T1", "C1")
LINK = "http://news.example/night-bus"


@pytest.fixture
def backend() -> str:
    return "sqlite"  # the Slack adapter's storage needs are the store's own, tested on both databases there


@pytest.fixture
async def world(store: Store) -> AsyncIterator[SlackWorld]:
    async with slack_world(store) as opened:
        yield opened


def blocks_text(call_params: dict) -> str:
    return json.dumps(call_params.get("blocks", []), ensure_ascii=False)


async def briefed(world: SlackWorld, count: int = 1) -> list:
    """Wait for `count` placeholders to be replaced by briefings, then for all background work to finish."""
    updates = await world.fake.wait_calls("chat.update", count)
    await world.bot.drain()
    return updates


# --- triggers ------------------------------------------------------------------------------------------------------


async def test_pasted_link_gets_a_placeholder_then_the_briefing_in_its_thread(world: SlackWorld) -> None:
    status, _ = await world.event(message(f"look at <{LINK}>", ts="111.0001"), event_id="Ev1")
    assert status == 200
    (update,) = await briefed(world)
    (placeholder,) = world.fake.called("chat.postMessage")
    assert placeholder.params["channel"] == "C1"
    assert placeholder.params["thread_ts"] == "111.0001"
    assert "Reading http://news.example/night-bus" in placeholder.params["text"]
    assert placeholder.params["unfurl_links"] is False and placeholder.params["unfurl_media"] is False
    assert update.params["ts"] == placeholder.response["ts"]
    blocks = update.params["blocks"]
    assert blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Millbrook approves night bus pilot &amp; new routes"},
    }
    text = blocks_text(update.params)
    assert "*TL;DR*" in text and "*Key points*" in text and "*Who said what*" in text and "*Implications*" in text
    assert "*Dana Whitfield* _(council's transport director)_" in text
    assert f"<{LINK}>" in text and "engine: extractive" in text  # the context block
    assert update.params["text"].startswith("Millbrook approves night bus pilot")  # the fallback
    assert placeholder.token == update.token == "xoxb-test"


async def test_article_mentions_and_links_never_become_live(world: SlackWorld) -> None:
    await world.event(message(f"<{LINK}>", ts="111.0002"), event_id="Ev2")
    await briefed(world)
    thread = await world.service.find_thread(CHANNEL, "111.0002")
    assert thread is not None
    stored = await world.service.store.briefings.get(thread.article_ids[0], "extractive", None)
    assert stored is not None
    raw = stored.model_dump_json()
    assert "<!channel>" in raw and "<@U024BE7LH>" in raw and "<!subteam^S0123" in raw  # the article carries them
    assert live_mentions(world.fake) == []  # ...and nothing posted does
    text = blocks_text(world.fake.called("chat.update")[0].params)
    assert "evil.example" not in text


async def test_mention_with_a_link_is_briefed_once_although_slack_sends_message_and_app_mention(
    world: SlackWorld,
) -> None:
    text = f"<@UBOT> what is this? <{LINK}>"
    await world.event(message(text, ts="111.0003", kind="app_mention"), event_id="EvMention")
    await world.event(message(text, ts="111.0003"), event_id="EvMessage")
    await briefed(world)
    assert len(world.fake.called("chat.postMessage")) == 1
    assert len(world.fake.called("chat.update")) == 1


async def test_mention_with_pasted_article_text_briefs_the_text(world: SlackWorld) -> None:
    article = " ".join(LIBRARY)
    await world.event(message(f"<@UBOT> {article}", ts="111.0004", kind="app_mention"), event_id="Ev4")
    (update,) = await briefed(world)
    assert "Reading the pasted text" in world.fake.called("chat.postMessage")[0].params["text"]
    assert "Marta Okafor" in blocks_text(update.params)


async def test_bare_mention_gets_a_hint_not_a_briefing(world: SlackWorld) -> None:
    await world.event(message("<@UBOT> hello!", ts="111.0005", kind="app_mention"), event_id="Ev5")
    (hint,) = await world.fake.wait_calls("chat.postMessage")
    await world.bot.drain()
    assert "Share a link" in hint.params["text"] and hint.params["thread_ts"] == "111.0005"
    assert world.fake.called("chat.update") == []


async def test_follow_up_question_in_the_thread_is_answered_from_the_article(world: SlackWorld) -> None:
    await world.event(message(f"<{LINK}>", ts="111.0006"), event_id="Ev6a")
    await briefed(world)
    question = message("How much will the pilot cost?", ts="111.0007", thread_ts="111.0006")
    await world.event(question, event_id="Ev6b")
    updates = await briefed(world, 2)
    placeholder = world.fake.called("chat.postMessage")[-1]
    assert placeholder.params["thread_ts"] == "111.0006"
    answer = updates[-1]
    assert answer.params["ts"] == placeholder.response["ts"]
    assert "$1.4 million" in blocks_text(answer.params)
    assert "cited from the article" in blocks_text(answer.params)


async def test_reply_in_an_ordinary_thread_is_ignored(world: SlackWorld) -> None:
    await world.event(message("nice", ts="111.0009", thread_ts="111.0008"), event_id="Ev7")
    await world.bot.drain()
    assert [m for m in world.fake.methods() if m.startswith("chat.")] == []


async def test_slash_command_acks_at_once_and_briefs_into_a_new_thread(world: SlackWorld) -> None:
    status, body = await world.command(LINK)
    assert status == 200 and body == ""
    (update,) = await briefed(world)
    (placeholder,) = world.fake.called("chat.postMessage")
    assert "thread_ts" not in placeholder.params  # the placeholder starts the thread
    assert placeholder.params["unfurl_links"] is False
    assert "Millbrook" in update.params["text"]
    # The briefing's thread is bound: a reply there is a follow-up question.
    root = update.params["ts"]
    await world.event(message("Who voted against the plan?", ts="222.0001", thread_ts=root), event_id="Ev8")
    answers = await briefed(world, 2)
    assert "Owen Marsh" in blocks_text(answers[-1].params)


async def test_slash_subcommands_manage_the_channel(world: SlackWorld) -> None:
    status, _ = await world.command("subscribe http://news.example/feed.xml")
    assert status == 200
    (reply,) = await world.fake.wait_calls("response_url")
    assert "Subscribed this channel to http://news.example/feed.xml" in reply.params["text"]
    assert reply.params["response_type"] == "ephemeral"
    assert [s.feed_url for s in await world.service.feeds(CHANNEL)] == ["http://news.example/feed.xml"]

    await world.command("settings link_watching mention")
    replies = await world.fake.wait_calls("response_url", 2)
    assert "Updated `link_watching` to mention" in replies[-1].params["text"]
    assert (await world.service.channel_settings(CHANNEL)).link_watching == "mention"

    await world.command("settings link_watching sometimes")
    replies = await world.fake.wait_calls("response_url", 3)
    assert "Invalid setting" in replies[-1].params["text"]

    await world.command("digest")
    replies = await world.fake.wait_calls("response_url", 4)
    assert replies[-1].params["text"] == "The digest is not available yet."


async def test_slash_help_is_the_acknowledgement(world: SlackWorld) -> None:
    status, body = await world.command("help")
    assert status == 200 and "/brief subscribe FEED_URL" in body
    await world.bot.drain()
    assert world.fake.called("response_url") == []


async def test_link_watching_mention_only_briefs_when_mentioned(world: SlackWorld) -> None:
    await world.service.update_channel_settings(CHANNEL, link_watching="mention")
    await world.event(message(f"<{LINK}>", ts="111.0010"), event_id="Ev9")
    await world.bot.drain()
    assert world.fake.called("chat.postMessage") == []
    await world.event(message(f"<@UBOT> <{LINK}>", ts="111.0011"), event_id="Ev10")
    await briefed(world)
    assert world.fake.called("chat.postMessage")[0].params["thread_ts"] == "111.0011"


async def test_message_shortcut_briefs_the_message_in_its_thread(world: SlackWorld) -> None:
    msg = {"type": "message", "user": "U2", "ts": "333.0001", "text": f"worth a read <{LINK}|night buses>"}
    status, body = await world.shortcut(msg)
    assert status == 200 and body == ""
    (update,) = await briefed(world)
    assert world.fake.called("chat.postMessage")[0].params["thread_ts"] == "333.0001"
    assert "Millbrook" in update.params["text"]


async def test_shared_html_file_is_downloaded_with_the_bot_token_and_briefed(world: SlackWorld) -> None:
    html = "".join(f"<p>{p}</p>" for p in LIBRARY)
    world.fake.file_bodies["T1-F1/memo.html"] = f"<html><title>Library memo</title><body>{html}</body></html>".encode()
    world.fake.files["F1"] = {
        "id": "F1",
        "name": "memo.html",
        "mimetype": "text/html",
        "filetype": "html",
        "size": 2000,
        "url_private_download": f"{world.fake.url}/files-pri/T1-F1/memo.html",
        "permalink": "https://test.example/files/U1/F1/memo.html",
    }
    shared = message(
        "",
        ts="111.0012",
        subtype="file_share",
        files=[{"id": "F1", "name": "memo.html", "mimetype": "text/html", "filetype": "html"}],
    )
    await world.event(shared, event_id="Ev11")
    (update,) = await briefed(world)
    (download,) = world.fake.called("file_download")
    assert download.token == "xoxb-test"
    assert "Reading memo.html" in world.fake.called("chat.postMessage")[0].params["text"]
    assert "Marta Okafor" in blocks_text(update.params)


async def test_shared_image_is_not_briefed_unasked(world: SlackWorld) -> None:
    picture = [{"id": "F2", "name": "cat.png", "mimetype": "image/png", "filetype": "png"}]
    await world.event(message("", ts="111.0013", subtype="file_share", files=picture), event_id="Ev12")
    await world.bot.drain()
    assert world.fake.called("files.info") == [] and world.fake.called("chat.postMessage") == []


async def test_user_facing_errors_replace_the_placeholder(world: SlackWorld) -> None:
    await world.event(message("<http://news.example/missing>", ts="111.0014"), event_id="Ev13")
    (update,) = await briefed(world)
    assert update.params["text"].startswith(":warning:")
    assert "Millbrook" not in update.params["text"]


# --- reliability ---------------------------------------------------------------------------------------------------


async def test_the_same_event_delivered_four_times_is_briefed_once(world: SlackWorld) -> None:
    event = message(f"<{LINK}>", ts="111.0020")
    statuses = [(await world.event(event, event_id="EvDup", retry=retry))[0] for retry in (None, 1, 2, 3)]
    assert statuses == [200, 200, 200, 200]
    await briefed(world)
    assert len(world.fake.called("chat.postMessage")) == 1
    assert len(world.fake.called("chat.update")) == 1


async def test_a_first_time_retry_is_processed(world: SlackWorld) -> None:
    status, _ = await world.event(message(f"<{LINK}>", ts="111.0021"), event_id="EvRetryOnly", retry=1)
    assert status == 200
    await briefed(world)
    assert len(world.fake.called("chat.update")) == 1


async def test_own_and_other_bots_messages_are_ignored(world: SlackWorld) -> None:
    await world.event(message(f"<{LINK}>", ts="111.0022", user="UBOT"), event_id="EvSelf")
    await world.event(message(f"<{LINK}>", ts="111.0023", user="U7", bot_id="B7"), event_id="EvBot")
    await world.event(message(f"<{LINK}>", ts="111.0024", subtype="bot_message", bot_id="B8"), event_id="EvBotMsg")
    await world.event(message(f"<{LINK}>", ts="111.0025", subtype="message_changed"), event_id="EvEdit")
    await world.bot.drain()
    assert world.fake.methods() == ["auth.test"]  # at start-up; nothing for the ignored messages


async def test_rate_limit_is_retried_after_retry_after(world: SlackWorld) -> None:
    world.fake.script("chat.postMessage", Scripted(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "0"}))
    await world.event(message(f"<{LINK}>", ts="111.0026"), event_id="Ev429")
    await briefed(world)
    posts = world.fake.called("chat.postMessage")
    assert len(posts) == 2 and posts[0].params == posts[1].params
    assert len(world.fake.called("chat.update")) == 1


async def test_token_revoked_disables_the_channel_subscriptions_without_retrying(world: SlackWorld) -> None:
    await world.service.subscribe(CHANNEL, "http://news.example/feed.xml")
    world.fake.error("chat.postMessage", "token_revoked")
    await world.event(message(f"<{LINK}>", ts="111.0027"), event_id="EvRevoked")
    await world.fake.wait_calls("chat.postMessage")
    await world.bot.drain()
    assert len(world.fake.called("chat.postMessage")) == 1  # not retried
    (subscription,) = await world.service.feeds(CHANNEL)
    assert subscription.disabled_reason == "Slack: token_revoked"


async def test_not_in_channel_on_a_slash_command_says_how_to_fix_it(world: SlackWorld) -> None:
    world.fake.error("chat.postMessage", "not_in_channel")
    await world.command(LINK, channel="C9")
    (reply,) = await world.fake.wait_calls("response_url")
    await world.bot.drain()
    assert "/invite @briefbot" in reply.params["text"]


async def test_bad_signature_is_rejected_without_work_or_leaks(world: SlackWorld, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    body = json.dumps(event_body(message(f"secret words <{LINK}>", ts="111.0030"), event_id="EvForged"))
    headers = sign("not-the-secret", body)
    status, _ = await world.post(body, content_type="application/json", headers=headers)
    assert status == 401
    await world.bot.drain()
    assert world.fake.methods() == ["auth.test"]  # the start-up token check only
    assert await world.service.claim_event(CHANNEL, "EvForged")  # never claimed: no work was started
    assert "Rejected a Slack request: bad signature" in caplog.text
    assert (
        "secret words" not in caplog.text
        and "xoxb-" not in caplog.text
        and headers["X-Slack-Signature"] not in caplog.text
    )


async def test_stale_timestamp_is_rejected(world: SlackWorld) -> None:
    body = json.dumps(event_body(message(f"<{LINK}>", ts="111.0031"), event_id="EvStale"))
    status, _ = await world.post(
        body, content_type="application/json", headers=sign(world.secret, body, str(int(time.time()) - 600))
    )
    assert status == 401
    await world.bot.drain()
    assert world.fake.methods() == ["auth.test"]


@pytest.mark.parametrize("timestamp", ["yesterday", "", "1e9", "١٧٠٠٠٠٠٠٠٠", "9" * 5000])
async def test_non_numeric_timestamp_is_a_client_error(world: SlackWorld, timestamp: str) -> None:
    body = json.dumps(event_body(message(f"<{LINK}>", ts="111.0032"), event_id="EvBadTs"))
    headers = {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": "v0=00"}
    status, _ = await world.post(body, content_type="application/json", headers=headers)
    assert status == 401


async def test_malformed_body_is_a_client_error(world: SlackWorld) -> None:
    status, _ = await world.post("{not json", content_type="application/json")
    assert status == 400


async def test_url_verification_challenge_is_answered(world: SlackWorld) -> None:
    body = json.dumps({"token": "x", "challenge": "c-123", "type": "url_verification"})
    status, text = await world.post(body, content_type="application/json")
    assert status == 200 and "c-123" in text


# --- long briefings ------------------------------------------------------------------------------------------------


class BigBriefer:
    """A briefing with 70 speakers: more than 50 blocks, so it must continue in further messages."""

    name = "big"

    async def brief(self, article: Article) -> Briefing:
        quotes = [
            Quote(speaker=f"Speaker {i}", text=f"Point number {i} " * 30, kind="direct", start=i, end=i + 1)
            for i in range(70)
        ]
        return Briefing(
            tldr="Many people spoke.",
            key_points=[KeyPoint(text="A long meeting.")],
            quotes=quotes,
            implications=[],
            source=SourceInfo(title="Town hall", url=article.url),
            engine=self.name,
        )


async def test_long_briefing_continues_in_the_same_thread(store: Store) -> None:
    async with slack_world(store, briefer=BigBriefer()) as world:
        await world.event(message(f"<{LINK}>", ts="444.0001"), event_id="EvBig")
        await world.fake.wait_calls("chat.update")
        await world.bot.drain()
        posts = world.fake.called("chat.postMessage")
        continuations = posts[1:]
        assert continuations, "expected continuation messages"
        for call in [world.fake.called("chat.update")[0], *continuations]:
            assert len(call.params["blocks"]) <= 50 and call.params["text"]
        for call in continuations:
            assert call.params["thread_ts"] == "444.0001" and call.params["unfurl_links"] is False
        speakers = "".join(blocks_text(c.params) for c in [world.fake.called("chat.update")[0], *continuations])
        assert all(f"*Speaker {i}*" in speakers for i in range(70))


# --- Socket Mode ---------------------------------------------------------------------------------------------------


async def test_socket_mode_envelope_is_acked_and_briefed(store: Store) -> None:
    async with slack_world(store) as world:
        config = SlackConfig(mode="socket", bot_token="xoxb-test", app_token="xapp-test", api_url=world.fake.api_url)
        runtime = build_slack(config, world.service)
        stop = asyncio.Event()
        serving = asyncio.create_task(serve_socket_mode(runtime, stop))
        try:
            await world.fake.wait_calls("socket_connected")
            opened = world.fake.called("apps.connections.open")
            assert len(opened) == 2  # the app token checked at start, then the handler's own connection
            assert all(call.token == "xapp-test" for call in opened)
            body = event_body(message(f"<{LINK}>", ts="555.0001"), event_id="EvSocket")
            await world.fake.socket_send(
                {"envelope_id": "env-1", "type": "events_api", "payload": body, "accepts_response_payload": False}
            )
            await world.fake.wait_calls("chat.update")
            await runtime.bot.drain()
            assert {"envelope_id": "env-1"} in world.fake.socket_acks
            assert world.fake.called("chat.postMessage")[0].params["thread_ts"] == "555.0001"
            assert live_mentions(world.fake) == []
            assert not runtime.bot.failures
        finally:
            stop.set()
            await serving


async def test_app_home_lists_the_workspace_subscriptions_and_digest_times(world: SlackWorld) -> None:
    await world.service.subscribe(CHANNEL, "http://news.example/feed.xml")  # its title: "News <!channel> feed"
    await world.service.update_channel_settings(CHANNEL, digest_time="07:45")
    await world.event({"type": "app_home_opened", "user": "U1", "tab": "home"}, event_id="EvHome")
    (published,) = await world.fake.wait_calls("views.publish")
    await world.bot.drain()
    assert published.params["user_id"] == "U1" and published.params["view"]["type"] == "home"
    text = json.dumps(published.params["view"], ensure_ascii=False)
    assert "<#C1>" in text and "07:45" in text and "News &lt;!channel&gt; feed" in text
    assert live_mentions(world.fake) == []


async def test_a_refused_bot_token_stops_start_up_with_a_clear_message(store: Store) -> None:
    async with FakeSlack() as fake:
        config = SlackConfig(mode="http", bot_token="xoxb-revoked", signing_secret="s", api_url=fake.api_url)
        runtime = build_slack(config, Service(store=store, fetcher=None, briefer=BigBriefer()))  # type: ignore[arg-type]
        with pytest.raises(ConfigError, match=r"refused BRIEFBOT_SLACK_BOT_TOKEN \(invalid_auth\)"):
            await runtime.start()


async def test_events_reuse_the_start_up_auth_test(world: SlackWorld) -> None:
    events = [message("chatter", ts=f"888.{i:04d}") for i in range(10)]
    await asyncio.gather(*(world.event(e, event_id=f"EvChat{i}") for i, e in enumerate(events)))
    await world.bot.drain()
    assert world.fake.methods() == ["auth.test"]


async def test_mention_in_a_briefing_thread_is_a_question_answered_once(world: SlackWorld) -> None:
    await world.event(message(f"<{LINK}>", ts="999.0001"), event_id="EvQ1")
    await briefed(world)
    text = "<@UBOT> how much will the pilot cost?"
    question = message(text, ts="999.0002", thread_ts="999.0001", kind="app_mention")
    await world.event(question, event_id="EvQ2")
    await world.event({**question, "type": "message"}, event_id="EvQ3")
    updates = await briefed(world, 2)
    assert len(world.fake.called("chat.update")) == 2  # one briefing, one answer
    assert "$1.4 million" in blocks_text(updates[-1].params)


async def test_digest_command_posts_the_wired_digest_escaped(store: Store) -> None:
    async def digest(channel: ChannelKey) -> str:
        return f"Digest for {channel.channel}: 3 new articles <!channel> & more"

    async with slack_world(store, digest=digest) as world:
        await world.command("digest")
        (post,) = await world.fake.wait_calls("chat.postMessage")
        await world.bot.drain()
        assert "Digest for C1: 3 new articles &lt;!channel&gt; &amp; more" in blocks_text(post.params)
        assert post.params["unfurl_links"] is False and live_mentions(world.fake) == []


def test_plain_text_reads_slack_markup_as_words() -> None:
    marked = "See <https://a.example/x?y=1&amp;z=2|the plan> in <#C1|general> &lt;3 <!here> <https://b.example/>"
    assert plain_text(marked) == "See the plan in #general <3  https://b.example/"


@pytest.mark.parametrize("mode", ["http", "socket"])
async def test_run_functions_start_and_stop_cleanly(store: Store, mode: str) -> None:
    async with FakeSlack() as fake:
        config = SlackConfig(
            mode=mode,
            bot_token="xoxb-test",
            app_token="xapp-test",
            signing_secret="s",
            api_url=fake.api_url,
            http_host="127.0.0.1",
            http_port=0,
        )
        service = Service(store=store, fetcher=None, briefer=BigBriefer())  # type: ignore[arg-type]
        stop = asyncio.Event()
        runner = run_http if mode == "http" else run_socket_mode
        running = asyncio.create_task(runner(config, service, stop=stop))
        await fake.wait_calls("auth.test")  # the start-up token check
        if mode == "socket":
            await fake.wait_calls("socket_connected")
        stop.set()
        await asyncio.wait_for(running, 10)


async def test_a_refused_app_token_stops_socket_mode_at_once(store: Store) -> None:
    async with slack_world(store) as world:
        world.fake.error("apps.connections.open", "invalid_auth")
        config = SlackConfig(mode="socket", bot_token="xoxb-test", app_token="xapp-bad", api_url=world.fake.api_url)
        with pytest.raises(ConfigError, match="Slack refused BRIEFBOT_SLACK_APP_TOKEN \\(invalid_auth\\)"):
            await asyncio.wait_for(serve_socket_mode(build_slack(config, world.service), asyncio.Event()), 10)
        assert world.fake.called("socket_connected") == []
