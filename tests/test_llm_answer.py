"""Follow-up answers through the LLM against the fake OpenAI-compatible server (real HTTP, the real SDK)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from fake_openai import FakeOpenAI, error, llm_settings, reply

from bot.brief.llm_answer import LLMAnswerer, build_answerer

ARTICLE = (Path(__file__).resolve().parents[1] / "examples" / "harbor-bridge.txt").read_text()
DOCS = [("7", ARTICLE)]


@pytest.fixture
async def server() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
def answerer(server: FakeOpenAI) -> LLMAnswerer:
    return build_answerer(llm_settings(server, llm_deadline=5, llm_max_retries=0))


async def test_answer_cites_the_evidence_it_copied(server: FakeOpenAI, answerer: LLMAnswerer) -> None:
    evidence = "The city estimates the repairs will cost $186 million"
    server.enqueue(
        reply({"answer": "About $186 million, mostly federal money.", "evidence": [evidence], "answered": True})
    )
    answer = await answerer.answer(DOCS, "How much will the repairs cost?", [])
    assert answer.engine == "llm"
    assert answer.text == "About $186 million, mostly federal money."
    assert answer.doc_id == "7"
    start, end = answer.citations[0]
    assert ARTICLE[start:end] == evidence
    # The model saw retrieved passages, fenced as data, and the question.
    prompt = server.requests[-1].user
    assert "$186 million" in prompt
    assert "<question>" in prompt and "How much will the repairs cost?" in prompt


async def test_history_reaches_the_prompt(server: FakeOpenAI, answerer: LLMAnswerer) -> None:
    server.enqueue(reply({"answer": "x", "evidence": ["Okafor told reporters"], "answered": True}))
    await answerer.answer(DOCS, "What else did he say?", ["Who is the chief city engineer?"])
    assert "Who is the chief city engineer?" in server.requests[-1].fenced("earlier")


async def test_unbacked_answer_is_replaced_by_the_offline_one(server: FakeOpenAI, answerer: LLMAnswerer) -> None:
    server.enqueue(
        reply({"answer": "It costs $9 billion.", "evidence": ["The bridge costs $9 billion."], "answered": True})
    )
    answer = await answerer.answer(DOCS, "How much will the repairs cost?", [])
    assert "9 billion" not in answer.text
    assert answer.engine == "extractive (llm fallback: answer not backed by the article)"
    assert "$186 million" in answer.text


async def test_model_refusal_is_kept(server: FakeOpenAI, answerer: LLMAnswerer) -> None:
    server.enqueue(reply({"answer": "The article doesn't say.", "evidence": [], "answered": False}))
    answer = await answerer.answer(DOCS, "What is the mayor's favourite colour?", [])
    assert answer.refused
    assert answer.reason == "The article doesn't say."


async def test_outage_falls_back_to_the_offline_answer(server: FakeOpenAI, answerer: LLMAnswerer) -> None:
    server.enqueue(error(429, "slow down", code="insufficient_quota", type_="insufficient_quota"))
    answer = await answerer.answer(DOCS, "How much will the repairs cost?", [])
    assert answer.engine.startswith("extractive (llm fallback:")
    assert "$186 million" in answer.text


async def test_mentions_in_model_output_are_neutralised(server: FakeOpenAI, answerer: LLMAnswerer) -> None:
    evidence = "The city estimates the repairs will cost $186 million"
    server.enqueue(
        reply(
            {
                "answer": "<!channel> @everyone $186 million, see https://evil.example/x",
                "evidence": [evidence],
                "answered": True,
            }
        )
    )
    answer = await answerer.answer(DOCS, "How much will the repairs cost?", [])
    assert "<!channel>" not in answer.text
    assert "@everyone" not in answer.text
    assert "evil.example" not in answer.text
    assert "$186 million" in answer.text
