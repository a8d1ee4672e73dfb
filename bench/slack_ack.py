"""Slack acknowledgement latency under load: 50 concurrent signed events while slow briefings run in the background.

Usage: .venv/bin/python bench/slack_ack.py [--events 50] [--brief-seconds 2]

Everything is local and loopback-only: the real app in HTTP mode on 127.0.0.1 (port 0); the events, signed, sent
from a child process (as Slack's come from elsewhere, so the app's loop is not also running the load generator);
the fake Slack Web API of the tests; a local site serving one article under N different URLs (so N briefings really
run); a temporary SQLite store; and a `SlowBriefer` (the offline engine after an `asyncio.sleep`, standing in for a
slow model). Prints the ack latency p50/p99/max, the time until every briefing was posted, and the posts counted;
exits 1 if the ack p99 reaches 1 s or a briefing is missing or duplicated.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")]

from fake_slack import NIGHT_BUS, FakeSlack, event_body, hermetic_fetcher, message, page  # noqa: E402
from fetch_helpers import LocalServer, Reply  # noqa: E402
from load import fire, percentile  # noqa: E402

from bot.adapters.slack_app import SlackConfig, build_slack, serve_http  # noqa: E402
from bot.brief.extractive import ExtractiveBriefer  # noqa: E402
from bot.models import Article, Briefing  # noqa: E402
from bot.service import Service  # noqa: E402
from bot.store import Store  # noqa: E402

SECRET = "bench-signing-secret"
TARGET_P99 = 1.0


class SlowBriefer:
    """The offline engine, `delay` seconds slower: a stand-in for an LLM call."""

    name = "slow"

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self._engine = ExtractiveBriefer()

    async def brief(self, article: Article) -> Briefing:
        await asyncio.sleep(self.delay)
        briefing = await self._engine.brief(article)
        return briefing.model_copy(update={"engine": self.name})


async def run(events: int, delay: float) -> int:
    bodies = [
        json.dumps(event_body(message(f"<http://news.example/story-{i}>", ts=f"1700000000.{i:06d}"), event_id=f"Ev{i}"))
        for i in range(events)
    ]
    with tempfile.TemporaryDirectory() as data:
        store = await Store.open(f"sqlite+aiosqlite:///{data}/bench.db")
        site = LocalServer()
        await site.start()
        for index in range(events):
            site.routes[f"/story-{index}"] = Reply(body=page("Night bus pilot", NIGHT_BUS))
        async with FakeSlack() as fake, hermetic_fetcher(site) as fetcher:
            service = Service(store=store, fetcher=fetcher, briefer=SlowBriefer(delay))
            config = SlackConfig(mode="http", bot_token="xoxb-test", signing_secret=SECRET, api_url=fake.api_url)
            runtime = build_slack(config, service)
            async with serve_http(runtime, "127.0.0.1", 0) as port:
                started = time.perf_counter()
                # Slack is not in our process: the events come from a child process, so the app's event loop is
                # timed doing its own work (and the fake Slack's), not the load generator's too.
                with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork")) as pool:
                    url = f"http://127.0.0.1:{port}/slack/events"
                    results = await asyncio.get_running_loop().run_in_executor(pool, fire, url, bodies, SECRET)
                await fake.wait_calls("chat.update", events, timeout=60 + events * delay)
                await runtime.bot.drain()
                finished = time.perf_counter() - started
            await runtime.aclose()
        await site.close()
        await store.close()

    latencies = [seconds for _, seconds in results]
    statuses = {status for status, _ in results}
    posts, updates = len(fake.called("chat.postMessage")), len(fake.called("chat.update"))
    p50, p99 = statistics.median(latencies), percentile(latencies, 0.99)
    print(f"events: {events} concurrent, briefer delay {delay:.1f} s, concurrency cap {config.max_concurrency}")
    print(f"HTTP statuses: {sorted(statuses)}")
    print(f"ack latency: p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms")
    print(f"all briefings posted after {finished:.2f} s; placeholders {posts}, briefings {updates}")
    print(f"bugs recorded by the bot: {len(runtime.bot.failures)}")
    ok = statuses == {200} and p99 < TARGET_P99 and posts == updates == events and not runtime.bot.failures
    print("PASS" if ok else "FAIL", f"(target: ack p99 < {TARGET_P99:.0f} s, one briefing per event)")
    return 0 if ok else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=50)
    parser.add_argument("--brief-seconds", type=float, default=2.0)
    args = parser.parse_args()
    sys.exit(asyncio.run(run(args.events, args.brief_seconds)))


if __name__ == "__main__":
    main()
