"""Quote extraction and speaker attribution scored against hand-annotated attributions (PolNeAR-style items.jsonl).

Usage: .venv/bin/python bench/quotes_eval.py DATA_DIR [--split dev|train] [--show-errors N] [--limit N]

Gold: the primary annotator's attributions of each item. Predictions: `find_attributions`, with the parts of one cue
(a split quote "A," she said, "B." and the continuations of the same quote) merged into one prediction, as the gold
annotates them; quotations attributed without a cue are merged by speaker mention (a continuation shares it). Scores,
micro-averaged over all items:

- quotes: a prediction matches a gold content span when the token-overlap F1 of their spans is >= 0.5 (tokens are
  the words of the article, compared by position), one to one, greedily by F1.
- pairs: the same, and the speaker must be right. It is right when the predicted mention overlaps the gold source
  span; or the predicted speaker name shares a name token with the gold source text; or, when the gold source is a
  pronoun or a description ("he", "who", "the campaign"), the predicted name shares a token with the nearest proper
  name (a run of capitalised words that is not a sentence-initial function word, a day or a month) that ends before
  the gold source, outside quotation marks. That last rule approximates "the person the pronoun refers to": it is
  lenient when the nearest name is the right one and strict when the antecedent is further back. Gold attributions
  without a source ("Attribution-no-source") are left out of the pair scores, with the predictions matched to them.
- direct subset: gold items with `has_quotation_marks`; predictions that are direct or whose content has a quotation
  mark by the same heuristic (a mark inside the span or within 3 characters of its edges).
- speed: extraction time in ms per 1,000 words (whitespace-separated): wall clock overall, CPU time of this process
  overall (steadier on a shared machine), and the median of the per-article wall-clock rates. The time includes
  `split_sentences`, which the briefing computes once and may pass to `find_attributions`.
"""

from __future__ import annotations

import argparse
import bisect
import json
import re
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.brief.quotes import Attribution, find_attributions

_TOKEN = re.compile(r"\w+")
_MARKS = '"“”«»„'  # double marks only, as the corpus heuristic (apostrophes are not quotation marks)
_NAME_RUN = re.compile(r"[A-Z][\w’'.-]*(?:\s+(?:of\s+|de\s+|van\s+|von\s+)?[A-Z][\w’'.-]*)*")
_PRONOUNS = frozenset("he she they it we i you who whom which that his her their its him them us me one".split())
_NOT_NAMES = frozenset(
    """the a an but and or so in on at for with as if when while after before this that these those his her its
    their he she it they we i you who mr mrs ms dr monday tuesday wednesday thursday friday saturday sunday january
    february march april may june july august september october november december""".split()
)


@dataclass
class Item:
    spans: list[tuple[int, int]]
    direct: bool
    source: list[tuple[int, int]] | None = None  # gold only
    source_text: str = ""
    speaker: str = ""  # predictions only
    mention: tuple[int, int] | None = None
    label: str = ""


def load(data_dir: Path, split: str, limit: int | None) -> list[dict]:
    with (data_dir / "items.jsonl").open(encoding="utf-8") as handle:
        items = [json.loads(line) for line in handle if line.strip()]
    items = [item for item in items if item["split"] == split]
    return items[:limit] if limit else items


def has_marks(text: str, spans: list[tuple[int, int]]) -> bool:
    """The corpus heuristic: a quotation mark inside the span or within 3 characters of its edges."""
    return any(any(c in _MARKS for c in text[max(0, s - 3) : e + 3]) for s, e in spans)


def gold_items(item: dict) -> list[Item]:
    out = []
    for att in item["attributions_by_annotator"][item["primary_annotator"]]:
        if not att.get("content"):
            continue
        source = att.get("source")
        out.append(
            Item(
                spans=[tuple(s) for s in att["content"]["spans"]],
                direct=bool(att["has_quotation_marks"]),
                source=[tuple(s) for s in source["spans"]] if source else None,
                source_text=source["text"] if source else "",
                label=f"{source['text'] if source else '-'} | {att['cue']['text'] if att.get('cue') else '-'}",
            )
        )
    return out


def predicted_items(text: str, attributions: list[Attribution]) -> list[Item]:
    """One item per cue: the parts of a split or continued quotation become one multi-span prediction."""
    groups: dict[object, list[Attribution]] = {}
    for a in attributions:
        key = (a.cue_start, a.speaker_start) if a.cue_start is not None else (a.speaker_start, a.speaker_end)
        groups.setdefault(key, []).append(a)
    out = []
    for parts in groups.values():
        spans = [(a.start, a.end) for a in parts]
        first = parts[0]
        out.append(
            Item(
                spans=spans,
                direct=any(a.kind == "direct" for a in parts) or has_marks(text, spans),
                speaker=first.speaker,
                mention=(first.speaker_start, first.speaker_end),
                label=f"{first.speaker} ({text[first.speaker_start : first.speaker_end]}) | {first.cue}",
            )
        )
    return out


class Tokens:
    """The word tokens of an article, to compare spans by position."""

    def __init__(self, text: str) -> None:
        matches = list(_TOKEN.finditer(text))
        self.starts = [m.start() for m in matches]
        self.ends = [m.end() for m in matches]

    def of(self, spans: list[tuple[int, int]]) -> set[int]:
        out: set[int] = set()
        for start, end in spans:
            out.update(range(bisect.bisect_right(self.ends, start), bisect.bisect_left(self.starts, end)))
        return out


def overlap_f1(a: set[int], b: set[int]) -> float:
    common = len(a & b)
    return 0.0 if not common else 2 * common / (len(a) + len(b))


def name_tokens(name: str) -> set[str]:
    return {t for t in re.findall(r"[a-z]+", name.lower()) if t not in _NOT_NAMES and len(t) > 1}


def antecedent(text: str, pos: int) -> str:
    """The nearest proper name ending before `pos` (see the module docstring)."""
    window_start = max(0, pos - 2000)
    best = ""
    for m in _NAME_RUN.finditer(text, window_start, pos):
        words = m.group(0).split()
        while words and words[0].lower().strip("’'s") in _NOT_NAMES:
            words = words[1:]
        if words and text[: m.start()].count("“") == text[: m.start()].count("”"):
            best = " ".join(words)
    return best


def speaker_right(text: str, pred: Item, gold: Item) -> bool:
    assert gold.source is not None and pred.mention is not None
    ms, me = pred.mention
    if any(ms < ge and gs < me for gs, ge in gold.source):
        return True
    predicted = name_tokens(pred.speaker)
    if predicted & name_tokens(gold.source_text):
        return True
    words = gold.source_text.split()
    is_reference = words and (
        gold.source_text.lower() in _PRONOUNS
        or (not any(w[:1].isupper() for w in words[1:]) and not words[0].isupper())
    )
    return bool(is_reference) and bool(predicted & name_tokens(antecedent(text, gold.source[0][0])))


def match(pairs: list[tuple[float, int, int]]) -> list[tuple[int, int]]:
    """Greedy one-to-one matching by descending score."""
    used_p, used_g, out = set(), set(), []
    for _score, p, g in sorted(pairs, key=lambda x: (-x[0], x[1], x[2])):
        if p not in used_p and g not in used_g:
            used_p.add(p)
            used_g.add(g)
            out.append((p, g))
    return out


class Score:
    def __init__(self) -> None:
        self.tp = self.n_pred = self.n_gold = 0

    def add(self, tp: int, n_pred: int, n_gold: int) -> None:
        self.tp += tp
        self.n_pred += n_pred
        self.n_gold += n_gold

    def prf(self) -> tuple[float, float, float]:
        p = self.tp / self.n_pred if self.n_pred else 0.0
        r = self.tp / self.n_gold if self.n_gold else 0.0
        return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def evaluate(items: list[dict], show_errors: int = 0, errors_of: str = "all") -> None:
    scores = {(subset, kind): Score() for subset in ("all", "direct") for kind in ("quotes", "pairs")}
    per_article_ms: list[float] = []
    total_ms = total_cpu_ms = total_words = 0.0
    errors: dict[str, list[str]] = {"missed": [], "spurious": [], "speaker": []}
    for item in items:
        text = item["text"]
        started, cpu_started = time.perf_counter(), time.process_time()
        attributions = find_attributions(text)
        elapsed = (time.perf_counter() - started) * 1000
        total_cpu_ms += (time.process_time() - cpu_started) * 1000
        words = max(len(text.split()), 1)
        total_ms += elapsed
        total_words += words
        per_article_ms.append(elapsed * 1000 / words)
        tokens = Tokens(text)
        gold_all, pred_all = gold_items(item), predicted_items(text, attributions)
        for subset in ("all", "direct"):
            gold = [g for g in gold_all if subset == "all" or g.direct]
            pred = [p for p in pred_all if subset == "all" or p.direct]
            g_tok = [tokens.of(g.spans) for g in gold]
            p_tok = [tokens.of(p.spans) for p in pred]
            candidates = [
                (f1, i, j)
                for i, pt in enumerate(p_tok)
                for j, gt in enumerate(g_tok)
                if (f1 := overlap_f1(pt, gt)) >= 0.5
            ]
            matched = match(candidates)
            scores[(subset, "quotes")].add(len(matched), len(pred), len(gold))
            # Pairs: gold without a source is left out, with the predictions matched to it by quote.
            no_source = {j for j, g in enumerate(gold) if g.source is None}
            dropped = {i for i, j in matched if j in no_source}
            good = [(f1, i, j) for f1, i, j in candidates if j not in no_source and i not in dropped]
            right = [(f1, i, j) for f1, i, j in good if speaker_right(text, pred[i], gold[j])]
            pair_matched = match(right)
            scores[(subset, "pairs")].add(len(pair_matched), len(pred) - len(dropped), len(gold) - len(no_source))
            if subset == errors_of and show_errors:
                _collect_errors(text, item["id"], pred, gold, matched, pair_matched, errors)
    print(f"articles: {len(items)}  words: {int(total_words)}")
    for (subset, kind), score in scores.items():
        p, r, f = score.prf()
        label = f"{subset:6s} {kind:6s}"
        print(f"{label}  P {p:.3f}  R {r:.3f}  F1 {f:.3f}   (tp {score.tp}, pred {score.n_pred}, gold {score.n_gold})")
    print(
        f"speed: {total_ms * 1000 / total_words:.2f} ms per 1,000 words overall (CPU time "
        f"{total_cpu_ms * 1000 / total_words:.2f}), median {statistics.median(per_article_ms):.2f} per article"
    )
    for kind, lines in errors.items():
        if lines:
            print(f"\n== {kind} ({len(lines)}; first {show_errors}) ==")
            for line in lines[:show_errors]:
                print(line)


def _collect_errors(text, article, pred, gold, matched, pair_matched, errors) -> None:
    def show(spans: list[tuple[int, int]]) -> str:
        return " … ".join(text[s:e] for s, e in spans)[:220].replace("\n", " ")

    matched_p = {i for i, _ in matched}
    matched_g = {j for _, j in matched}
    paired = {i for i, _ in pair_matched}
    for j, g in enumerate(gold):
        if j not in matched_g:
            errors["missed"].append(f"[{article}] {'D' if g.direct else 'I'} {g.label}\n    {show(g.spans)}")
    for i, p in enumerate(pred):
        if i not in matched_p:
            errors["spurious"].append(f"[{article}] {'D' if p.direct else 'I'} {p.label}\n    {show(p.spans)}")
    for i, j in matched:
        if i not in paired and gold[j].source is not None:
            errors["speaker"].append(
                f"[{article}] pred {pred[i].label}  gold {gold[j].label}\n    {show(gold[j].spans)}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--split", choices=("dev", "train"), default="dev")
    parser.add_argument("--show-errors", type=int, default=0, metavar="N", help="print N errors of each kind")
    parser.add_argument("--errors-of", choices=("all", "direct"), default="all", help="the subset errors come from")
    parser.add_argument("--limit", type=int, default=None, help="only the first N articles of the split")
    args = parser.parse_args()
    evaluate(load(args.data_dir, args.split, args.limit), args.show_errors, args.errors_of)


if __name__ == "__main__":
    main()
