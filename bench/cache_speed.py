"""The same link twice: how fast the second briefing comes back from storage, and what it costs.

Usage: .venv/bin/python bench/cache_speed.py [--engine extractive|llm] [--repeat N]

Serves an article on a local web server (127.0.0.1 only), briefs its URL once through the real service (SQLite in a
temporary directory, the real SSRF-safe fetcher allowed to reach loopback), then briefs it again N times and prints
the first briefing's time, the median and worst time of the repeats, how many requests the web server saw, and the
LLM tokens the repeats used. With `--engine llm` a local fake OpenAI-compatible server stands in for the model.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from fake_openai import FakeOpenAI, llm_settings  # noqa: E402
from fetch_helpers import LocalServer, Reply  # noqa: E402

from bot.config import load_settings  # noqa: E402
from bot.service import Place, Source  # noqa: E402
from bot.store import ChannelKey  # noqa: E402
from bot.wiring import open_core  # noqa: E402

ARTICLE = (ROOT / "examples" / "harbor-bridge.txt").read_text()


def _page() -> bytes:
    paragraphs = "".join(f"<p>{p}</p>" for p in ARTICLE.split("\n\n")[3:14])
    head = "<html><head><title>Harbor bridge closes to trucks</title></head>"
    return f"{head}<body><article>{paragraphs}</article></body></html>".encode()


async def main(engine: str, repeat: int) -> None:
    server = LocalServer()
    await server.start()
    server.routes["/bridge"] = Reply(body=_page())
    url = f"http://127.0.0.1:{server.port}/bridge"
    fake = FakeOpenAI() if engine == "llm" else None
    with tempfile.TemporaryDirectory() as tmp:
        overrides: dict[str, object] = {
            "data_dir": Path(tmp),
            "fetch_allow": ["127.0.0.1/32"],
            "fetch_extra_ports": [server.port],
            "engine": engine,
        }
        if fake is not None:
            await fake.__aenter__()
            base = llm_settings(fake)
            overrides |= {"llm_base_url": base.llm_base_url, "llm_api_key": base.llm_api_key}
        settings = load_settings(**overrides)
        place = Place(ChannelKey("bench", "W", "C"), None, "U")
        async with open_core(settings) as core:
            start = time.perf_counter()
            first = await core.service.brief(Source.link(url), place)
            first_ms = (time.perf_counter() - start) * 1000
            calls_after_first = len(fake.requests) if fake is not None else 0
            times = []
            for _ in range(repeat):
                start = time.perf_counter()
                again = await core.service.brief(Source.link(url), place)
                times.append((time.perf_counter() - start) * 1000)
                assert again.cached, "the repeat was not served from storage"
        repeat_calls = (len(fake.requests) - calls_after_first) if fake is not None else 0
        repeat_tokens = sum(r.prompt_tokens for r in fake.requests[calls_after_first:]) if fake is not None else 0
        if fake is not None:
            await fake.__aexit__(None, None, None)
    await server.close()
    print(f"engine {first.briefing.engine}")
    print(f"first briefing           {first_ms:8.1f} ms  (fetch, extract, brief, store)")
    print(
        f"same link again, median  {statistics.median(times):8.1f} ms  worst {max(times):.1f} ms  over {repeat} repeats"
    )
    print(f"web server requests      {len(server.requests):8d}  (1 = the repeats fetched nothing)")
    print(f"model requests, repeats  {repeat_calls:8d}")
    print(f"prompt tokens, repeats   {repeat_tokens:8d}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=["extractive", "llm"], default="llm")
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    asyncio.run(main(args.engine, args.repeat))
