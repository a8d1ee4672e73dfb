"""Secrets never reach a log line, whether logged directly, as an argument, or inside an exception."""

from __future__ import annotations

import logging

import pytest

from bot.logging_setup import RedactingFilter, redact

SLACK = "xoxb-1234567890-abcdefghijkl"
OPENAI = "sk-proj-abcdefghijklmnopqrstuvwx"


def test_redact_by_shape_and_value() -> None:
    text = f"token={SLACK} key={OPENAI} Authorization: Bearer abc.def.ghi123 custom=hunter2-secret"
    cleaned = redact(text, secrets=["hunter2-secret"])
    for secret in (SLACK, OPENAI, "abc.def.ghi123", "hunter2-secret"):
        assert secret not in cleaned
    assert cleaned.count("[redacted]") == 4


def test_filter_redacts_arguments_and_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("briefbot.test")
    logger.addFilter(RedactingFilter(["my-db-password"]))
    try:
        with caplog.at_level(logging.INFO, logger="briefbot.test"):
            logger.info("posting with %s to %s", SLACK, "postgresql://u:my-db-password@db/x")
            try:
                raise RuntimeError(f"auth failed for {OPENAI}")
            except RuntimeError:
                logger.exception("call failed")
    finally:
        logger.filters.clear()
    logged = caplog.text
    assert SLACK not in logged
    assert OPENAI not in logged
    assert "my-db-password" not in logged
    assert "RuntimeError" in logged  # the traceback itself is kept
