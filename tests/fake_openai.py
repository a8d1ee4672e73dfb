"""A fake OpenAI-compatible chat-completions server on 127.0.0.1 (port 0), for tests and the token bench.

The real SDK talks to it over real HTTP. It records every request (`requests`), and each test scripts it:

* `enqueue(step, ...)`: the next requests get these steps, in order; when the queue is empty, `responder` answers
  (by default `echo_briefing`, a deterministic "model" that briefs whatever article the prompt carries).
* steps are `reply(...)` (a completion: JSON content, text, finish reason, usage or not), `error(...)` (any status,
  body and headers), `raw(...)` (any body: malformed JSON, a 200 error object), `stall(...)` (headers and part of a
  body, then silence) and `hang(...)` (no answer at all).
* capability flags model servers that reject `response_format` json_schema, JSON mode, or `max_completion_tokens`
  with a 400, as OpenAI-compatible servers do.

Usage is counted with briefbot's own offline estimate (`bot.brief.tokens.estimate_tokens`) over the message contents
plus the JSON schema when one is sent (providers count schemas as prompt tokens), so benches can compare prompt
tokens with article tokens measured the same way.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.brief.tokens import MESSAGE_OVERHEAD_TOKENS, estimate_tokens
from bot.config import Settings


@dataclass
class Step:
    """One scripted answer. `kind` is reply | error | raw | stall | hang."""

    kind: str
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content: str | None = None
    finish_reason: str = "stop"
    usage: bool = True
    seconds: float = 0.0


def reply(content: Any, *, finish_reason: str = "stop", usage: bool = True) -> Step:
    """A completion whose message content is `content` (dicts are sent as JSON text)."""
    text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
    return Step("reply", content=text, finish_reason=finish_reason, usage=usage)


def error(
    status: int,
    message: str = "error",
    *,
    code: str | None = None,
    type_: str = "error",
    param: str | None = None,
    headers: dict[str, str] | None = None,
) -> Step:
    """An OpenAI-style error response."""
    body = {"error": {"message": message, "type": type_, "param": param, "code": code}}
    return Step("error", status=status, body=body, headers=headers or {})


def raw(body: bytes | str, *, status: int = 200, content_type: str = "application/json") -> Step:
    """Any body at all (malformed JSON, an error object with status 200...)."""
    data = body.encode() if isinstance(body, str) else body
    return Step("raw", status=status, body=data, headers={"Content-Type": content_type})


def stall(seconds: float, partial: bytes = b'{"id": "chatcmpl-stall", "choices": [') -> Step:
    """Send headers and the start of a body, then go silent for `seconds`."""
    return Step("stall", body=partial, seconds=seconds)


def hang(seconds: float) -> Step:
    """Accept the request and answer nothing for `seconds`."""
    return Step("hang", seconds=seconds)


@dataclass
class Recorded:
    """One request as the server saw it."""

    path: str
    query: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def messages(self) -> list[dict[str, str]]:
        return self.body.get("messages", [])

    @property
    def system(self) -> str:
        return next((m["content"] for m in self.messages if m["role"] == "system"), "")

    @property
    def user(self) -> str:
        return next((m["content"] for m in self.messages if m["role"] == "user"), "")

    def fenced(self, tag: str) -> str:
        """The text between `<tag>` and `</tag>` in the user message."""
        match = re.search(rf"<{tag}>\n?(.*?)\n?</{tag}>", self.user, re.DOTALL)
        return match.group(1) if match else ""

    @property
    def prompt_tokens(self) -> int:
        return prompt_tokens(self.body)


def prompt_tokens(body: dict[str, Any]) -> int:
    """Prompt tokens as this server bills them (see the module docstring)."""
    tokens = sum(estimate_tokens(m.get("content") or "") + MESSAGE_OVERHEAD_TOKENS for m in body.get("messages", []))
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        tokens += estimate_tokens(json.dumps(fmt["json_schema"]["schema"], separators=(",", ":")))
    return tokens + 3


def completion(content: str, *, finish_reason: str = "stop", usage: bool = True, prompt: int = 0) -> dict[str, Any]:
    """A chat.completion body."""
    body: dict[str, Any] = {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 0,
        "model": "fake-model",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish_reason}],
    }
    if usage:
        done = estimate_tokens(content)
        body["usage"] = {"prompt_tokens": prompt, "completion_tokens": done, "total_tokens": prompt + done}
    return body


def echo_briefing(request: Recorded) -> Step:
    """A well-behaved model: a briefing (or part notes, or a combined briefing) made of the prompt's own sentences."""
    if "<notes>" in request.user:
        notes = [json.loads(line) for line in request.fenced("notes").splitlines() if line.startswith("{")]
        return reply(
            {
                "tldr": notes[0]["tldr"] if notes else "",
                "key_points": [n["key_points"][0] for n in notes if n["key_points"]][:6],
                "quotes": [q for n in notes for q in n["quotes"]][:6],
                "implications": [i for n in notes for i in n["implications"]][:3],
            }
        )
    article = request.fenced("article")
    body = article.split("\n\n", 1)[1] if article.startswith("Title:") else article
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+", body) if len(s.split()) >= 5 and '"' not in s]
    quotes = [
        {"speaker": m.group(2), "role": None, "text": m.group(1), "direct": True}
        for m in re.finditer(r'"([^"]{10,300}?)," said ([A-Z][a-z]+ [A-Z][a-z]+)', body)
    ]
    return reply(
        {
            "tldr": sentences[0] if sentences else body[:200],
            "key_points": sentences[1:4],
            "quotes": quotes[:3],
            "implications": [],
        }
    )


def llm_settings(server: FakeOpenAI, **overrides: Any) -> Settings:
    """Settings pointing the LLM engine at `server`, with short timeouts and deadline for tests."""
    values: dict[str, Any] = {
        "llm_base_url": server.base_url,
        "llm_api_key": "test-key",
        "llm_model": "gpt-4o-mini",
        "llm_deadline": 2.0,
        "llm_request_timeout": 1.0,
        "llm_connect_timeout": 1.0,
        "llm_max_retries": 2,
        "llm_tokenizer_download": False,  # never let tiktoken reach for the network in tests
    }
    values.update(overrides)
    return Settings(**values)


class FakeOpenAI:
    """The server. Use as `async with FakeOpenAI() as server:`; point the SDK at `server.base_url`."""

    def __init__(self, responder: Callable[[Recorded], Step] = echo_briefing) -> None:
        self.responder = responder
        self.requests: list[Recorded] = []
        self.script: deque[Step] = deque()
        self.reject_json_schema = False
        self.reject_json_object = False
        self.reject_max_completion_tokens = False
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def enqueue(self, *steps: Step) -> None:
        self.script.extend(steps)

    async def __aenter__(self) -> FakeOpenAI:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._handle)
        app.router.add_post("/openai/deployments/{deployment}/chat/completions", self._handle)  # Azure's path
        self._runner = web.AppRunner(app, shutdown_timeout=0.1, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def _rejection(self, body: dict[str, Any]) -> Step | None:
        fmt = (body.get("response_format") or {}).get("type")
        if self.reject_json_schema and fmt == "json_schema":
            return error(
                400,
                "Invalid parameter: 'response_format' of type 'json_schema' is not supported with this model.",
                type_="invalid_request_error",
                param="response_format",
            )
        if self.reject_json_object and fmt == "json_object":
            return error(400, "response_format json_object is not supported", type_="invalid_request_error")
        if self.reject_max_completion_tokens and "max_completion_tokens" in body:
            return error(
                400, "Unrecognized request argument supplied: max_completion_tokens", type_="invalid_request_error"
            )
        return None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        recorded = Recorded(request.path, request.query_string, dict(request.headers), body)
        self.requests.append(recorded)
        step = self._rejection(body) or (self.script.popleft() if self.script else self.responder(recorded))
        if step.kind == "hang":
            await asyncio.sleep(step.seconds)
            return web.json_response(completion("{}"))
        if step.kind == "stall":
            response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
            response.content_length = 10_000
            await response.prepare(request)
            await response.write(step.body)
            await asyncio.sleep(step.seconds)
            return response
        if step.kind == "error":
            return web.json_response(step.body, status=step.status, headers=step.headers)
        if step.kind == "raw":
            return web.Response(body=step.body, status=step.status, headers=step.headers)
        content = completion(
            step.content or "", finish_reason=step.finish_reason, usage=step.usage, prompt=prompt_tokens(body)
        )
        return web.json_response(content)


# --- synthetic articles (our own words, composed from templates) ---------------------------------------------------

_PEOPLE = [
    ("Mara Lindqvist", "the harbour authority's director"),
    ("Tobias Renner", "a transport economist"),
    ("Ines Okafor", "the council's finance chair"),
    ("Paul Achterberg", "a union representative"),
    ("Selma Haddad", "a resident of the east bank"),
    ("Oren Blum", "the project's chief engineer"),
]
_PLACES = ["the east bank", "the old ferry terminal", "Pier Road", "the rail yard", "the market square", "Dock Lane"]
_FACTS = [
    "The {place} site has been closed to traffic since {month}, and detours add about {n} minutes to a typical trip.",
    "Officials counted {n},{m}00 vehicles a day crossing near {place} before the closure, up from the year before.",
    "A survey of {n} households near {place} found that most would accept higher fares for a faster service.",
    "The budget for the works at {place} was revised in {month} to include drainage and lighting.",
    "Contractors moved heavy equipment to {place} over {n} nights to avoid disrupting the morning rush.",
    "Inspectors reported {n} defects at {place}, most of them minor, in a review published in {month}.",
    "Shops near {place} said takings fell during the works, and some asked for a rates holiday.",
    "The plan for {place} includes a cycle lane, wider pavements and {n} new bus stops.",
]
_QUOTES = [
    "We have to finish the work at {place} before the winter storms arrive",
    "Nobody here wants another year of detours and broken promises",
    "The figures for {place} look better than anyone expected in {month}",
    "If the money runs out, the people near {place} will pay the price",
    "This is the most complicated job we have taken on in a decade",
]
_MONTHS = ["January", "March", "May", "June", "September", "November"]


def synthetic_article(words: int, seed: int = 7) -> str:
    """A news-like article of about `words` words with attributed quotes; deterministic for a given seed."""
    import random

    rng = random.Random(seed)
    paragraphs: list[str] = []
    count = 0
    while count < words:
        slots = {
            "place": rng.choice(_PLACES),
            "month": rng.choice(_MONTHS),
            "n": rng.randint(2, 90),
            "m": rng.randint(1, 9),
        }
        if rng.random() < 0.3:
            name, role = rng.choice(_PEOPLE)
            text = f'"{rng.choice(_QUOTES).format(**slots)}," said {name}, {role}.'
        else:
            text = " ".join(rng.choice(_FACTS).format(**slots) for _ in range(rng.randint(2, 4)))
        paragraphs.append(text)
        count += len(text.split())
    return "\n\n".join(paragraphs)
