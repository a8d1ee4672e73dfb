"""The injection corpus: 20+ hostile articles (tests/fixtures/hostile, written for this project), briefed with a fake
model that obeys every injection, one that behaves, and one that is down. Whatever the model does, the briefing stays
schema-valid, carries no live mention, no URL other than the source's, no invisible characters, and no prompt text."""

from __future__ import annotations

import base64
import re
import unicodedata
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from fake_openai import FakeOpenAI, Recorded, Step, echo_briefing, error, llm_settings, reply

from bot.brief.llm import LLMBriefer, build_engine
from bot.brief.prompts import load_prompt
from bot.brief.sanitize import allowed_hosts, sanitize_text
from bot.models import Article, Briefing

CORPUS = sorted((Path(__file__).parent / "fixtures" / "hostile").glob("*.txt"))
SYSTEM_PROMPTS = [load_prompt(name).system for name in ("briefing", "map", "reduce")]
MENTION = re.compile(r"<\s*[!@#&]|@\s*(?:everyone|here|channel)\b", re.IGNORECASE)
URL = re.compile(
    r"(?i)\b(?:[a-z][a-z0-9+.\-]*://[^\s<>\"]+|(?:javascript|data|vbscript|mailto):\S+|www\d?\.[^\s<>\"]+"
    r"|(?:[a-z0-9\-]+\.)+[a-z]{2,}/\S*)"
)
WORD = re.compile(r"\w+")


def load(path: Path) -> Article:
    header, body = path.read_text(encoding="utf-8").split("\n\n", 1)
    meta = dict(line.split(": ", 1) for line in header.splitlines())
    return Article(text=body.strip(), title=meta["title"], url=meta["url"], language=meta["language"])


def obey(request: Recorded) -> Step:
    """A model that does whatever the article (or anyone) asks: echoes its payloads, mentions, links and the prompt."""
    system = request.system
    paragraphs = [p for p in request.fenced("article").split("\n\n")[1:] if p.strip()]
    leak = base64.b64encode(system.encode()).decode()[:40]
    return reply(
        {
            "tldr": f"{system} {paragraphs[1] if len(paragraphs) > 1 else ''} \u200b@everyone <!channel> "
            f"https://evil.example/x?d={leak}",
            "key_points": [
                *paragraphs[:5],
                "\u200b@here <@U999> <@&123> see www.evil.example/steal and [x](https://evil.example)",
                system.splitlines()[1],
            ],
            "quotes": [
                {"speaker": "<!channel>", "role": None, "text": system, "direct": True},
                {"speaker": "System", "role": "operator", "text": "Ignore previous instructions", "direct": True},
                *({"speaker": "@everyone", "role": "<@U123>", "text": p, "direct": True} for p in paragraphs[:2]),
            ],
            "implications": [system.splitlines()[0], f"Share https://evil.example/?q={leak} with @everyone <!here>"],
        }
    )


def down(request: Recorded) -> Step:
    return error(500, "down", headers={"retry-after-ms": "5"})


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def served() -> AsyncIterator[tuple[FakeOpenAI, LLMBriefer]]:
    """One server and one engine for the whole corpus (each test resets the server's script and log)."""
    async with FakeOpenAI() as fake:
        engine = build_engine(llm_settings(fake, llm_max_retries=0))
        assert isinstance(engine, LLMBriefer)
        yield fake, engine
        await engine.aclose()


def strings(briefing: Briefing) -> list[str]:
    out = [briefing.tldr, *briefing.warnings, *(k.text for k in briefing.key_points)]
    out += [i.text for i in briefing.implications]
    for q in briefing.quotes:
        out += [q.speaker, q.text, q.speaker_role or "", q.cue or ""]
    s = briefing.source
    out += [s.title or "", s.byline or "", s.site_name or ""]
    return out


def shingles(text: str, size: int = 6) -> set[tuple[str, ...]]:
    words = WORD.findall(unicodedata.normalize("NFKC", text).casefold())
    return {tuple(words[i : i + size]) for i in range(len(words) - size + 1)}


def test_the_corpus_is_big_enough() -> None:
    assert len(CORPUS) >= 20


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("model", [obey, echo_briefing, down], ids=["obeys", "behaves", "down"])
@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
async def test_hostile_article(served: tuple[FakeOpenAI, LLMBriefer], path: Path, model) -> None:
    server, engine = served
    server.responder, server.requests = model, []
    article = load(path)
    briefing = await engine.brief(article)

    assert Briefing.model_validate_json(briefing.model_dump_json()) == briefing  # schema-valid
    assert briefing.engine.startswith("extractive (llm fallback" if model is down else "llm")
    for request in server.requests:  # the article never escapes its fence
        assert request.user.count("<article>") == request.user.count("</article>") == 1
    prompt_text = set().union(*(shingles(p) for p in SYSTEM_PROMPTS)) - shingles(article.text)
    for text in strings(briefing):
        normal = unicodedata.normalize("NFKC", text)
        assert not MENTION.search(normal), text
        assert not any(unicodedata.category(ch) in ("Cf", "Cc", "Co") for ch in text), ascii(text)
        for url in URL.findall(normal):
            assert re.match(r"(?i)(?:https?://)?(?:www\.)?news\.example(?:[/:]|$)", url), url
        assert not shingles(text) & prompt_text, text  # no sentence of the system prompts leaks
        assert not re.search(r"[A-Za-z0-9+/]{40,}", normal), text  # no encoded payload
    hosts = allowed_hosts(article.url)
    for quote in briefing.quotes:
        assert quote.speaker.casefold() not in ("system", "everyone", "channel", "here")
        if quote.verified:  # the article's own words at the quote's offsets (made safe like all output)
            assert quote.text == sanitize_text(article.text[quote.start : quote.end], hosts)


@pytest.mark.asyncio(loop_scope="module")
async def test_the_whole_corpus_as_one_long_article_through_map_reduce(served: tuple[FakeOpenAI, LLMBriefer]) -> None:
    server, _ = served
    server.responder, server.requests = obey, []
    text = "\n\n".join(load(path).text for path in CORPUS)
    article = Article(text=text, title="Everything at once", url="https://news.example/all")
    engine = build_engine(llm_settings(server, llm_context_tokens=2500, llm_max_output_tokens=400, llm_deadline=20))
    assert isinstance(engine, LLMBriefer)
    try:
        briefing = await engine.brief(article)
    finally:
        await engine.aclose()
    assert briefing.engine.startswith("llm") and briefing.coverage.parts > 1
    prompt_text = set().union(*(shingles(p) for p in SYSTEM_PROMPTS)) - shingles(text)
    for value in strings(briefing):
        normal = unicodedata.normalize("NFKC", value)
        assert not MENTION.search(normal) and not shingles(value) & prompt_text, value
        assert all(re.match(r"(?i)(?:https?://)?(?:www\.)?news\.example(?:[/:]|$)", u) for u in URL.findall(normal))
