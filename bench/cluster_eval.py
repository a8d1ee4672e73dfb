"""Quality of story clustering: pairwise precision, recall and F1 against hand-labelled stories.

Usage: .venv/bin/python bench/cluster_eval.py DATA_DIR [--sweep] [--threshold T] [--min-f1 0.9]

DATA_DIR holds one JSON file per story ({"story": ..., "articles": [{"id", "outlet", "title", "text"}, ...]}); an
article's own "story" field overrides the file's (singletons.json holds one-article distractor stories). Every pair of
articles is a positive when both belong to one story; precision is the share of pairs clustered together that are
positives, recall the share of positives clustered together. `--sweep` prints F1 over a range of thresholds (how the
default was chosen); `--min-f1` makes the exit status fail below a floor (a CI gate).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.digest.cluster import THRESHOLD, StoryDoc, cluster_stories


@dataclass(frozen=True, slots=True)
class LabelledArticle:
    id: str
    story: str
    outlet: str
    title: str
    text: str


def load_articles(data_dir: Path) -> list[LabelledArticle]:
    """Every article under `data_dir`, in file then list order."""
    articles = []
    for path in sorted(data_dir.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        for item in data["articles"]:
            story = item.get("story", data["story"])
            articles.append(LabelledArticle(item["id"], story, item["outlet"], item["title"], item["text"]))
    return articles


def pairwise_scores(labels: list[str], groups: list[list[int]]) -> dict[str, float]:
    """Pairwise precision, recall and F1 of `groups` (lists of indices) against gold `labels`."""
    predicted = {frozenset(pair) for group in groups for pair in combinations(group, 2)}
    gold = {frozenset((i, j)) for i, j in combinations(range(len(labels)), 2) if labels[i] == labels[j]}
    hits = len(predicted & gold)
    precision = hits / len(predicted) if predicted else 1.0
    recall = hits / len(gold) if gold else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "pairs_gold": len(gold), "pairs_pred": len(predicted)}


def evaluate(articles: list[LabelledArticle], threshold: float) -> tuple[dict[str, float], list[list[int]]]:
    docs = [StoryDoc(a.title, a.text) for a in articles]
    groups = cluster_stories(docs, threshold=threshold)
    return pairwise_scores([a.story for a in articles], groups), groups


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--threshold", type=float, default=THRESHOLD)
    parser.add_argument("--sweep", action="store_true", help="print F1 for thresholds 0.10 to 0.50")
    parser.add_argument("--min-f1", type=float, default=None, help="exit 1 when F1 is below this floor")
    parser.add_argument("--show", action="store_true", help="print the clusters")
    args = parser.parse_args()

    articles = load_articles(args.data_dir)
    stories = len({a.story for a in articles})
    if args.sweep:
        for step in range(10, 51, 2):
            scores, _ = evaluate(articles, step / 100)
            p, r, f1 = scores["precision"], scores["recall"], scores["f1"]
            print(f"threshold {step / 100:.2f}  P {p:.3f}  R {r:.3f}  F1 {f1:.3f}")
    scores, groups = evaluate(articles, args.threshold)
    if args.show:
        for group in groups:
            print(" | ".join(f"{articles[i].story}:{articles[i].id}" for i in group))
    print(f"articles {len(articles)}  stories {stories}  clusters {len(groups)}  threshold {args.threshold:.2f}")
    print(
        f"pairwise precision {scores['precision']:.3f}  recall {scores['recall']:.3f}  F1 {scores['f1']:.3f}  "
        f"(gold pairs {scores['pairs_gold']}, predicted pairs {scores['pairs_pred']})"
    )
    if args.min_f1 is not None and scores["f1"] < args.min_f1:
        print(f"FAIL: F1 {scores['f1']:.3f} is below the floor {args.min_f1:.3f}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
