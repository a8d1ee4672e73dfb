"""Follow-up Q&A bench: does the offline answerer cite the right passage, and refuse what the article doesn't say?

Usage: .venv/bin/python bench/qa_eval.py [DATA_DIR] [--split all|SPLIT[,SPLIT...]] [--show-failures] [--tune]

DATA_DIR (default bench/data/qa) holds one JSON file per article: {"id", "split", "text", "questions": [{"q",
"answer"}]}, `answer` being a string that must appear in the cited passage (or a list of acceptable strings, when
the article answers a question in two places), or null for a question the article does not answer. Splits:
"tune", "dev" and "dev2" are for development (rules and thresholds were chosen on them); "heldout", "heldout2"
and "heldout3" were held out when written, and their failures were read afterwards, so they now count as seen;
"heldout4" (8 articles, 203 questions) was written by two other authors who never saw the answerer's code, scored
once, then read for failures (so it counts as seen too); "heldout5" (8 articles, 200 questions, two more such
authors) is only ever scored, never read: it is the honest estimate of quality on unseen articles.

Reported per split and overall: the share of answerable questions whose cited passage contains the answer
(case-insensitive, white space normalised), the share of answerable questions wrongly refused (and of those, as a
share of all answerable questions, the ones whose "closest passage", shown under the refusal, holds the answer),
the share of unanswerable questions refused, the mean milliseconds per question (index built once per article,
as a thread does; the build time is reported separately), and for the LLM path the share of answerable questions
whose answer is in the passages it would send the model (an upper bound: the model itself is not run here).
`--tune` grid-searches RefusalPolicy on the development splits.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.brief.answer import Answer, RefusalPolicy, answer_offline, select_passages_for_llm
from bot.brief.llm_answer import PASSAGE_BUDGET_CHARS as LLM_BUDGET
from bot.brief.retrieval import ArticleIndex

DEFAULT_DATA = Path(__file__).resolve().parent / "data" / "qa"
SPLITS = ("tune", "dev", "dev2", "heldout", "heldout2", "heldout3", "heldout4", "heldout5")
TUNING = ("tune", "dev", "dev2")  # the splits rules and thresholds may be chosen on


@dataclass
class Outcome:
    article: str
    split: str
    question: str
    expected: str | list[str] | None
    answer: Answer
    ms: float
    llm_context: str = ""  # what the LLM path would send the model for this question

    @property
    def context_holds(self) -> bool:
        """The passages the LLM path sends the model hold the answer (its upper bound; the model is not run)."""
        return self.expected is not None and _holds(self.expected, self.llm_context)

    @property
    def correct(self) -> bool:
        if self.expected is None:
            return self.answer.refused
        # A list holds alternatives: "did anyone object?" is answered by either group of objectors.
        return not self.answer.refused and _holds(self.expected, self.answer.text)

    @property
    def closest_holds(self) -> bool:
        """Refused, but the closest passage shown under the refusal holds the answer."""
        if self.expected is None or not self.answer.refused or not self.answer.closest:
            return False
        return _holds(self.expected, self.answer.closest)


def _holds(expected: str | list[str], text: str) -> bool:
    accepted = [expected] if isinstance(expected, str) else expected
    return any(_norm(a) in _norm(text) for a in accepted)


def _norm(text: str) -> str:
    return " ".join(text.lower().replace("’", "'").split())


def load(data_dir: Path) -> list[dict]:
    """The articles of `data_dir`, sorted by file name."""
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(data_dir.glob("*.json"))]


def run(articles: list[dict], policy: RefusalPolicy | None = None) -> tuple[list[Outcome], list[float]]:
    """Answer every question; returns the outcomes and the index build time per article (ms)."""
    outcomes: list[Outcome] = []
    builds: list[float] = []
    kwargs = {"policy": policy} if policy else {}
    for article in articles:
        started = time.perf_counter()
        index = ArticleIndex(article["text"])
        builds.append((time.perf_counter() - started) * 1000)
        for item in article["questions"]:
            started = time.perf_counter()
            answer = answer_offline(article["text"], item["q"], index=index, **kwargs)
            ms = (time.perf_counter() - started) * 1000
            # The cited offsets must slice back to the quoted text: the bench checks the citations, not just text.
            cited = " ".join(article["text"][s:e] for s, e in answer.citations)
            assert answer.refused or cited == answer.text, (article["id"], item["q"])
            split = article.get("split", "tune")
            passages = select_passages_for_llm(article["text"], item["q"], [], budget_chars=LLM_BUDGET, index=index)
            context = " ".join(p.text for p in passages)
            outcomes.append(Outcome(article["id"], split, item["q"], item["answer"], answer, ms, context))
    return outcomes, builds


def metrics(outcomes: list[Outcome]) -> dict[str, float]:
    answerable = [o for o in outcomes if o.expected is not None]
    unanswerable = [o for o in outcomes if o.expected is None]
    return {
        "questions": len(outcomes),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "cited_correct": _share(o.correct for o in answerable),
        "wrongly_refused": _share(o.answer.refused for o in answerable),
        "closest_holds": _share(o.closest_holds for o in answerable),
        "context_holds": _share(o.context_holds for o in answerable),
        "unanswerable_refused": _share(o.correct for o in unanswerable),
        "ms_per_question": statistics.fmean(o.ms for o in outcomes) if outcomes else 0.0,
    }


def _share(flags) -> float:
    items = list(flags)
    return 100.0 * sum(items) / len(items) if items else 0.0


def report(outcomes: list[Outcome], builds: list[float]) -> None:
    print(
        f"{'split':<9} {'qs':>4} {'ans':>4} {'unans':>5}  {'cited ok':>8}  {'wrongly refused':>15}  "
        f"{'(closest has it)':>16}  {'unans refused':>13}  {'ms/q':>6}  {'LLM context has it':>18}"
    )
    for name in (*SPLITS, "all"):
        subset = [o for o in outcomes if name == "all" or o.split == name]
        if not subset:
            continue
        m = metrics(subset)
        print(
            f"{name:<9} {m['questions']:>4} {m['answerable']:>4} {m['unanswerable']:>5}  "
            f"{m['cited_correct']:>7.1f}%  {m['wrongly_refused']:>14.1f}%  {m['closest_holds']:>15.1f}%  "
            f"{m['unanswerable_refused']:>12.1f}%  "
            f"{m['ms_per_question']:>6.2f}  {m['context_holds']:>17.1f}%"
        )
    print(f"index build: mean {statistics.fmean(builds):.2f} ms per article ({len(builds)} articles)")


def show_failures(outcomes: list[Outcome]) -> None:
    for o in outcomes:
        if o.correct:
            continue
        got = "REFUSED" if o.answer.refused else o.answer.text[:160]
        print(
            f"- [{o.split}] {o.article}: {o.question!r} expected {o.expected!r} (support {o.answer.support})\n"
            f"    got: {got}"
        )


def tune(articles: list[dict]) -> RefusalPolicy:
    """Grid-search the refusal policy on the tuning splits (never a held-out one), maximising the mean of the two
    headline rates; each check is tried on and off."""
    tune_set = [a for a in articles if a.get("split", "tune") in TUNING]
    best: tuple[float, RefusalPolicy] | None = None
    grid = itertools.product((0.25, 0.3, 0.35, 0.4, 0.45, 0.5), (0.1, 0.2, 0.3), (6, 8, 10, 12), *[(True, False)] * 4)
    for min_cov, topical, placed_words, names, typed, missing, placed in grid:
        policy = RefusalPolicy(
            min_coverage=min_cov,
            topical_share=topical,
            placed_words=placed_words,
            check_names=names,
            check_typed_key=typed,
            check_missing=missing,
            check_placed=placed,
        )
        m = metrics(run(tune_set, policy)[0])
        objective = (m["cited_correct"] + m["unanswerable_refused"]) / 2
        if best is None or objective > best[0] + 1e-9:
            best = (objective, policy)
            print(
                f"{policy}: cited {m['cited_correct']:.1f} refused {m['unanswerable_refused']:.1f} -> {objective:.2f}"
            )
    assert best is not None
    print(f"best on {'+'.join(TUNING)}: {best[1]} ({best[0]:.2f})")
    return best[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--split", default="all", help="all, or splits separated by commas (tune,dev,dev2)")
    parser.add_argument("--show-failures", action="store_true")
    parser.add_argument("--tune", action="store_true", help="grid-search the refusal policy on the tuning splits")
    args = parser.parse_args()
    articles = load(args.data_dir)
    if not articles:
        sys.exit(f"no *.json articles in {args.data_dir}")
    policy = tune(articles) if args.tune else None
    if args.split != "all":
        wanted = set(args.split.split(","))
        articles = [a for a in articles if a.get("split", "tune") in wanted]
    outcomes, builds = run(articles, policy)
    report(outcomes, builds)
    if args.show_failures:
        show_failures(outcomes)


if __name__ == "__main__":
    main()
