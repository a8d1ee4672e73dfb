"""Speed and memory of composing a digest of 200 articles, offline engine, fetching excluded.

Usage: .venv/bin/python bench/digest_speed.py [DATA_DIR] [--articles 200] [--repeat 5] [--max-seconds 2.0]

Articles are generated from the clustering set (DATA_DIR, default bench/data/clusters): each hand-written article is
varied (another outlet, a reworded headline, its sentences rotated, its own URL) until there are `--articles`. They
are stored in a temporary SQLite database as feed items of four subscriptions, briefed by the offline extractive
engine (timed separately: in production the poller prepares briefings ahead of the digest), and then the digest is
composed and rendered: gathering from the store, de-duplication, clustering, ranking and Markdown. Prints the best and
median compose time by the wall clock, the compose's peak traced memory (tracemalloc, in a separate run, since tracing
slows Python down), and the digest's header. `--max-seconds` makes the exit status fail above a ceiling.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from cluster_eval import LabelledArticle, load_articles

from bot.brief.extractive import ExtractiveBriefer
from bot.digest import compose_digest, digest_markdown
from bot.ingest.fetch import FetchPolicy, SafeFetcher
from bot.models import Article
from bot.service import Service
from bot.store import ChannelKey, Store

CHANNEL = ChannelKey("slack", "TBENCH", "CBENCH")
NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
FEEDS = ["Riverton Ledger", "Coastal Wire", "Northern Dispatch", "Evening Post"]
HEADLINE_PREFIXES = ["", "Update: ", "Analysis: ", "Explained: ", "Live: ", "In brief: "]


def variants(articles: list[LabelledArticle], count: int) -> list[tuple[str, Article]]:
    """`count` (feed title, article) pairs varied from the hand-written set."""
    out: list[tuple[str, Article]] = []
    round_ = 0
    while len(out) < count:
        for n, source in enumerate(articles):
            if len(out) == count:
                break
            sentences = [s.strip() for s in source.text.replace("? ", "?|").replace(". ", ".|").split("|") if s]
            shift = round_ % max(1, len(sentences))
            text = " ".join(sentences[shift:] + sentences[:shift]) if round_ else source.text
            outlet = f"{source.outlet} {['', 'Weekend', 'Online', 'Regional', 'Morning'][round_ % 5]}".strip()
            title = HEADLINE_PREFIXES[round_ % len(HEADLINE_PREFIXES)] + source.title
            url = f"https://{outlet.lower().replace(' ', '-')}.example/{source.id}/{round_}"
            paragraphs = f"{title}\n\n{text}\n\nReporting by the {outlet} desk, edition {round_ + 1}."
            article = Article(url=url, title=title, site_name=outlet, text=paragraphs, word_count=len(text.split()))
            out.append((FEEDS[(n + round_) % len(FEEDS)], article))
        round_ += 1
    return out


async def prepare(store: Store, generated: list[tuple[str, Article]]) -> float:
    """Store the articles as feed items with offline briefings; return the seconds spent briefing."""
    subscriptions = {}
    for title in FEEDS:
        sub, _ = await store.subscriptions.add(
            CHANNEL, f"https://{title.lower().replace(' ', '-')}.example/feed", title=title
        )
        subscriptions[title] = sub
    engine = ExtractiveBriefer()
    briefing_seconds = 0.0
    for n, (feed, article) in enumerate(generated):
        article_id = await store.articles.add(article, url=article.url)
        started = time.perf_counter()
        briefing = engine.brief_sync(article)
        briefing_seconds += time.perf_counter() - started
        await store.briefings.put(article_id, briefing)
        await store.feed_items.mark_seen(
            subscriptions[feed].feed_url_hash,
            f"item-{n}",
            url=article.url,
            title=article.title,
            published=NOW - timedelta(minutes=5 * n),
            article_id=article_id,
        )
    return briefing_seconds


async def run(data_dir: Path, count: int, repeat: int) -> tuple[list[float], int, str, float, int]:
    generated = variants(load_articles(data_dir), count)
    with tempfile.TemporaryDirectory() as tmp:
        clock_now = [NOW - timedelta(hours=2)]
        store = await Store.open(f"sqlite+aiosqlite:///{tmp}/bench.db", clock=lambda: clock_now[0])
        async with store, SafeFetcher(FetchPolicy()) as fetcher:
            briefing_seconds = await prepare(store, generated)
            clock_now[0] = NOW
            service = Service(store=store, fetcher=fetcher, briefer=ExtractiveBriefer())
            since = NOW - timedelta(days=1)
            await compose_digest(service, CHANNEL, now=NOW, since=since)  # warm-up: imports, caches
            times = []
            header = ""
            for _ in range(repeat):
                started = time.perf_counter()
                digest = await compose_digest(service, CHANNEL, now=NOW, since=since)
                assert digest is not None
                digest_markdown(digest)
                times.append(time.perf_counter() - started)
                header = digest.header
            tracemalloc.start()
            digest = await compose_digest(service, CHANNEL, now=NOW, since=since)
            assert digest is not None
            digest_markdown(digest)
            _current, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
    return times, len(generated), header, briefing_seconds, peak


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data_dir", type=Path, nargs="?", default=Path(__file__).resolve().parent / "data" / "clusters")
    parser.add_argument("--articles", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--max-seconds", type=float, default=None, help="exit 1 when the best compose is slower")
    args = parser.parse_args()
    times, count, header, briefing_seconds, peak = asyncio.run(run(args.data_dir, args.articles, args.repeat))
    best, median = min(times), statistics.median(times)
    print(f"articles {count}  digest: {header}")
    each = 1000 * briefing_seconds / count
    print(f"offline briefings prepared ahead: {briefing_seconds:.2f} s total ({each:.1f} ms each)")
    print(f"compose + render: best {best:.3f} s  median {median:.3f} s  over {len(times)} runs")
    print(f"compose peak traced memory: {peak / 1_000_000:.1f} MB")
    if args.max_seconds is not None and best > args.max_seconds:
        print(f"FAIL: {best:.3f} s is above the ceiling {args.max_seconds:.3f} s")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
