"""Load smoke test of `briefbot run`: concurrent mentions plus a digest to many channels, against rate-limited fakes.

Usage: .venv/bin/python bench/load.py [--mentions 50] [--channels 200] [--mention-channels 10] [--model-seconds 0.5]
                                      [--timeout 180] [--tracemalloc]

Loopback only, bounded in count and time (it stops by itself and exits 1 past `--timeout`):

- the real `run()` in Slack HTTP mode with the LLM engine, a temporary SQLite database, the real fetcher allowed to
  reach 127.0.0.1 only;
- Slack: the tests' fake Web API with Slack's limits: chat.postMessage 1 per second per channel, chat.update Tier 3
  (a bucket of 50 refilling 50 per minute per workspace); past them, 429 with Retry-After;
- OpenAI: the tests' fake chat-completions server, `--model-seconds` slow, at most 20 requests in flight and 300 a
  minute; past them, 429 with Retry-After;
- the web: a local site with one article per mention, the seeded digest story and an (empty) feed.

`--channels` channels are seeded with a briefed story in a thread, a feed and a digest slot two minutes ago, so the
start-up sweep posts every digest while the mentions arrive: `--mentions` signed `app_mention` events, each with its
`message` twin (same message ts, another event id) as Slack sends both, spread over the first `--mention-channels`
digest channels, all sent at once from a child process. Prints ack latency (p50/p99/max), duplicate posts, 429s by
fake and method, what was posted, and peak memory. Targets: every ack < 3 s, no duplicate, no 429, nothing missing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402
from fake_openai import FakeOpenAI  # noqa: E402
from fake_slack import LIBRARY, NIGHT_BUS, FakeSlack, event_body, message, page, sign  # noqa: E402
from fetch_helpers import LocalServer, Reply  # noqa: E402

from bot.brief.extractive import ExtractiveBriefer  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.ingest.fetch import FetchPolicy, SafeFetcher  # noqa: E402
from bot.ingest.urls import normalize_url  # noqa: E402
from bot.run import Running, run  # noqa: E402
from bot.service import Place, Service, Source  # noqa: E402
from bot.store import ChannelKey, Store  # noqa: E402

SECRET = "load-signing-secret"
ACK_TARGET = 3.0
EMPTY_FEED = b'<?xml version="1.0"?><rss version="2.0"><channel><title>Quiet</title></channel></rss>'


class Bucket:
    """A token bucket: `capacity` requests at once, refilled at `rate` per second."""

    def __init__(self, capacity: float, rate: float) -> None:
        self.capacity, self.rate = capacity, rate
        self.tokens, self.stamp = capacity, time.monotonic()

    def take(self) -> float | None:
        """None when allowed, else the seconds until a token is back (the Retry-After)."""
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return None
        return (1 - self.tokens) / self.rate


class LimitedSlack(FakeSlack):
    """The fake Slack Web API with Slack's posting limits; refused calls are counted in `limited`, not recorded."""

    def __init__(self) -> None:
        super().__init__()
        self.limited: Counter[str] = Counter()
        self._per_channel: dict[str, Bucket] = {}
        self._updates = Bucket(50, 50 / 60)

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        wait = None
        if method == "chat.postMessage":
            channel = str((await self._params(request)).get("channel"))
            wait = self._per_channel.setdefault(channel, Bucket(1, 1.0)).take()
        elif method == "chat.update":
            wait = self._updates.take()
        if wait is not None:
            self.limited[method] += 1
            headers = {"Retry-After": str(max(1, round(wait + 0.5)))}
            return web.json_response({"ok": False, "error": "ratelimited"}, status=429, headers=headers)
        return await super()._api(request)


class LimitedOpenAI(FakeOpenAI):
    """The fake model: `delay` seconds per completion, at most `concurrent` in flight and `per_minute` a minute."""

    def __init__(self, delay: float, concurrent: int = 20, per_minute: int = 300) -> None:
        super().__init__()
        self.delay, self.concurrent = delay, concurrent
        self.in_flight = self.limited = self.peak = 0
        self._minute = Bucket(per_minute, per_minute / 60)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if self.in_flight >= self.concurrent or self._minute.take() is not None:
            self.limited += 1
            return web.json_response(
                {"error": {"message": "Rate limit reached", "type": "requests"}},
                status=429,
                headers={"Retry-After": "1"},
            )
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
            return await super()._handle(request)
        finally:
            self.in_flight -= 1


def fire(url: str, bodies: list[str], secret: str = SECRET) -> list[tuple[int, float]]:
    """POST every body at once, signed with `secret`; (status, seconds until the response) each. Runs in a child
    process, as Slack is not in our process: the app's event loop is timed doing its own work, not the generator's."""

    async def load() -> list[tuple[int, float]]:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:

            async def deliver(body: str) -> tuple[int, float]:
                headers = {"Content-Type": "application/json", **sign(secret, body)}
                start = time.perf_counter()
                async with http.post(url, data=body.encode(), headers=headers) as response:
                    await response.read()
                    return response.status, time.perf_counter() - start

            return list(await asyncio.gather(*(deliver(body) for body in bodies)))

    return asyncio.run(load())


def channel_name(index: int) -> str:
    return f"D{index:03d}"


async def seed(settings: Settings, channels: int, story: str, feed: str) -> None:
    """Every channel: the story briefed in a thread, a feed, and a digest due two minutes ago."""
    slot = datetime.now(UTC) - timedelta(minutes=2)
    async with await Store.open(settings.resolved_database_url) as store:
        async with SafeFetcher(FetchPolicy.from_settings(settings)) as fetcher:
            service = Service(store=store, fetcher=fetcher, briefer=ExtractiveBriefer())
            first = ChannelKey("slack", "T1", channel_name(0))
            outcome = await service.brief(Source.link(story), Place(first, "1690000000.000001"))
        for index in range(channels):
            channel = ChannelKey("slack", "T1", channel_name(index))
            await store.threads.bind(channel, "1690000000.000001", outcome.article_id)
            await store.subscriptions.add(channel, normalize_url(feed), title="Quiet")
            await store.settings.update(
                channel, digest_time=f"{slot:%H:%M}", timezone="UTC", digest_days="mon,tue,wed,thu,fri,sat,sun"
            )


def mention_bodies(site: LocalServer, mentions: int, mention_channels: int) -> list[str]:
    bodies = []
    for i in range(mentions):
        channel, ts = channel_name(i % mention_channels), f"1700000000.{i:06d}"
        text = f"<@UBOT> brief <http://127.0.0.1:{site.port}/story-{i}>"
        for kind, event_id in (("app_mention", f"EvM{i}"), ("message", f"EvT{i}")):
            event = message(text, ts=ts, channel=channel, kind=kind)
            bodies.append(json.dumps(event_body(event, event_id=event_id)))
    return bodies


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def report(
    args: argparse.Namespace,
    slack: LimitedSlack,
    model: LimitedOpenAI,
    acks: list[tuple[int, float]],
    times: dict[str, float],
    rss: tuple[int, int],
    traced: int | None,
    running: Running | None,
) -> bool:
    posts = slack.called("chat.postMessage")
    updates = slack.called("chat.update")
    digests = Counter(c.params["channel"] for c in posts if str(c.params.get("text", "")).startswith("Digest"))
    placeholders = Counter(
        (c.params["channel"], c.params.get("thread_ts")) for c in posts if "Reading" in str(c.params.get("text"))
    )
    updated = Counter(c.params["ts"] for c in updates)
    briefings = [c for c in updates if (c.params.get("blocks") or [{}])[0].get("type") == "header"]
    notices = [str(c.params.get("text")) for c in updates if c not in briefings]
    duplicates = sum(n - 1 for counter in (digests, placeholders, updated) for n in counter.values() if n > 1)
    latencies = [seconds for _, seconds in acks]
    statuses = Counter(status for status, _ in acks)
    slack_429 = sum(slack.limited.values())

    print(
        f"load: {args.mentions} mentions (+ their message twins) over "
        f"{args.mention_channels} channels, "
        f"digests to {args.channels} channels, model {args.model_seconds:.1f} s per completion"
    )
    if latencies:
        p50, p99, worst = statistics.median(latencies), percentile(latencies, 0.99), max(latencies)
        print(
            f"acks: {len(acks)} requests, statuses {dict(statuses)}; latency p50 {p50 * 1000:.0f} ms, "
            f"p99 {p99 * 1000:.0f} ms, max {worst * 1000:.0f} ms (target < {ACK_TARGET:.0f} s)"
        )
    for name, seconds in times.items():
        print(f"{name}: {seconds:.1f} s after start")
    print(
        f"posted: {len(briefings)}/{args.mentions} briefings, {len(digests)}/{args.channels} digests, "
        f"{len(placeholders)} placeholders, {len(notices)} notices instead of a briefing"
    )
    for text in Counter(notices).most_common(3):
        print(f"  notice x{text[1]}: {text[0][:100]}")
    print(f"duplicate posts: {duplicates}")
    print(
        f"429s: Slack {slack_429} {dict(slack.limited)}, OpenAI {model.limited}; "
        f"model requests {len(model.requests)}, peak in flight {model.peak}"
    )
    if running is not None:
        families = running.core.service.metrics.registry.collect()
        samples = [
            s for f in families if f.name == "briefbot_briefings" for s in f.samples if s.name.endswith("_total")
        ]
        print("metrics: " + ", ".join(f"briefings {dict(s.labels)} {s.value:.0f}" for s in samples))
    print(
        f"memory: max RSS {rss[0] / 1024:.0f} MB before, {rss[1] / 1024:.0f} MB after"
        + (f"; traced peak {traced / 1e6:.0f} MB" if traced is not None else "")
    )
    ok = (
        bool(latencies)
        and max(latencies) < ACK_TARGET
        and set(statuses) == {200}
        and duplicates == 0
        and slack_429 == 0
        and model.limited == 0
        and len(briefings) == args.mentions
        and len(digests) == args.channels
    )
    print("PASS" if ok else "FAIL", "(targets: acks < 3 s, no duplicate, no 429, every briefing and digest posted)")
    return ok


async def main(args: argparse.Namespace) -> int:
    if args.tracemalloc:
        tracemalloc.start()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    site = LocalServer()
    await site.start()
    site.routes["/feed.xml"] = Reply(headers=[("Content-Type", "application/rss+xml")], body=EMPTY_FEED)
    site.routes["/digest-story"] = Reply(body=page("Millbrook approves night bus pilot", NIGHT_BUS))
    for i in range(args.mentions):
        paragraphs = [f"Story {i}: {LIBRARY[0]}", *LIBRARY[1:]]  # one distinct article per mention
        site.routes[f"/story-{i}"] = Reply(body=page(f"Eastgate library reopens ({i})", paragraphs))
    acks: list[tuple[int, float]] = []
    times: dict[str, float] = {}
    running: Running | None = None
    async with LimitedSlack() as slack, LimitedOpenAI(args.model_seconds) as model:
        with tempfile.TemporaryDirectory() as data:
            settings = Settings(
                data_dir=Path(data),
                slack_mode="http",
                slack_bot_token="xoxb-test",
                slack_signing_secret=SECRET,
                slack_api_url=slack.api_url,
                slack_http_host="127.0.0.1",
                slack_http_port=0,
                health_port=0,
                llm_base_url=model.base_url,
                llm_api_key="bench-key",
                llm_tokenizer_download=False,
                fetch_allow=["127.0.0.1/32"],
                fetch_extra_ports=[site.port],
            )
            base = f"http://127.0.0.1:{site.port}"
            await seed(settings, args.channels, f"{base}/digest-story", f"{base}/feed.xml")
            stop = asyncio.Event()
            started: asyncio.Future[Running] = asyncio.get_running_loop().create_future()
            task = asyncio.create_task(run(settings, stop=stop, on_started=started.set_result))
            begin = time.perf_counter()
            try:
                async with asyncio.timeout(args.timeout):
                    running = await started
                    url = f"http://127.0.0.1:{running.ports['slack']}/slack/events"
                    bodies = mention_bodies(site, args.mentions, args.mention_channels)
                    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as pool:
                        acks = await asyncio.get_running_loop().run_in_executor(pool, fire, url, bodies)
                    times["all acks"] = time.perf_counter() - begin
                    await running.adapters[0].drain()  # every mention handled: answered, or given up on
                    times["every mention handled"] = time.perf_counter() - begin
                    await slack.wait_for(lambda f: _digests(f) >= args.channels, timeout=args.timeout)
                    times["every digest posted"] = time.perf_counter() - begin
            except TimeoutError:
                print(f"timed out after {args.timeout:.0f} s; the numbers below are partial")
            finally:
                stop.set()
                await asyncio.wait_for(task, 120)
    await site.close()
    traced = tracemalloc.get_traced_memory()[1] if args.tracemalloc else None
    rss = (rss_before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    return 0 if report(args, slack, model, acks, times, rss, traced, running) and "every digest posted" in times else 1


def _digests(slack: FakeSlack) -> int:
    posts = slack.called("chat.postMessage")
    return len({c.params["channel"] for c in posts if str(c.params.get("text", "")).startswith("Digest")})


def cli() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--mentions", type=int, default=50)
    parser.add_argument("--channels", type=int, default=200)
    parser.add_argument("--mention-channels", type=int, default=10)
    parser.add_argument("--model-seconds", type=float, default=0.5)
    parser.add_argument("--timeout", type=float, default=180.0)
    parser.add_argument("--tracemalloc", action="store_true", help="trace Python allocations (slows it down)")
    args = parser.parse_args()
    args.mention_channels = max(1, min(args.mention_channels, args.channels))
    sys.exit(asyncio.run(main(args)))


if __name__ == "__main__":
    cli()
