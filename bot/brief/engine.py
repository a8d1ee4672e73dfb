"""The small interfaces the engines implement: a Briefer makes briefings, an Answerer answers follow-ups."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from bot.models import Article, Briefing

if TYPE_CHECKING:
    from bot.brief.answer import Answer


@runtime_checkable
class Briefer(Protocol):
    """Turns an article into a briefing. `name` is recorded on every briefing it makes (e.g. "extractive")."""

    name: str

    async def brief(self, article: Article) -> Briefing:
        """Brief `article`. Engines never raise for bad article content; the LLM engine falls back instead."""
        ...


@runtime_checkable
class Answerer(Protocol):
    """Answers a follow-up question from a thread's articles ((doc_id, text) pairs) and its earlier questions."""

    async def answer(self, documents: Sequence[tuple[str, str]], question: str, history: Sequence[str]) -> Answer:
        """The answer, citing offsets into one document, or a refusal when the articles do not say."""
        ...
