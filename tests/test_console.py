"""`briefbot chat` end to end: transcripts through the console channel, and the real command in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.adapters.console import ConsoleChannel
from bot.config import load_settings
from bot.wiring import open_core

ROOT = Path(__file__).resolve().parents[1]
ARTICLE = (ROOT / "examples" / "harbor-bridge.txt").read_text()


@pytest.fixture
async def chat(tmp_path: Path) -> AsyncIterator[ConsoleChannel]:
    settings = load_settings(data_dir=tmp_path / "data")
    async with open_core(settings) as core:
        channel = ConsoleChannel(core.service)
        await channel.start()
        yield channel


async def say(chat: ConsoleChannel, line: str) -> str:
    return "\n".join(await chat.handle(line))


async def test_transcript_brief_then_follow_ups(chat: ConsoleChannel) -> None:
    assert "no briefing to ask about" in await say(chat, "How much will it cost?")

    await say(chat, "/paste")
    for line in ARTICLE.splitlines():
        assert await chat.handle(line) == []
    briefing = await say(chat, ".")
    assert briefing.startswith("**Thread 1**")
    assert "Who said what" in briefing
    assert "Alicia Moreno" in briefing
    assert "Share this article" not in briefing

    answer = await say(chat, "How much will the repairs cost?")
    assert "$186 million" in answer
    assert "cited from the article" in answer

    assert await say(chat, "What did the governor say about the ferry?") == "The article doesn't say."
    near = await say(chat, "What will the detour cost drivers?")  # refused, with the passage that came closest
    assert near.startswith("The article doesn't say.\n\nThe closest it comes:\n\n> ")
    assert "$40 million" in near and "_article characters " in near


async def test_threads_and_switching(chat: ConsoleChannel) -> None:
    await say(chat, "/brief " + ARTICLE.replace("\n", " "))
    second = ARTICLE.replace("Port Ellery", "Lake Morrow").replace("\n", " ")
    assert "**Thread 2**" in await say(chat, "/brief " + second)
    listing = await say(chat, "/threads")
    assert "1. " in listing and "2. " in listing
    assert "← current" in listing.splitlines()[-1]
    assert "Now in thread 1" in await say(chat, "/thread 1")
    assert "no thread 7" in await say(chat, "/thread 7")


async def test_feeds_commands(chat: ConsoleChannel) -> None:
    assert "No subscriptions" in await say(chat, "/feeds")
    # Subscribing fetches the feed once, through the same guard as links: a local address is refused.
    assert "private or local address" in await say(chat, "/subscribe http://127.0.0.1/rss")
    assert "No subscriptions" in await say(chat, "/feeds")
    assert "was not subscribed" in await say(chat, "/unsubscribe https://news.example/rss")


async def test_errors_are_one_sentence_replies(chat: ConsoleChannel) -> None:
    assert "private or local address" in await say(chat, "http://127.0.0.1/admin")
    assert "Unknown command `/frobnicate`" in await say(chat, "/frobnicate")
    assert "/help" in await say(chat, "/help")


def _run_chat(data_dir: Path, script: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BRIEFBOT_")}
    env.update({"BRIEFBOT_DATA_DIR": str(data_dir), "COLUMNS": "200", "NO_COLOR": "1"})
    return subprocess.run(
        [sys.executable, "-m", "bot", "chat"],
        input=script,
        capture_output=True,
        text=True,
        env=env,
        cwd=data_dir.parent,
        timeout=120,
        check=False,
    )


def test_a_restarted_chat_continues_the_thread(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = _run_chat(data, "/paste\n" + ARTICLE + "\n.\n/quit\n")
    assert first.returncode == 0, first.stderr
    assert "Thread 1" in first.stdout

    second = _run_chat(data, "Who is the chief city engineer?\n/threads\n")
    assert second.returncode == 0, second.stderr
    assert "Continuing in thread 1" in second.stdout
    assert "Okafor" in second.stdout
    assert "1. " in second.stdout
