"""Story clustering (bot.digest.cluster) on hand-written articles: the bench set (42 articles, 18 stories, written so
that different stories share places, names and topics) and the feed fixtures' articles, which the threshold was not
tuned on.
"""

from __future__ import annotations

import json
import time
from itertools import combinations
from pathlib import Path

from bot.digest.cluster import StoryDoc, cluster_stories, similarity

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench" / "data" / "clusters"
FEED_ARTICLES = ROOT / "tests" / "fixtures" / "feeds" / "articles.json"


def bench_set() -> tuple[list[StoryDoc], list[str]]:
    docs, labels = [], []
    for path in sorted(BENCH.glob("*.json")):
        data = json.loads(path.read_text())
        for item in data["articles"]:
            docs.append(StoryDoc(item["title"], item["text"]))
            labels.append(item.get("story", data["story"]))
    return docs, labels


def pairwise_f1(labels: list[str], groups: list[list[int]]) -> float:
    predicted = {frozenset(p) for g in groups for p in combinations(g, 2)}
    gold = {frozenset((i, j)) for i, j in combinations(range(len(labels)), 2) if labels[i] == labels[j]}
    hits = len(predicted & gold)
    precision, recall = hits / max(1, len(predicted)), hits / max(1, len(gold))
    return 2 * precision * recall / (precision + recall) if hits else 0.0


def test_the_bench_set_clusters_with_pairwise_f1_of_at_least_0_9() -> None:
    docs, labels = bench_set()
    assert len(docs) >= 30 and len(set(labels)) >= 10
    assert pairwise_f1(labels, cluster_stories(docs)) >= 0.9


def test_the_feed_fixture_articles_group_into_their_stories() -> None:
    pages = json.loads(FEED_ARTICLES.read_text())
    paths = [p for p in pages if p.startswith("/")]
    docs = [StoryDoc(pages[p]["title"], " ".join(pages[p]["paragraphs"])) for p in paths]
    groups = [sorted(paths[i].rsplit("/", 1)[1] for i in group) for group in cluster_stories(docs)]
    assert sorted(groups) == sorted(
        [
            ["gallowmere-dam", "gallowmere-dam-cracks", "gallowmere-evacuation"],
            ["kestrel-port", "kestrel-terminal"],
            ["ada-lind", "solenne-chess"],
            ["leaf-blowers"],
            ["crumbwell-50"],
        ]
    )


def test_shared_place_names_alone_do_not_merge_stories() -> None:
    strike = StoryDoc(
        "Harbor City bus drivers walk out over pay",
        "About 1,100 drivers began a 48-hour strike in Harbor City over wages, union leader Tomas Reyes said.",
    )
    ferries = StoryDoc(
        "Harbor City orders three electric ferries",
        "The transport authority of Harbor City ordered battery ferries for 60 million dollars.",
    )
    rewrite = StoryDoc(
        "Two-day stoppage halts Harbor City's buses",
        "A pay dispute left the city without buses after talks with Harbor Transit failed, Tomas Reyes said.",
    )
    assert similarity(strike, rewrite) > similarity(strike, ferries)
    assert cluster_stories([strike, ferries, rewrite]) == [[0, 2], [1]]


def test_edge_cases() -> None:
    assert cluster_stories([]) == []
    assert cluster_stories([StoryDoc("Only one", "")]) == [[0]]
    assert cluster_stories([StoryDoc("", ""), StoryDoc("", "")]) == [[0], [1]]  # nothing to compare: apart


def test_two_hundred_articles_cluster_quickly() -> None:
    docs, _labels = bench_set()
    many = [StoryDoc(f"{d.title} ({n})", d.lead) for n in range(5) for d in docs][:200]
    started = time.perf_counter()
    groups = cluster_stories(many)
    assert time.perf_counter() - started < 3.0  # typically ~0.2 s; generous for a loaded CI machine
    assert sum(len(g) for g in groups) == 200
