"""Extraction speed: ours (`extract_html`) against plain trafilatura, page by page, in the same run.

Usage: .venv/bin/python bench/extract_speed.py DATA_DIR [--repeat N] [--limit N]

DATA_DIR holds `items.jsonl` with gzipped pages (`html_file`, `url`). Every page is extracted once by each contender
before timing (trafilatura and its date parser build caches on first use), then `--repeat` timed rounds run
the contenders one after the other on each page. Two baselines, since ours returns text *and* metadata:
`plain-text` is `trafilatura.extract(html, url=url)` with defaults (text only), `plain+meta` adds
`trafilatura.extract_metadata(html, default_url=url)`, which is what the quality bench scores as plain trafilatura.
Reported: median and mean milliseconds per page, and the ratios ours/plain.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import logging
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import trafilatura

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.errors import ExtractionError
from bot.ingest.extract import extract_html


def ours(html: bytes, url: str | None) -> None:
    with contextlib.suppress(ExtractionError):
        extract_html(html, url)


def plain_text(html: bytes, url: str | None) -> None:
    trafilatura.extract(html, url=url)


def plain_meta(html: bytes, url: str | None) -> None:
    trafilatura.extract(html, url=url)
    trafilatura.extract_metadata(html, default_url=url)


CONTENDERS: dict[str, Callable[[bytes, str | None], None]] = {
    "ours": ours,
    "plain-text": plain_text,
    "plain+meta": plain_meta,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path, help="folder with items.jsonl and the gzipped pages")
    parser.add_argument("--repeat", type=int, default=3, help="timed rounds over the data set (default 3)")
    parser.add_argument("--limit", type=int, default=0, help="only the first N pages")
    args = parser.parse_args()
    logging.disable(logging.WARNING)

    items = [json.loads(line) for line in (args.data_dir / "items.jsonl").read_text().splitlines() if line.strip()]
    if args.limit:
        items = items[: args.limit]
    pages = [(gzip.decompress((args.data_dir / i["html_file"]).read_bytes()), i.get("url")) for i in items]

    for html, url in pages:  # warm-up: first-use caches are not what a running bot pays per page
        for run in CONTENDERS.values():
            run(html, url)

    # per page, the best of the timed rounds: the least disturbed by the rest of the machine
    best: dict[str, list[float]] = {name: [float("inf")] * len(pages) for name in CONTENDERS}
    for _ in range(args.repeat):
        for index, (html, url) in enumerate(pages):
            for name, run in CONTENDERS.items():
                start = time.perf_counter()
                run(html, url)
                best[name][index] = min(best[name][index], time.perf_counter() - start)

    print(f"{len(pages)} pages from {args.data_dir}, best of {args.repeat} rounds per page")
    stats = {name: (statistics.median(t) * 1000, statistics.fmean(t) * 1000) for name, t in best.items()}
    for name, (median, mean) in stats.items():
        print(f"{name:<11} median {median:7.1f} ms   mean {mean:7.1f} ms")
    for base in ("plain-text", "plain+meta"):
        median_ratio = stats["ours"][0] / stats[base][0]
        mean_ratio = stats["ours"][1] / stats[base][1]
        total_ratio = sum(best["ours"]) / sum(best[base])
        print(f"ours/{base:<11} median {median_ratio:.2f}x   mean {mean_ratio:.2f}x   total {total_ratio:.2f}x")


if __name__ == "__main__":
    main()
