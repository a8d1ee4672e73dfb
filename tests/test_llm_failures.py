"""Every way the model server can fail ends, within the deadline, in the offline briefing marked with the reason.

Deadlines here are tiny (1-2 s); the tests assert outcomes, and `asyncio.wait_for` only guards against a hang."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
from fake_openai import FakeOpenAI, error, hang, llm_settings, raw, reply, stall

from bot.brief.llm import LLMBriefer, build_engine
from bot.models import Article, Briefing

TEXT = """The regional water board approved a plan on Monday to replace 40 kilometres of lead pipes by 2030.

"Every family deserves water they do not have to worry about," said board chair Amina Yusuf.

The work will cost about 310 million, to be shared between the board and the national government."""
ARTICLE = Article(text=TEXT, title="Lead pipes to be replaced", url="https://news.example/pipes")
GOOD = {
    "tldr": "The water board will replace 40 kilometres of lead pipes by 2030.",
    "key_points": ["The board approved the plan on Monday."],
    "quotes": [],
    "implications": [],
}
FAST_RETRY = {"retry-after-ms": "10"}


@pytest.fixture
async def server() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as fake:
        yield fake


async def brief(settings_server: FakeOpenAI | str, **overrides: object) -> Briefing:
    if isinstance(settings_server, FakeOpenAI):
        settings = llm_settings(settings_server, **overrides)
    else:
        settings = llm_settings(FakeOpenAI(), llm_base_url=settings_server, **overrides)
    engine = build_engine(settings)
    assert isinstance(engine, LLMBriefer)
    try:
        # Only a guard against hanging: the engine's own deadline must end the briefing first.
        return await asyncio.wait_for(engine.brief(ARTICLE), settings.llm_deadline + 3)
    finally:
        await engine.aclose()


def assert_offline(briefing: Briefing, reason: str) -> None:
    assert briefing.engine == f"extractive (llm fallback: {reason})"
    assert f"The language model was unavailable ({reason}); this is the offline briefing." in briefing.warnings
    assert briefing.tldr and briefing.key_points  # a complete offline briefing, not an error
    assert briefing.prompt_version is None


async def test_request_timeouts_fall_back(server: FakeOpenAI) -> None:
    server.enqueue(hang(10), hang(10), hang(10))
    briefing = await brief(server, llm_request_timeout=0.2, llm_deadline=1)
    assert_offline(briefing, "timed out")
    assert briefing.usage.calls == len(server.requests) >= 1  # each attempt is recorded


async def test_total_deadline_ends_a_slow_request(server: FakeOpenAI) -> None:
    server.enqueue(hang(10))
    briefing = await brief(server, llm_request_timeout=30, llm_deadline=0.6)
    assert_offline(briefing, "timed out")


async def test_server_stalling_mid_response_falls_back(server: FakeOpenAI) -> None:
    server.enqueue(stall(10), stall(10), stall(10))
    assert_offline(await brief(server, llm_request_timeout=0.3, llm_deadline=0.8), "timed out")


async def test_rate_limit_is_retried_after_retry_after(server: FakeOpenAI) -> None:
    server.enqueue(
        error(429, "Rate limit reached", code="rate_limit_exceeded", headers={"Retry-After": "0"}), reply(GOOD)
    )
    briefing = await brief(server)
    assert briefing.engine.startswith("llm") and len(server.requests) == 2
    assert briefing.usage.calls == 2


async def test_rate_limit_longer_than_the_deadline_falls_back_at_once(server: FakeOpenAI) -> None:
    server.enqueue(error(429, "Rate limit reached", headers={"Retry-After": "120"}))
    assert_offline(await brief(server, llm_deadline=2), "rate limited")
    assert len(server.requests) == 1  # waiting two minutes would only delay the offline briefing


async def test_rate_limit_persisting_falls_back(server: FakeOpenAI) -> None:
    server.enqueue(*[error(429, "slow down", headers=FAST_RETRY)] * 5)
    assert_offline(await brief(server, llm_max_retries=2), "rate limited")
    assert len(server.requests) == 3


async def test_insufficient_quota_is_not_retried(server: FakeOpenAI) -> None:
    server.enqueue(error(429, "You exceeded your current quota", code="insufficient_quota", type_="insufficient_quota"))
    assert_offline(await brief(server), "quota exhausted")
    assert len(server.requests) == 1


async def test_server_errors_are_retried_then_fall_back(server: FakeOpenAI) -> None:
    server.enqueue(*[error(503, "overloaded", headers=FAST_RETRY)] * 3)
    assert_offline(await brief(server, llm_max_retries=2), "server error")
    assert len(server.requests) == 3


async def test_a_server_error_then_success_gives_the_llm_briefing(server: FakeOpenAI) -> None:
    server.enqueue(error(500, "oops", headers=FAST_RETRY), reply(GOOD))
    assert (await brief(server)).engine.startswith("llm")


async def test_malformed_json_body_falls_back(server: FakeOpenAI) -> None:
    server.enqueue(*[raw('{"id": "x", "choices": [{"message": ')] * 3)
    assert_offline(await brief(server, llm_max_retries=1), "malformed response")


async def test_an_error_body_with_status_200_falls_back(server: FakeOpenAI) -> None:
    body = '{"error": {"message": "upstream model crashed", "type": "server_error", "code": 502}}'
    server.enqueue(*[raw(body)] * 3)
    assert_offline(await brief(server, llm_max_retries=0), "error response")


async def test_a_reply_that_is_not_json_falls_back(server: FakeOpenAI) -> None:
    server.enqueue(*[reply("I'm sorry, I can't summarise that article.")] * 3)
    briefing = await brief(server, llm_max_retries=1)
    assert_offline(briefing, "malformed response")
    assert briefing.usage.calls == 2 and briefing.usage.completion_tokens > 0


async def test_a_reply_missing_every_field_is_malformed(server: FakeOpenAI) -> None:
    server.enqueue(*[reply({"answer": 42})] * 3)
    assert_offline(await brief(server, llm_max_retries=0), "malformed response")


async def test_content_filter_falls_back(server: FakeOpenAI) -> None:
    server.enqueue(reply("", finish_reason="content_filter"))
    assert_offline(await brief(server), "refused by the model")


async def test_bad_credentials_fall_back_without_retrying(server: FakeOpenAI) -> None:
    server.enqueue(error(401, "Incorrect API key provided", code="invalid_api_key"))
    assert_offline(await brief(server), "authentication failed")
    assert len(server.requests) == 1


async def test_unknown_model_falls_back(server: FakeOpenAI) -> None:
    server.enqueue(error(404, "The model does not exist", code="model_not_found"))
    assert_offline(await brief(server), "model not found")


async def test_context_overflow_falls_back(server: FakeOpenAI) -> None:
    server.enqueue(error(400, "This model's maximum context length is 8192 tokens", code="context_length_exceeded"))
    assert_offline(await brief(server), "article too long for the model")


async def test_nothing_listening_falls_back() -> None:
    with socket.socket() as sock:  # a loopback port that was free a moment ago: connections are refused
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    briefing = await brief(f"http://127.0.0.1:{port}/v1", llm_max_retries=1, llm_deadline=2)
    assert_offline(briefing, "connection failed")
