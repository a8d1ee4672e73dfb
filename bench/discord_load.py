"""Load smoke test of `briefbot run` on Discord: a burst of links in one channel, against Discord's rate limits.

Usage: .venv/bin/python bench/discord_load.py [--links 50] [--model-seconds 0.5] [--replays] [--timeout 300]

Loopback only, bounded in count and time (it stops by itself and exits 1 past `--timeout`):

- the real `run()` with Discord only and the LLM engine, a temporary SQLite database, the real fetcher allowed to
  reach 127.0.0.1 only; discord.py's REST base and gateway address point at the tests' fake Discord (the library's
  network edge), whose gateway delivers the messages as Discord would;
- Discord's limits, as its headers announce them: posting in a channel 5 messages per 5 s (a fixed window per
  channel, with X-RateLimit-Limit/Remaining/Reset-After/Bucket on every answer), and 50 requests per second in all
  (the global limit); past them, 429 with `retry_after`;
- OpenAI: the tests' fake chat-completions server, `--model-seconds` slow;
- the web: a local site with one article per link.

`--links` members each paste a different link in the same channel at once (`--replays`: the gateway then delivers
every message a second time, as after a resumed session). Prints how long until every briefing was posted, the
spread of time from message to briefing, 429s by scope, duplicates and what was lost. Targets: every link briefed
exactly once, nothing lost to the limits.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")]

import discord  # noqa: E402
import yarl  # noqa: E402
from aiohttp import web  # noqa: E402
from fake_discord import LIBRARY, FakeDiscord, page  # noqa: E402
from fetch_helpers import LocalServer, Reply  # noqa: E402
from load import Bucket, LimitedOpenAI, percentile  # noqa: E402

from bot.config import Settings  # noqa: E402
from bot.run import Running, run  # noqa: E402

CHANNEL_POSTS, CHANNEL_WINDOW = 5, 5.0  # messages per channel per window (seconds)
GLOBAL_PER_SECOND = 50


class Window:
    """A fixed-window limit as Discord announces it: `limit` requests, reset `seconds` after the first one."""

    def __init__(self, limit: int, seconds: float) -> None:
        self.limit, self.seconds = limit, seconds
        self.used, self.reset_at = 0, 0.0

    def take(self) -> tuple[bool, dict[str, str]]:
        """(allowed, the X-RateLimit headers of the answer)."""
        now = time.time()
        if now >= self.reset_at:
            self.used, self.reset_at = 0, now + self.seconds
        allowed = self.used < self.limit
        self.used += allowed
        after = max(0.0, self.reset_at - now)
        return allowed, {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.limit - self.used),
            "X-RateLimit-Reset": f"{self.reset_at:.3f}",
            "X-RateLimit-Reset-After": f"{after:.3f}",
        }


class LimitedDiscord(FakeDiscord):
    """The fake Discord with per-channel posting windows and the global limit; every call is timestamped."""

    def __init__(self) -> None:
        super().__init__()
        self.limited: Counter[str] = Counter()
        self.stamps: dict[int, float] = {}  # id(call) -> when it was answered
        self._windows: dict[str, Window] = {}
        self._global = Bucket(GLOBAL_PER_SECOND, GLOBAL_PER_SECOND)

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        wait = self._global.take()
        if wait is not None:
            self.limited["global"] += 1
            body = {"message": "You are being rate limited.", "retry_after": round(wait, 3), "global": True}
            headers = {"Retry-After": f"{wait:.3f}", "X-RateLimit-Global": "true", "X-RateLimit-Scope": "global"}
            return web.json_response(body, status=429, headers=headers)
        path = "/" + request.match_info["tail"]
        headers: dict[str, str] = {}
        if request.method == "POST" and path.endswith("/messages") and path.startswith("/channels/"):
            window = self._windows.setdefault(path, Window(CHANNEL_POSTS, CHANNEL_WINDOW))
            allowed, headers = window.take()
            headers["X-RateLimit-Bucket"] = "channel-messages"
            if not allowed:
                self.limited["channel"] += 1
                after = float(headers["X-RateLimit-Reset-After"])
                body = {"message": "You are being rate limited.", "retry_after": after, "global": False}
                return web.json_response(body, status=429, headers={**headers, "X-RateLimit-Scope": "user"})
        response = await super()._rest(request)
        self.stamps[id(self.calls[-1])] = time.perf_counter()
        response.headers.update(headers)
        return response


async def main(args: argparse.Namespace) -> int:
    site = LocalServer()
    await site.start()
    for i in range(args.links):
        paragraphs = [f"Story {i}: {LIBRARY[0]}", *LIBRARY[1:]]  # one distinct article per link
        site.routes[f"/story-{i}"] = Reply(body=page(f"Riverside library switches to solar power ({i})", paragraphs))
    fake = LimitedDiscord()
    await fake.start()
    # discord.py's network edge: its REST base and gateway address (as the tests' fixture sets them).
    discord.http.Route.BASE = fake.base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(f"ws://127.0.0.1:{fake.port}/gateway")
    sent: dict[str, float] = {}
    finished: float | None = None
    async with LimitedOpenAI(args.model_seconds) as model:
        with tempfile.TemporaryDirectory() as data:
            settings = Settings(
                data_dir=Path(data),
                discord_token="bench-token",
                discord_sync_commands=False,
                health_port=0,
                llm_base_url=model.base_url,
                llm_api_key="bench-key",
                llm_tokenizer_download=False,
                fetch_allow=["127.0.0.1/32"],
                fetch_extra_ports=[site.port],
            )
            stop = asyncio.Event()
            started: asyncio.Future[Running] = asyncio.get_running_loop().create_future()
            task = asyncio.create_task(run(settings, stop=stop, on_started=started.set_result))
            try:
                async with asyncio.timeout(args.timeout):
                    await started
                    await fake.wait_for(lambda: fake.identify)
                    await asyncio.sleep(0.5)  # READY and the guild are processed
                    payloads = [
                        fake.user_message(f"worth a read http://127.0.0.1:{site.port}/story-{i}")
                        for i in range(args.links)
                    ]
                    begin = time.perf_counter()
                    for payload in payloads:
                        sent[payload["id"]] = time.perf_counter()
                        await fake.dispatch("MESSAGE_CREATE", payload)
                    if args.replays:
                        for payload in payloads:
                            await fake.dispatch("MESSAGE_CREATE", payload)
                    await fake.wait_for(lambda: len(_briefed(fake, sent)) >= args.links)
                    finished = time.perf_counter() - begin
                    await asyncio.sleep(2.0)  # late duplicates would show up here
            except TimeoutError:
                print(f"timed out after {args.timeout:.0f} s; the numbers below are partial")
            finally:
                stop.set()
                await asyncio.wait_for(task, 120)
    await fake.close()
    await site.close()
    return 0 if report(args, fake, model, sent, finished) else 1


def _briefed(fake: LimitedDiscord, sent: dict[str, float]) -> Counter[str]:
    """User message id -> how many briefing replies it got."""
    replies = (
        (c.json or {}).get("message_reference", {}).get("message_id")
        for c in fake.posts()
        if (c.json or {}).get("embeds")
    )
    return Counter(str(m) for m in replies if str(m) in sent)


def report(
    args: argparse.Namespace, fake: LimitedDiscord, model: LimitedOpenAI, sent: dict[str, float], finished: float | None
) -> bool:
    briefed = _briefed(fake, sent)
    first_reply: dict[str, float] = {}
    for call in fake.posts():
        ref = str((call.json or {}).get("message_reference", {}).get("message_id"))
        if ref in sent and (call.json or {}).get("embeds") and ref not in first_reply:
            first_reply[ref] = fake.stamps.get(id(call), 0.0) - sent[ref]
    waits = sorted(first_reply.values())
    duplicates = sum(n - 1 for n in briefed.values() if n > 1)
    threads = Counter(t["id"] for t in fake.threads)
    print(
        f"discord load: {args.links} links pasted at once in one channel"
        f"{' (each delivered twice)' if args.replays else ''}, model {args.model_seconds:.1f} s per completion; "
        f"limits {CHANNEL_POSTS} posts per {CHANNEL_WINDOW:.0f} s per channel, {GLOBAL_PER_SECOND} requests/s in all"
    )
    if finished is not None:
        print(f"every link briefed {finished:.1f} s after the first message")
    if waits:
        print(
            f"message -> briefing: p50 {statistics.median(waits):.1f} s, p90 {percentile(waits, 0.9):.1f} s, "
            f"max {waits[-1]:.1f} s (the channel's limit alone needs {_floor_seconds(args.links):.0f} s)"
        )
    lost = args.links - len(briefed)
    print(f"posted: {len(briefed)}/{args.links} briefings, {len(threads)} threads opened; lost: {lost}")
    print(f"duplicate briefings: {duplicates}")
    print(
        f"429s: {dict(fake.limited) or 0} (answered by Discord's headers and retried by discord.py); "
        f"REST requests {len(fake.calls)}; model requests {len(model.requests)}, OpenAI 429s {model.limited}"
    )
    ok = finished is not None and len(briefed) == args.links and duplicates == 0 and len(threads) == args.links
    print("PASS" if ok else "FAIL", "(targets: every link briefed exactly once, one thread each, nothing lost)")
    return ok


def _floor_seconds(links: int) -> float:
    """The least time `links` replies in one channel can take under the per-channel window."""
    return (math.ceil(links / CHANNEL_POSTS) - 1) * CHANNEL_WINDOW


def cli() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--links", type=int, default=50)
    parser.add_argument("--model-seconds", type=float, default=0.5)
    parser.add_argument("--replays", action="store_true", help="deliver every message twice (a resumed session)")
    parser.add_argument("--timeout", type=float, default=300.0)
    sys.exit(asyncio.run(main(parser.parse_args())))


if __name__ == "__main__":
    cli()
