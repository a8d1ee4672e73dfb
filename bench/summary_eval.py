"""ROUGE of the offline summary (TL;DR and key points, as a reader sees them) against reference highlights, with
Lead-3 measured in the same run. The key points alone are scored too: they no longer repeat the TL;DR's sentence.

Usage: .venv/bin/python bench/summary_eval.py DATA_DIR [--limit N] [--title-from-url]

DATA_DIR holds items.jsonl (fields `article`, `reference`; the reference's sentences joined by " . "). Scores are
ROUGE-1/2/Lsum F-measure x100 from rouge-score with the Porter stemmer (no NLTK data needed: Lsum is given
newline-separated sentences, so rouge-score never calls nltk.sent_tokenize). Needs the `bench` extra.
`--title-from-url` feeds the URL slug as a stand-in title (the bot has the real title; this data set does not).
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rouge_score import rouge_scorer

from bot.brief.extractive import summarise
from bot.brief.sentences import split_sentences

METRICS = ("rouge1", "rouge2", "rougeLsum")


def load_items(data_dir: Path, limit: int | None = None) -> list[dict]:
    """The evaluation items of `data_dir/items.jsonl`."""
    with (data_dir / "items.jsonl").open(encoding="utf-8") as handle:
        items = [json.loads(line) for line in handle if line.strip()]
    return items[:limit] if limit else items


def title_from_url(url: str | None) -> str | None:
    """The longest hyphenated slug of a URL, as words: a rough stand-in for the headline."""
    slugs = re.findall(r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+){2,}", url or "")
    return max(slugs, key=len).replace("-", " ") if slugs else None


def lead3(text: str) -> list[str]:
    return [s.text for s in split_sentences(text)[:3]]


def summary(text: str, title: str | None = None) -> tuple[str, list[str]]:
    """The TL;DR and the key points' texts."""
    tldr, points, _ = summarise(text, split_sentences(text), title=title)
    return tldr, [kp.text for kp in points]


def evaluate(items: list[dict], *, use_title: bool = False) -> dict[str, dict[str, float]]:
    """Mean F-measure x100 per system and metric, plus the mean number of lines and words per system summary."""
    scorer = rouge_scorer.RougeScorer(list(METRICS), use_stemmer=True)
    totals: dict[str, dict[str, list[float]]] = {"tl;dr + key points": {}, "key points": {}, "lead-3": {}}
    for item in items:
        reference = "\n".join(part.strip() for part in item["reference"].split(" . ") if part.strip())
        title = title_from_url(item.get("url")) if use_title else None
        tldr, points = summary(item["article"], title)
        systems = (("tl;dr + key points", [tldr, *points]), ("key points", points), ("lead-3", lead3(item["article"])))
        for name, lines in systems:
            scores = scorer.score(reference, "\n".join(lines))
            row = totals[name]
            for metric in METRICS:
                row.setdefault(metric, []).append(scores[metric].fmeasure * 100)
            row.setdefault("lines", []).append(len(lines))
            row.setdefault("words", []).append(sum(len(line.split()) for line in lines))
    return {name: {k: statistics.fmean(v) for k, v in row.items()} for name, row in totals.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--title-from-url", action="store_true")
    args = parser.parse_args()
    items = load_items(args.data_dir, args.limit)
    result = evaluate(items, use_title=args.title_from_url)
    print(f"{len(items)} articles, title={'url slug' if args.title_from_url else 'none'}")
    print(f"{'system':<18} {'R1':>6} {'R2':>6} {'RLsum':>6} {'lines':>6} {'words':>6}")
    for name, row in result.items():
        print(
            f"{name:<18} {row['rouge1']:6.2f} {row['rouge2']:6.2f} {row['rougeLsum']:6.2f}"
            f" {row['lines']:6.2f} {row['words']:6.1f}"
        )
    ours, lead = result["tl;dr + key points"], result["lead-3"]
    print(
        f"{'difference':<18} {ours['rouge1'] - lead['rouge1']:+6.2f} {ours['rouge2'] - lead['rouge2']:+6.2f}"
        f" {ours['rougeLsum'] - lead['rougeLsum']:+6.2f}"
    )


if __name__ == "__main__":
    main()
