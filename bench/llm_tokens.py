"""Prompt and completion tokens per LLM briefing, measured at the fake OpenAI server (which records every request).

Usage: .venv/bin/python bench/llm_tokens.py [--context 128000 16000] [--words 1000 30000]

Articles are synthetic (tests/fake_openai.py composes them from our own sentence templates). Tokens are counted the
way the fake server bills them: briefbot's offline estimate over every message plus the JSON schema, which is also
how the engine counts when tiktoken's files are unavailable, so "article tokens" and "prompt tokens" use one ruler.
Targets (issue 4): a ~1,000-word article costs at most its tokens + 900 prompt tokens; a ~30,000-word article is read
whole (coverage 100%) with total prompt tokens <= 1.3x its tokens.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the fake server lives with the tests
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fake_openai import FakeOpenAI, llm_settings, synthetic_article

from bot.brief.llm import LLMBriefer, build_engine
from bot.brief.sanitize import clean_for_prompt
from bot.brief.tokens import estimate_tokens
from bot.models import Article


async def measure(words: int, context: int) -> dict[str, object]:
    """Brief one synthetic article of about `words` words with a `context`-token model; the server's numbers."""
    text = synthetic_article(words, seed=words)
    article = Article(text=text, title="Harbour works run late", url="https://news.example/harbour")
    async with FakeOpenAI() as server:
        engine = build_engine(llm_settings(server, llm_context_tokens=context, llm_deadline=60))
        assert isinstance(engine, LLMBriefer)
        try:
            briefing = await engine.brief(article)
        finally:
            await engine.aclose()
        requests = server.requests
        prompt = sum(r.prompt_tokens for r in requests)
    article_tokens = estimate_tokens(clean_for_prompt(text))
    completion = briefing.usage.completion_tokens
    return {
        "words": len(text.split()),
        "context": context,
        "requests": len(requests),
        "article_tokens": article_tokens,
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "overhead": prompt - article_tokens,
        "ratio": prompt / article_tokens,
        "coverage": briefing.coverage.note,
        "engine": briefing.engine,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--context", type=int, nargs="+", default=[128_000, 16_000])
    parser.add_argument("--words", type=int, nargs="+", default=[1_000, 30_000])
    args = parser.parse_args()
    header = f"{'words':>7} {'context':>8} {'reqs':>4} {'article':>8} {'prompt':>8} {'compl.':>7} {'overhead':>8} ratio"
    print(header)
    failures = []
    for context in args.context:
        for words in args.words:
            row = asyncio.run(measure(words, context))
            print(
                f"{row['words']:>7,} {row['context']:>8,} {row['requests']:>4} {row['article_tokens']:>8,} "
                f"{row['prompt_tokens']:>8,} {row['completion_tokens']:>7,} {row['overhead']:>8,} "
                f"{row['ratio']:.3f}  {row['coverage']}"
            )
            if not str(row["engine"]).startswith("llm"):
                failures.append(f"{words} words @ {context}: fell back ({row['engine']})")
            if words <= 1_500 and row["overhead"] > 900:  # type: ignore[operator]
                failures.append(f"{words} words @ {context}: overhead {row['overhead']} > 900")
            if words >= 20_000 and row["ratio"] > 1.3:  # type: ignore[operator]
                failures.append(f"{words} words @ {context}: ratio {row['ratio']:.3f} > 1.3")
    print("targets met" if not failures else "TARGETS MISSED:\n  " + "\n  ".join(failures))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
