"""The one small interface every briefing engine implements, and how the configured engine is chosen."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from bot.models import Article, Briefing


@runtime_checkable
class Briefer(Protocol):
    """Turns an article into a briefing. `name` is recorded on every briefing it makes (e.g. "extractive")."""

    name: str

    async def brief(self, article: Article) -> Briefing:
        """Brief `article`. Engines never raise for bad article content; the LLM engine falls back instead."""
        ...
