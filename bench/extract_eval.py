"""Extraction quality: ours (`extract_html`) against plain trafilatura, on one data set, in the same run.

Usage: .venv/bin/python bench/extract_eval.py DATA_DIR [--show-diff] [--limit N]

DATA_DIR holds `items.jsonl` (one page per line: `html_file` gzipped, `url`, `with`/`without` snippets and gold
`title`/`author`/`date`) as in the trafilatura evaluation set. Snippet metric (as upstream scores it): after
collapsing whitespace, a `with` snippet found in the text is a true positive, one missing a false negative; a
`without` snippet found is a false positive, one missing a true negative; counts are summed over pages. A crash
counts as empty output. Metadata: exact match after collapsing whitespace and ignoring case (dates as YYYY-MM-DD;
a gold list of authors is joined with "; "), out of the pages with gold for that field.
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import trafilatura

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.errors import ExtractionError
from bot.ingest.extract import extract_html

FIELDS = ("title", "author", "date")


def norm(value: str | None) -> str:
    return re.sub(r"\s+", " ", value or "").strip()


def gold_value(item: dict, name: str) -> str | None:
    value = item.get(name)
    if isinstance(value, list):
        value = "; ".join(value)
    return norm(value) or None


def matches(name: str, got: str | None, gold: str) -> bool:
    if not got:
        return False
    if name == "date":
        return norm(got)[:10] == gold[:10]
    return norm(got).casefold() == gold.casefold()


@dataclass
class Score:
    tp: int = 0
    fn: int = 0
    fp: int = 0
    tn: int = 0
    meta: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FIELDS, 0))
    errors: int = 0

    def add(self, item: dict, text: str) -> tuple[int, int]:
        """Count one page; return its (hits, boilerplate leaks)."""
        text = norm(text)
        hits = sum(norm(s) in text for s in item["with"])
        leaks = sum(norm(s) in text for s in item["without"])
        self.tp += hits
        self.fn += len(item["with"]) - hits
        self.fp += leaks
        self.tn += len(item["without"]) - leaks
        return hits, leaks

    def line(self, name: str, totals: dict[str, int]) -> str:
        precision = self.tp / max(self.tp + self.fp, 1)
        recall = self.tp / max(self.tp + self.fn, 1)
        f1 = 2 * precision * recall / max(precision + recall, 1e-9)
        accuracy = (self.tp + self.tn) / max(self.tp + self.tn + self.fp + self.fn, 1)
        meta = "  ".join(f"{f} {self.meta[f]}/{totals[f]}" for f in FIELDS)
        return (
            f"{name:<12} P {precision:.3f}  R {recall:.3f}  F1 {f1:.3f}  acc {accuracy:.3f}  |  {meta}"
            f"  |  errors {self.errors}"
        )


def ours(html: bytes, url: str | None) -> tuple[str, dict[str, str | None]]:
    try:
        article = extract_html(html, url)
    except ExtractionError:
        return "", {**dict.fromkeys(FIELDS), "stage": "error"}
    meta = {"title": article.title, "author": article.byline, "date": article.published, "stage": article.extractor}
    return article.text, meta


def plain(html: bytes, url: str | None) -> tuple[str, dict[str, str | None]]:
    text = trafilatura.extract(html, url=url) or ""
    meta = trafilatura.extract_metadata(html, default_url=url)
    return text, {"title": meta.title, "author": meta.author, "date": meta.date}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path, help="folder with items.jsonl and the gzipped pages")
    parser.add_argument("--show-diff", action="store_true", help="list the pages where ours does worse")
    parser.add_argument("--limit", type=int, default=0, help="only the first N pages")
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # trafilatura logs every discarded page

    items = [json.loads(line) for line in (args.data_dir / "items.jsonl").read_text().splitlines() if line.strip()]
    if args.limit:
        items = items[: args.limit]
    totals = {f: sum(gold_value(item, f) is not None for item in items) for f in FIELDS}
    scores = {"ours": Score(), "trafilatura": Score()}
    diffs: list[str] = []
    stages: dict[str, int] = {}
    for item in items:
        html = gzip.decompress((args.data_dir / item["html_file"]).read_bytes())
        page: dict[str, tuple[tuple[int, int], dict[str, str | None]]] = {}
        for name, run in (("ours", ours), ("trafilatura", plain)):
            try:
                text, meta = run(html, item.get("url"))
            except Exception:  # a crash counts as empty output
                scores[name].errors += 1
                text, meta = "", dict.fromkeys(FIELDS)
            counts = scores[name].add(item, text)
            for f in FIELDS:
                gold = gold_value(item, f)
                if gold is not None and matches(f, meta[f], gold):
                    scores[name].meta[f] += 1
            page[name] = (counts, meta)
        (our_hits, our_leaks), our_meta = page["ours"]
        (base_hits, base_leaks), base_meta = page["trafilatura"]
        if our_hits - our_leaks < base_hits - base_leaks:
            diffs.append(
                f"{item['id']}: snippets ours {our_hits}+/{our_leaks}- vs trafilatura {base_hits}+/{base_leaks}-"
            )
        for f in FIELDS:
            gold = gold_value(item, f)
            if gold and matches(f, base_meta[f], gold) and not matches(f, our_meta[f], gold):
                diffs.append(f"{item['id']}: {f} ours {our_meta[f]!r} vs gold {gold!r}")
        stage = our_meta.get("stage") or "crash"
        stages[stage] = stages.get(stage, 0) + 1

    print(f"{len(items)} pages from {args.data_dir}")
    print(f"snippets: {sum(len(i['with']) for i in items)} with, {sum(len(i['without']) for i in items)} without")
    for name, score in scores.items():
        print(score.line(name, totals))
    print("cascade stages (ours): " + ", ".join(f"{k} {v}" for k, v in sorted(stages.items())))
    if args.show_diff:
        print(f"\npages where ours loses ({len(diffs)}):")
        for line in diffs:
            print("  " + line)


if __name__ == "__main__":
    main()
