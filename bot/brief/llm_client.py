"""The chat-completions client behind the LLM engine: SDK construction, one call with its fallbacks, retries under a
deadline, error classification, tolerant JSON parsing and per-call usage records.

* The SDK's own retries are off (`max_retries=0`): `call_json` retries itself, so it can refuse to retry
  `insufficient_quota`, honour `Retry-After` only while the deadline allows it, and count every attempt.
* Servers differ. A 400/422 that names `response_format`/`json_schema`/`json_object` downgrades the output mode
  (JSON schema -> JSON mode -> plain text parsed tolerantly); one that names `max_completion_tokens` switches to
  `max_tokens`. The downgrade is remembered by the client (one per engine), so it costs one extra request once.
* A 200 whose body is an error object, or is not JSON, is a failure, never a crash; so is a completion cut off at the
  length limit after one retry with twice the output allowance.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import openai

from bot.brief.tokens import TokenCounter
from bot.errors import EngineError

__all__ = [
    "CallUsage",
    "ClientConfig",
    "Completion",
    "LLMClient",
    "LLMFailure",
    "classify",
    "make_sdk_client",
    "parse_json_object",
]

T = TypeVar("T")
OutputMode = Literal["json_schema", "json_object", "text"]
_DOWNGRADE: dict[OutputMode, OutputMode] = {"json_schema": "json_object", "json_object": "text"}
_FORMAT_WORDS = ("response_format", "json_schema", "json_object", "structured output")
_UNSUPPORTED_WORDS = (
    "unsupported",
    "not supported",
    "unrecognized",
    "unknown",
    "extra",
    "not permitted",
    "invalid param",
)
# The output-length parameter: the current name, and the older one that some compatible servers still require.
_NEW_LENGTH_PARAM, _OLD_LENGTH_PARAM = "max_completion_tokens", "max_tokens"
BACKOFF_BASE = 0.5
BACKOFF_CAP = 8.0


class LLMFailure(EngineError):
    """A model call failed. `reason` is a short phrase for users ("rate limited"); `detail` is for logs."""

    kind = "llm"

    def __init__(self, reason: str, *, retryable: bool = False, retry_after: float | None = None, detail: str = ""):
        super().__init__(f"The language model was unavailable ({reason}).")
        self.reason = reason
        self.retryable = retryable
        self.retry_after = retry_after
        self.detail = detail or reason


@dataclass(frozen=True)
class ClientConfig:
    """What the client needs from Settings (see `bot.brief.llm.build_engine`)."""

    model: str
    base_url: str | None = None
    api_key: str | None = None
    api_version: str | None = None  # set: Azure OpenAI (base_url is the resource endpoint, model the deployment)
    connect_timeout: float = 5.0
    request_timeout: float = 60.0
    max_retries: int = 2
    price_input_per_1k: float = 0.0
    price_output_per_1k: float = 0.0


@dataclass(frozen=True)
class CallUsage:
    """One HTTP request to the model: what it was for, what it cost, how it ended. Failed requests count too."""

    purpose: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    finish_reason: str | None
    outcome: str  # "ok", or the failure reason
    estimated: bool = False  # the server reported no usage; tokens were counted locally


@dataclass(frozen=True)
class Completion:
    content: str
    finish_reason: str | None
    prompt_tokens: int
    completion_tokens: int
    estimated: bool


def make_sdk_client(config: ClientConfig, http_client: Any = None) -> openai.AsyncOpenAI:
    """The SDK client: Azure OpenAI when `api_version` is set, otherwise OpenAI or any compatible server."""
    timeout = openai.Timeout(config.request_timeout, connect=config.connect_timeout)
    # Always pass a key: the SDK would otherwise read OPENAI_API_KEY, and local servers accept any placeholder.
    common: dict[str, Any] = {"api_key": config.api_key or "not-needed", "timeout": timeout, "max_retries": 0}
    if http_client is not None:
        common["http_client"] = http_client
    if config.api_version:
        if not config.base_url:
            raise ValueError("Azure OpenAI needs llm_base_url set to the resource endpoint")
        return openai.AsyncAzureOpenAI(
            azure_endpoint=config.base_url, azure_deployment=config.model, api_version=config.api_version, **common
        )
    return openai.AsyncOpenAI(base_url=config.base_url or "https://api.openai.com/v1", **common)


def parse_json_object(text: str) -> dict[str, Any]:
    """The first JSON object in `text`, tolerating code fences, reasoning blocks, prose around it, trailing commas."""
    text = re.sub(r"(?is)<think>.*?</think>", "", text)
    text = re.sub(r"```(?:json)?", "", text)
    decoder = json.JSONDecoder()
    starts = [m.start() for m in re.finditer(r"\{", text)]
    # The outermost object first (as written, then with trailing commas removed), inner ones only as a last resort.
    for start in starts:
        for candidate in (text[start:], re.sub(r",\s*([}\]])", r"\1", text[start:])):
            try:
                value, _ = decoder.raw_decode(candidate)
            except ValueError:
                continue
            if isinstance(value, dict):
                return value
    raise ValueError("no JSON object in the model's reply")


def _retry_after(headers: Any) -> float | None:
    if headers is None:
        return None
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return max(0.0, float(value) * scale)
        except ValueError:
            parsed = email.utils.parsedate_tz(value)
            if parsed is not None:
                return max(0.0, email.utils.mktime_tz(parsed) - time.time())
    return None


def _error_text(exc: openai.APIStatusError) -> str:
    return " ".join(str(x) for x in (exc.message, exc.param, exc.code, exc.body)).lower()


def classify(exc: Exception) -> LLMFailure:
    """Map an SDK exception to a failure with a user-facing reason and whether a retry may help."""
    if isinstance(exc, openai.APITimeoutError):
        return LLMFailure("timed out", retryable=True, detail=str(exc))
    if isinstance(exc, openai.APIConnectionError):
        return LLMFailure("connection failed", retryable=True, detail=str(exc))
    if not isinstance(exc, openai.APIStatusError):
        return LLMFailure("unexpected error", detail=f"{type(exc).__name__}: {exc}")
    text, status = _error_text(exc), exc.status_code
    detail = f"HTTP {status}: {exc.message}"[:300]
    if "insufficient_quota" in text:
        return LLMFailure("quota exhausted", detail=detail)  # retrying cannot help until someone pays
    if status == 429:
        return LLMFailure("rate limited", retryable=True, retry_after=_retry_after(exc.response.headers), detail=detail)
    if status in (401, 403):
        return LLMFailure("authentication failed", detail=detail)
    if status == 404:
        return LLMFailure("model not found", detail=detail)
    if "context_length" in text or "maximum context" in text:
        return LLMFailure("article too long for the model", detail=detail)
    if status in (408, 409) or status >= 500:
        retry_after = _retry_after(exc.response.headers)
        return LLMFailure("server error", retryable=True, retry_after=retry_after, detail=detail)
    return LLMFailure("request rejected", detail=detail)


class LLMClient:
    """Chat completions with the fallbacks and retry policy in the module docstring. One per engine."""

    def __init__(self, config: ClientConfig, counter: TokenCounter, *, sdk: openai.AsyncOpenAI | None = None) -> None:
        self.config = config
        self.counter = counter
        self.sdk = sdk or make_sdk_client(config)
        self.mode: OutputMode = "json_schema"
        self.length_param = _NEW_LENGTH_PARAM

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self.sdk.close()

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        """Estimated cost in USD from the configured per-1k prices."""
        return (
            prompt_tokens * self.config.price_input_per_1k + completion_tokens * self.config.price_output_per_1k
        ) / 1000

    def _request(self, messages: list[dict[str, str]], response_format: dict | None, max_output: int) -> dict:
        kwargs: dict[str, Any] = {"model": self.config.model, "messages": messages, self.length_param: max_output}
        if response_format is not None and self.mode == "json_schema":
            kwargs["response_format"] = response_format
        elif response_format is not None and self.mode == "json_object":
            kwargs["response_format"] = {"type": "json_object"}
        return kwargs

    def _adapt(self, exc: openai.APIStatusError) -> bool:
        """Adjust to a server that rejected a parameter; True if the request should be sent again at once."""
        if exc.status_code not in (400, 422):
            return False
        text = _error_text(exc)
        unsupported = any(word in text for word in _UNSUPPORTED_WORDS)  # not "too large": that is a real error
        if self.length_param == _NEW_LENGTH_PARAM and _NEW_LENGTH_PARAM in text and unsupported:
            self.length_param = _OLD_LENGTH_PARAM
            return True
        if self.mode in _DOWNGRADE and any(word in text for word in _FORMAT_WORDS):
            self.mode = _DOWNGRADE[self.mode]
            return True
        return False

    async def complete(
        self, messages: list[dict[str, str]], *, response_format: dict | None, max_output: int, request_timeout: float
    ) -> Completion:
        """One completion (plus at most a few immediate re-sends after parameter downgrades)."""
        for _ in range(4):
            kwargs = self._request(messages, response_format, max_output)
            try:
                raw = await self.sdk.chat.completions.with_raw_response.create(
                    **kwargs,
                    timeout=openai.Timeout(request_timeout, connect=min(request_timeout, self.config.connect_timeout)),
                )
            except openai.APIStatusError as exc:
                if self._adapt(exc):
                    continue
                raise classify(exc) from exc
            except openai.OpenAIError as exc:
                raise classify(exc) from exc
            return self._read(raw.content, messages)
        raise LLMFailure("request rejected", detail="the server rejected every parameter fallback")

    def _read(self, body: bytes, messages: list[dict[str, str]]) -> Completion:
        try:
            data = json.loads(body)
        except ValueError:
            raise LLMFailure("malformed response", retryable=True, detail=f"non-JSON body: {body[:120]!r}") from None
        if not isinstance(data, dict):
            raise LLMFailure("malformed response", retryable=True, detail="the body is not a JSON object")
        if data.get("error") and not data.get("choices"):
            detail = json.dumps(data["error"])[:300]
            if "insufficient_quota" in detail:
                raise LLMFailure("quota exhausted", detail=detail)
            raise LLMFailure("error response", retryable=True, detail=detail)
        try:
            choice = data["choices"][0]
            message = choice.get("message") or {}
        except (KeyError, IndexError, TypeError, AttributeError):
            raise LLMFailure("malformed response", retryable=True, detail="no choices in the response") from None
        content = message.get("content")
        if isinstance(content, list):  # some servers send content parts
            content = "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
        finish = choice.get("finish_reason")
        if not isinstance(content, str) or not content.strip():
            if message.get("refusal") or finish == "content_filter":
                raise LLMFailure("refused by the model", detail=str(message.get("refusal"))[:200])
            content = ""
        usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
        prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
        estimated = not isinstance(prompt, int) or not isinstance(completion, int)
        if estimated:  # some local servers omit usage: count it ourselves so budgets still work
            prompt, completion = self.counter.count_messages(messages), self.counter.count(content)
        return Completion(content, finish, int(prompt), int(completion), estimated)

    async def call_json(
        self,
        messages: list[dict[str, str]],
        *,
        response_format: dict | None,
        max_output: int,
        max_output_ceiling: int,
        deadline: float,
        purpose: str,
        record: Callable[[CallUsage], None],
        parse: Callable[[dict[str, Any]], T],
    ) -> T:
        """The model's JSON reply read by `parse` (a ValueError there counts as a malformed reply).

        Retryable failures are retried (honouring Retry-After) while `deadline`, a `loop.time()` value, allows. A
        completion cut off at the length limit is retried once with twice the output allowance (at most
        `max_output_ceiling`), then fails: a truncated briefing is never passed off as complete."""
        loop = asyncio.get_running_loop()
        attempt, grown = 0, False
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise LLMFailure("timed out", detail="the deadline passed before the request")
            try:
                done = await self.complete(
                    messages,
                    response_format=response_format,
                    max_output=max_output,
                    request_timeout=min(self.config.request_timeout, remaining),
                )
            except asyncio.CancelledError:  # the total deadline (or shutdown) ended the request: it still counts
                record(CallUsage(purpose, self.config.model, 0, 0, 0.0, None, "cancelled"))
                raise
            except LLMFailure as failure:
                record(CallUsage(purpose, self.config.model, 0, 0, 0.0, None, failure.reason))
                await asyncio.sleep(self._backoff(failure, attempt, deadline))
                attempt += 1
                continue
            cost = self.cost(done.prompt_tokens, done.completion_tokens)
            outcome = "ok" if done.finish_reason != "length" else "cut off"
            record(
                CallUsage(
                    purpose,
                    self.config.model,
                    done.prompt_tokens,
                    done.completion_tokens,
                    cost,
                    done.finish_reason,
                    outcome,
                    done.estimated,
                )
            )
            if done.finish_reason == "length":
                if grown or max_output >= max_output_ceiling:
                    raise LLMFailure("the answer was cut off", detail=f"finish_reason=length at {max_output} tokens")
                max_output, grown = min(max_output * 2, max_output_ceiling), True
                continue
            if done.finish_reason == "content_filter":
                raise LLMFailure("refused by the model", detail="finish_reason=content_filter")
            try:
                return parse(parse_json_object(done.content))
            except ValueError as exc:
                failure = LLMFailure("malformed response", retryable=True, detail=f"{exc}: {done.content[:200]!r}")
                await asyncio.sleep(self._backoff(failure, attempt, deadline))
                attempt += 1

    def _backoff(self, failure: LLMFailure, attempt: int, deadline: float) -> float:
        """How long to wait before retrying after `failure`; raises it if it should not be retried."""
        if not failure.retryable or attempt >= self.config.max_retries:
            raise failure
        wait = failure.retry_after
        if wait is None:
            wait = min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt) * (0.75 + random.random() / 4)  # noqa: S311 (jitter)
        # Waiting past the deadline only delays the offline briefing: fail now with the real reason instead.
        if asyncio.get_running_loop().time() + wait >= deadline:
            raise failure
        return wait
