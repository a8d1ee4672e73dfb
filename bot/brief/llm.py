"""The LLM briefing engine: any OpenAI-compatible chat API, grounded in and checked against the article.

How a briefing is made (a documented cascade; the briefing records which stage produced it):

1. The grounding engine (the offline `ExtractiveBriefer`) briefs the article first. Its quotes (with speakers) and
   key sentences go into the prompt as compact candidates, and its briefing is the fallback.
2. If the prompt fits the input budget, one request (`prompts/briefing.txt`). Otherwise map-reduce: the article is cut
   at paragraph boundaries into parts that fit (`prompts/map.txt`, run concurrently), and the parts' notes, with their
   quotes already verified, are combined (`prompts/reduce.txt`, in levels if the notes themselves do not fit). The
   whole article is always read; `coverage` says how ("read 100% of 14,200 tokens in 3 parts").
3. Everything the model wrote is sanitised (`sanitize`), checked for repeated prompt text, and verified (`verify`):
   invented or misattributed quotes are dropped, unsupported statements dropped, unknown figures flagged. A section
   left empty is refilled from the offline briefing. What was changed is said in `warnings`.
4. Any failure (timeout, rate limit, quota, 5xx, malformed or error responses, a cut-off answer), or the total
   deadline passing, yields the offline briefing with `engine = "extractive (llm fallback: <reason>)"` and the warning
   "The language model was unavailable (<reason>); this is the offline briefing." Tokens already spent stay in `usage`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.brief import verify
from bot.brief.engine import Briefer
from bot.brief.llm_client import CallUsage, ClientConfig, LLMClient, LLMFailure, make_sdk_client
from bot.brief.prompts import ModelBriefing, PromptTemplate, combined_version, grounding_block, load_prompt
from bot.brief.quotes import extract_quotes
from bot.brief.sanitize import LeakGuard, clean_for_prompt, sanitize_briefing
from bot.brief.tokens import Budget, TokenCounter, chunk_spans, load_counter
from bot.config import EngineChoice, Settings
from bot.errors import ConfigError
from bot.models import Article, Briefing, Coverage, Usage

__all__ = ["ENGINE_NAME", "LLMBriefer", "LLMResult", "Plan", "build_client", "build_engine"]

log = logging.getLogger(__name__)
ENGINE_NAME = "llm"
MAP_CONCURRENCY = 4
MAX_PARTS = 48  # beyond this an article is briefed offline (cost guard), never cut short
MAX_REDUCE_LEVELS = 4
MIN_CHUNK_TOKENS = 256  # smaller parts would cost more in instructions than in article text
GROUNDING_ALLOWANCE = 220  # tokens reserved per request for the candidate quotes and key sentences


@dataclass(frozen=True)
class Plan:
    """What briefing an article will take, before any request: for budget checks by the service."""

    article_tokens: int
    parts: int
    prompt_tokens: int  # an upper-bound estimate for all requests
    max_cost_usd: float


@dataclass
class LLMResult:
    """A briefing plus every request made for it (failed ones included)."""

    briefing: Briefing
    calls: list[CallUsage] = field(default_factory=list)


@dataclass
class _Run:
    article: Article
    grounding: Briefing
    index: verify.ArticleIndex
    deadline: float
    calls: list[CallUsage] = field(default_factory=list)


class LLMBriefer:
    """The LLM engine (see the module docstring). `grounding` is the offline engine used for candidates and fallback.

    `on_usage` is called with each request's `CallUsage` as it ends (failed requests included), so a service can keep
    per-user, per-channel and per-day budgets; raising `LLMFailure("usage budget reached")` from it stops spending and
    yields the offline briefing with that reason. `plan()` prices a briefing before any request is made.
    """

    name = ENGINE_NAME

    def __init__(
        self,
        client: LLMClient,
        *,
        grounding: Briefer,
        budget: Budget,
        deadline: float,
        on_usage: Callable[[CallUsage], None] | None = None,
        map_concurrency: int = MAP_CONCURRENCY,
    ) -> None:
        self.client = client
        self.grounding = grounding
        self.budget = budget
        self.deadline = deadline
        self.on_usage = on_usage
        self.map_concurrency = map_concurrency
        self.prompts = {name: load_prompt(name) for name in ("briefing", "map", "reduce")}
        # The engine's identity for caching: the service finds a stored briefing by (article, name, prompt_version),
        # so a new model or an edited template briefs again, and a fallback briefing is never taken for this one's.
        self.name = f"{ENGINE_NAME} ({client.config.model})"
        self.prompt_version = combined_version(*self.prompts.values())
        if self._chunk_limit() < MIN_CHUNK_TOKENS:
            raise ValueError(f"the input budget ({budget.input} tokens) leaves too little room for article text")

    @property
    def counter(self) -> TokenCounter:
        return self.client.counter

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self.client.aclose()

    async def brief(self, article: Article) -> Briefing:
        """Brief `article`; never raises for model or network trouble (see the module docstring)."""
        return (await self.brief_with_usage(article)).briefing

    async def brief_with_usage(self, article: Article) -> LLMResult:
        """Like `brief`, and also return the per-request usage records."""
        grounding = await self.grounding.brief(article)
        # Attributions and the word index cost up to a second of CPU on a very long article: off the event loop.
        index = await asyncio.to_thread(lambda: verify.ArticleIndex(article.text, extract_quotes(article.text)))
        run = _Run(article, grounding, index, asyncio.get_running_loop().time() + self.deadline)
        try:
            async with asyncio.timeout(self.deadline):
                briefing = await self._brief(run)
        except LLMFailure as failure:
            log.warning("LLM briefing failed (%s): %s", failure.reason, failure.detail)
            briefing = self._fallback(run, failure.reason)
        except TimeoutError:
            log.warning("LLM briefing passed its %s s deadline", self.deadline)
            briefing = self._fallback(run, "timed out")
        return LLMResult(sanitize_briefing(briefing), run.calls)

    def plan(self, article: Article) -> Plan:
        """Tokens, parts and the most it may cost to brief `article`, computed locally."""
        text = clean_for_prompt(article.text)
        tokens = self.counter.count(text)
        overhead = self._overhead(self.prompts["map"])
        parts = (
            1 if tokens + overhead <= self.budget.input else len(chunk_spans(text, self.counter, self._chunk_limit()))
        )
        prompt = tokens + overhead * (parts + (parts > 1))
        outputs = self.budget.output * 2 * (parts + (parts > 1))
        return Plan(tokens, parts, prompt, self.client.cost(prompt, outputs))

    # --- the cascade ---------------------------------------------------------------------------------------------

    async def _brief(self, run: _Run) -> Briefing:
        text = clean_for_prompt(run.article.text)
        tokens = self.counter.count(text)
        single = self.prompts["briefing"]
        messages = single.messages(
            title=self._title(run), grounding=self._grounding(run, 0, len(run.article.text)), article=text
        )
        if self.counter.count_messages(messages) + self._schema_tokens(single) <= self.budget.input:
            data = await self._call(run, single, messages, "briefing", self.budget.output)
            coverage = Coverage(
                read_fraction=1.0, tokens=tokens, parts=1, note=f"read 100% of {self._tokens(tokens)} in one request"
            )
            return self._finish(run, data, coverage)
        spans = chunk_spans(run.article.text, self.counter, self._chunk_limit())
        if len(spans) > MAX_PARTS:
            raise LLMFailure("article too long for the model", detail=f"{len(spans)} parts > {MAX_PARTS}")
        notes = await self._map(run, spans)
        data = await self._reduce(run, notes)
        coverage = Coverage(
            read_fraction=1.0,
            tokens=tokens,
            parts=len(spans),
            note=f"read 100% of {self._tokens(tokens)} in {len(spans)} parts",
        )
        return self._finish(run, data, coverage)

    async def _map(self, run: _Run, spans: list[tuple[int, int]]) -> list[dict[str, Any]]:
        template, gate = self.prompts["map"], asyncio.Semaphore(self.map_concurrency)

        async def one(number: int, start: int, end: int) -> dict[str, Any]:
            messages = template.messages(
                title=self._title(run),
                part=str(number),
                parts=str(len(spans)),
                grounding=self._grounding(run, start, end),
                article=clean_for_prompt(run.article.text[start:end]),
            )
            async with gate:
                data = await self._call(run, template, messages, f"map {number}/{len(spans)}", self._map_output())
            return self._notes(run, data)

        tasks = [asyncio.create_task(one(i + 1, s, e)) for i, (s, e) in enumerate(spans)]
        try:
            return list(await asyncio.gather(*tasks))
        except BaseException:
            for task in tasks:  # one part failed: the briefing falls back, so stop paying for the others
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise

    async def _reduce(self, run: _Run, notes: list[dict[str, Any]], level: int = 1) -> ModelBriefing:
        template = self.prompts["reduce"]
        limit = self.budget.input - self._overhead(template)
        lines = [clean_for_prompt(json.dumps(n, ensure_ascii=False, separators=(",", ":"))) for n in notes]
        sizes = [self.counter.count(line) + 1 for line in lines]
        # The notes do not fit one request: combine consecutive groups that do, then combine the results (levels).
        groups: list[list[str]] = [[]]
        used = 0
        for line, size in zip(lines, sizes, strict=True):
            if groups[-1] and used + size > limit:
                groups.append([])
                used = 0
            groups[-1].append(line)
            used += size
        if len(groups) == 1 or level >= MAX_REDUCE_LEVELS:
            messages = template.messages(title=self._title(run), notes="\n".join(lines))
            return await self._call(run, template, messages, f"reduce {level}", self.budget.output)
        merged = []
        for group in groups:
            messages = template.messages(title=self._title(run), notes="\n".join(group))
            data = await self._call(run, template, messages, f"reduce {level}", self.budget.output)
            merged.append(self._notes(run, data))
        return await self._reduce(run, merged, level + 1)

    def _notes(self, run: _Run, data: ModelBriefing) -> dict[str, Any]:
        """A part's notes for the reduce step, with only verified quotes and no hostile tokens."""
        checked = verify.assemble(data, run.grounding, run.index, self._guard(run), part=True)
        return {
            "tldr": checked.tldr,
            "key_points": [k.text for k in checked.key_points],
            "quotes": [
                {"speaker": q.speaker, "role": q.speaker_role, "text": q.text, "direct": q.kind == "direct"}
                for q in checked.quotes
            ],
            "implications": [i.text for i in checked.implications],
        }

    async def _call(
        self, run: _Run, template: PromptTemplate, messages: list[dict[str, str]], purpose: str, max_output: int
    ) -> ModelBriefing:
        def record(call: CallUsage) -> None:
            run.calls.append(call)
            if self.on_usage is not None:
                self.on_usage(call)

        prompt_tokens = self.counter.count_messages(messages) + self._schema_tokens(template)
        ceiling = max(max_output, min(self.budget.output * 2, self.budget.context - prompt_tokens - 64))
        data = await self.client.call_json(
            messages,
            response_format=template.response_format(),
            max_output=max_output,
            max_output_ceiling=ceiling,
            deadline=run.deadline,
            purpose=purpose,
            record=record,
            parse=ModelBriefing.from_json,
        )
        return data

    def _finish(self, run: _Run, data: ModelBriefing, coverage: Coverage) -> Briefing:
        briefing = verify.assemble(data, run.grounding, run.index, self._guard(run), part=False)
        notes = list(run.article.warnings) + briefing.warnings
        if run.article.partial:
            notes.append("Only part of the article could be read (see the source's warnings).")
        return briefing.model_copy(
            update={
                "engine": self.name,
                "coverage": coverage,
                "usage": self._usage(run.calls),
                "warnings": list(dict.fromkeys(notes)),
                "prompt_version": self.prompt_version,  # the template set; coverage says single or map-reduce
            }
        )

    def _fallback(self, run: _Run, reason: str) -> Briefing:
        note = f"The language model was unavailable ({reason}); this is the offline briefing."
        return run.grounding.model_copy(
            update={
                "engine": f"{run.grounding.engine} (llm fallback: {reason})",
                "warnings": list(dict.fromkeys([*run.grounding.warnings, note])),
                "usage": self._usage(run.calls),
            }
        )

    # --- small helpers -------------------------------------------------------------------------------------------

    def _usage(self, calls: list[CallUsage]) -> Usage:
        prompt = sum(c.prompt_tokens for c in calls)
        completion = sum(c.completion_tokens for c in calls)
        notes = [self.counter.estimate_note] if self.counter.estimate_note else []
        if any(c.estimated for c in calls):
            notes.append("estimated: the server reported no token usage")
        return Usage(
            prompt_tokens=prompt,
            completion_tokens=completion,
            calls=len(calls),
            cost_usd=round(sum(c.cost_usd for c in calls), 6),
            token_estimate="; ".join(notes) or None,
        )

    def _guard(self, run: _Run) -> LeakGuard:
        return LeakGuard([p.system for p in self.prompts.values()], run.article.text)

    def _title(self, run: _Run) -> str:
        return " ".join(clean_for_prompt(run.article.title or "(none)").split())[:300]

    def _grounding(self, run: _Run, start: int, end: int) -> str:
        return clean_for_prompt(grounding_block(run.grounding, start, end))

    def _schema_tokens(self, template: PromptTemplate) -> int:
        if template.schema is None or self.client.mode != "json_schema":
            return 0
        return self.counter.count(json.dumps(template.schema, separators=(",", ":")))

    def _overhead(self, template: PromptTemplate) -> int:
        values = dict.fromkeys(template.placeholders, "")
        values.update(title="x" * 120, part="99", parts="99")
        return (
            self.counter.count_messages(template.messages(**values))
            + self._schema_tokens(template)
            + (GROUNDING_ALLOWANCE)
        )

    def _chunk_limit(self) -> int:
        return self.budget.input - self._overhead(self.prompts["map"])

    def _map_output(self) -> int:
        return max(256, self.budget.output // 2)

    def _tokens(self, n: int) -> str:
        return f"{n:,} tokens" if self.counter.exact else f"about {n:,} tokens (estimated)"


def build_engine(settings: Settings, *, fallback: Briefer | None = None, http_client: Any = None) -> Briefer:
    """The engine `settings` ask for: `extractive`, `llm` (ConfigError if no model is configured) or `auto` (the LLM
    when configured). `fallback` (default: a new ExtractiveBriefer) is the offline engine the LLM engine grounds on
    and falls back to; `http_client` (an httpx2.AsyncClient) is passed to the SDK (proxies, tests)."""
    if fallback is None:
        from bot.brief.extractive import ExtractiveBriefer

        fallback = ExtractiveBriefer()
    offline = fallback
    if settings.engine == EngineChoice.EXTRACTIVE or (
        settings.engine == EngineChoice.AUTO and not settings.llm_configured
    ):
        return offline
    if not settings.llm_configured:
        raise ConfigError("The LLM engine needs BRIEFBOT_LLM_API_KEY or BRIEFBOT_LLM_BASE_URL.")
    try:
        budget = Budget.for_model(
            settings.llm_context_tokens, settings.llm_max_output_tokens, settings.llm_max_input_tokens
        )
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    client = build_client(settings, http_client=http_client)
    try:
        return LLMBriefer(
            client,
            grounding=offline,
            budget=budget,
            deadline=settings.llm_deadline,
            map_concurrency=settings.llm_map_concurrency,
        )
    except ValueError as exc:
        raise ConfigError(f"llm_context_tokens={settings.llm_context_tokens} is too small: {exc}") from None


def build_client(settings: Settings, *, http_client: Any = None) -> LLMClient:
    """The model client for `settings`: token counter, SDK client, timeouts, prices."""
    counter = load_counter(
        settings.llm_model,
        cache_dir=settings.tiktoken_cache_dir,
        download=settings.llm_tokenizer_download,
    )
    config = ClientConfig(
        model=settings.llm_model,
        base_url=settings.llm_base_url,
        api_key=settings.llm_api_key.get_secret_value() if settings.llm_api_key else None,
        api_version=settings.llm_api_version,
        connect_timeout=settings.llm_connect_timeout,
        request_timeout=settings.llm_request_timeout,
        max_retries=settings.llm_max_retries,
        price_input_per_1k=settings.llm_price_input_per_1k,
        price_output_per_1k=settings.llm_price_output_per_1k,
    )
    return LLMClient(config, counter, sdk=make_sdk_client(config, http_client))
