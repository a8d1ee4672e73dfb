"""Speed of the whole offline briefing (no fetching): `ExtractiveBriefer.brief_sync` per article, and of its ranking
parts alone (sentences + key points + TL;DR + implications) for comparison.

Usage: .venv/bin/python bench/brief_speed.py DATA_DIR [--repeat N]

DATA_DIR holds items.jsonl with an `article` field. Prints the median milliseconds per article and per 1,000 words
(wall clock and process CPU time: on a shared machine the CPU figure is the steadier), the wall-clock 90th
percentile, and articles per second. `time_briefing(fn, texts)` times any `fn(text)`, so the same numbers
can be taken for any part.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.brief.extractive import ExtractiveBriefer, summarise
from bot.brief.implications import find_implications
from bot.brief.sentences import split_sentences
from bot.models import Article


def extractive_parts(text: str) -> tuple[str, list[Any], list[Any]]:
    """Everything this bench times: split, rank, TL;DR, implications (excluding the key points' sentences)."""
    sentences = split_sentences(text)
    tldr, key_points, source = summarise(text, sentences)
    used = {span for kp in key_points for span in kp.evidence} | ({source} if source else set())
    return tldr, key_points, find_implications(text, sentences, exclude=used)


def whole_briefing(text: str) -> object:
    """The whole offline briefing of `text`: what a user waits for once the article is extracted."""
    return ExtractiveBriefer().brief_sync(Article(text=text, word_count=len(text.split())))


def time_briefing(fn: Callable[[str], object], texts: Sequence[str], *, repeat: int = 3) -> dict[str, float]:
    """Time `fn` on each text (best of `repeat` runs, after a warm-up) by the wall clock and by process CPU time.

    Returns median and p90 ms per article, median ms per 1,000 words, and articles per second (from the summed best
    times), each for the wall clock; `cpu_` keys give the CPU-time medians, steadier on a busy machine.
    """
    for text in texts[:5]:
        fn(text)
    wall: list[float] = []
    cpu: list[float] = []
    for text in texts:
        best_wall = best_cpu = float("inf")
        for _ in range(repeat):
            start_wall, start_cpu = time.perf_counter(), time.process_time()
            fn(text)
            best_cpu = min(best_cpu, time.process_time() - start_cpu)
            best_wall = min(best_wall, time.perf_counter() - start_wall)
        wall.append(best_wall * 1000)
        cpu.append(best_cpu * 1000)
    kwords = [max(1, len(text.split())) / 1000 for text in texts]
    return {
        "articles": len(texts),
        "median_words": statistics.median(len(t.split()) for t in texts),
        "median_ms": statistics.median(wall),
        "p90_ms": statistics.quantiles(wall, n=10)[-1] if len(wall) > 1 else wall[0],
        "median_ms_per_1000_words": statistics.median(ms / k for ms, k in zip(wall, kwords, strict=True)),
        "articles_per_second": len(texts) / (sum(wall) / 1000) if sum(wall) else float("inf"),
        "cpu_median_ms": statistics.median(cpu),
        "cpu_median_ms_per_1000_words": statistics.median(ms / k for ms, k in zip(cpu, kwords, strict=True)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with (args.data_dir / "items.jsonl").open(encoding="utf-8") as handle:
        texts = [json.loads(line)["article"] for line in handle if line.strip()]
    print(
        f"{len(texts)} articles, median {statistics.median(len(t.split()) for t in texts):.0f} words; "
        f"best of {args.repeat} runs each"
    )
    for label, fn in (("whole briefing", whole_briefing), ("ranking parts", extractive_parts)):
        stats = time_briefing(fn, texts, repeat=args.repeat)
        print(f"{label}:")
        print(
            f"  median per article      {stats['median_ms']:7.2f} ms wall  {stats['cpu_median_ms']:7.2f} ms CPU"
            f"   (p90 wall {stats['p90_ms']:.2f} ms)"
        )
        print(
            f"  median per 1,000 words  {stats['median_ms_per_1000_words']:7.2f} ms wall"
            f"  {stats['cpu_median_ms_per_1000_words']:7.2f} ms CPU"
        )
        print(f"  articles per second     {stats['articles_per_second']:7.0f}")


if __name__ == "__main__":
    main()
