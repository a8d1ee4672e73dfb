"""Follow-up answers from the LLM, grounded like the briefings: the model sees only retrieved passages, must copy its
evidence word for word, and an answer whose evidence is not in the article is not shown.

The cascade: retrieve the passages for the question (and the thread's earlier questions) within a character budget;
ask the model (`prompts/answer.txt`); keep the answer only when at least one evidence sentence is found verbatim in an
article (its offsets become the citations), else fall back to the offline extractive answer. A refusal from the model
("the article doesn't say") is kept. Any model failure yields the offline answer with the reason in `note`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from bot.brief.answer import REFUSAL, Answer, answer_offline, select_passages_for_llm
from bot.brief.llm import build_client
from bot.brief.llm_client import CallUsage, LLMClient, LLMFailure
from bot.brief.prompts import load_prompt
from bot.brief.sanitize import clean_for_prompt, sanitize_text
from bot.brief.verify import Words
from bot.config import Settings
from bot.models import Span

log = logging.getLogger(__name__)

ENGINE_NAME = "llm"
# About 1,500 tokens of passages: enough for the top windows with their neighbours, cheap per question.
PASSAGE_BUDGET_CHARS = 6_000
MAX_OUTPUT_TOKENS = 400


class LLMAnswerer:
    """Answers follow-up questions with the model over retrieved passages (see the module docstring)."""

    def __init__(self, client: LLMClient, *, deadline: float, budget_chars: int = PASSAGE_BUDGET_CHARS) -> None:
        self.client = client
        self.deadline = deadline
        self.budget_chars = budget_chars
        self.prompt = load_prompt("answer")
        self.calls: list[CallUsage] = []

    async def answer(self, documents: Sequence[tuple[str, str]], question: str, history: Sequence[str]) -> Answer:
        """The model's answer citing the article, the offline answer when the model fails or cannot back it up."""
        if not question.strip():
            return await asyncio.to_thread(answer_offline, list(documents), question)
        passages = select_passages_for_llm(list(documents), question, list(history), budget_chars=self.budget_chars)
        context = "\n\n".join(clean_for_prompt(p.text) for p in passages)
        earlier = "\n".join(f"- {clean_for_prompt(q)}" for q in history[-3:]) or "(none)"
        messages = self.prompt.messages(
            title="(see the article)", article=context, question=clean_for_prompt(question), history=earlier
        )
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.deadline):
                reply = await self.client.call_json(
                    messages,
                    response_format=self.prompt.response_format(),
                    max_output=MAX_OUTPUT_TOKENS,
                    max_output_ceiling=MAX_OUTPUT_TOKENS * 2,
                    deadline=loop.time() + self.deadline,
                    purpose="answer",
                    record=self.calls.append,
                    parse=_parse_reply,
                )
        except (LLMFailure, TimeoutError) as exc:
            reason = exc.reason if isinstance(exc, LLMFailure) else "timed out"
            log.warning("LLM answer failed (%s); answering offline", reason)
            return await self._offline(documents, question, history, f"llm fallback: {reason}")
        answered, text, evidence = reply
        if not answered:
            return Answer(text="", refused=True, reason=REFUSAL, engine=ENGINE_NAME)
        found = _locate(documents, evidence)
        if found is None:
            return await self._offline(documents, question, history, "llm fallback: answer not backed by the article")
        doc_id, citations = found
        return Answer(text=sanitize_text(text), citations=citations, engine=ENGINE_NAME, doc_id=doc_id)

    async def _offline(
        self, documents: Sequence[tuple[str, str]], question: str, history: Sequence[str], engine: str
    ) -> Answer:
        answer = await asyncio.to_thread(answer_offline, list(documents), question, history=list(history))
        return answer.model_copy(update={"engine": f"extractive ({engine})"})


def _parse_reply(data: dict[str, Any]) -> tuple[bool, str, list[str]]:
    answered = data.get("answered")
    text = data.get("answer")
    evidence = data.get("evidence") or []
    if not isinstance(answered, bool) or not isinstance(text, str) or not isinstance(evidence, list):
        raise ValueError("the reply lacks answer/evidence/answered")
    return answered, text.strip(), [e for e in evidence if isinstance(e, str) and e.strip()][:3]


def _locate(documents: Sequence[tuple[str, str]], evidence: list[str]) -> tuple[str, list[Span]] | None:
    """Where the evidence sentences occur verbatim (ignoring spacing, case and quote marks) in one document."""
    for doc_id, text in documents:
        view = Words.of(text)
        spans = [found[0] for sentence in evidence if (found := view.find_all(Words.of(sentence).words))]
        if spans:
            return doc_id, spans
    return None


def build_answerer(settings: Settings, *, http_client: Any = None) -> LLMAnswerer:
    """The LLM answerer for `settings` (which must configure an LLM)."""
    return LLMAnswerer(build_client(settings, http_client=http_client), deadline=settings.llm_deadline)
