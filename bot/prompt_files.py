"""Where the prompt templates are: `bot/prompts` in an installed wheel, the top-level `prompts/` in a checkout."""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def prompts_dir() -> Path:
    """The directory holding the prompt templates."""
    for candidate in (_PACKAGE_DIR / "prompts", _PACKAGE_DIR.parent / "prompts"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("briefbot's prompt templates are missing from this installation")
