"""Choosing the engines from Settings: `auto` means the LLM when one is configured, else the offline engine."""

from __future__ import annotations

from bot.brief.engine import Answerer, Briefer
from bot.brief.extractive import ExtractiveBriefer
from bot.config import EngineChoice, Settings
from bot.errors import ConfigError


def build_briefer(settings: Settings, choice: EngineChoice | None = None) -> Briefer:
    """The engine for `choice` (default: `settings.engine`); the LLM engine falls back to the offline one."""
    choice = choice or settings.engine
    offline = ExtractiveBriefer()
    if choice is EngineChoice.EXTRACTIVE or (choice is EngineChoice.AUTO and not settings.llm_configured):
        return offline
    if not settings.llm_configured:
        raise ConfigError("The LLM engine needs BRIEFBOT_LLM_API_KEY or BRIEFBOT_LLM_BASE_URL to be set.")
    from bot.brief.llm import build_engine  # imported here: the offline path never loads the OpenAI SDK

    return build_engine(settings.model_copy(update={"engine": choice}), fallback=offline)


def build_answerer(settings: Settings, choice: EngineChoice | None = None) -> Answerer | None:
    """The LLM answerer when the LLM engine is chosen, else None (the service then answers offline)."""
    choice = choice or settings.engine
    if choice is EngineChoice.EXTRACTIVE or not settings.llm_configured:
        return None
    from bot.brief.llm_answer import build_answerer as build_llm_answerer

    return build_llm_answerer(settings)
