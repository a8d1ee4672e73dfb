"""Hermetic tests: no BRIEFBOT_* variable or `.env` from the developer's machine leaks into a test."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _hermetic_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    for name in list(os.environ):
        if name.startswith("BRIEFBOT_") or name in {"OPENAI_API_KEY", "OPENAI_BASE_URL"}:
            monkeypatch.delenv(name, raising=False)
    # Settings reads `.env` from the working directory: run each test from an empty one.
    monkeypatch.chdir(tmp_path)


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    # CLI tests run `configure_logging`, whose handler writes to the stderr CliRunner swaps in and then closes: put
    # the root logger back, so later tests do not log into a closed stream.
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
