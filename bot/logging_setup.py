"""Logging set-up with a filter that keeps secrets out of every log line.

Tokens are redacted by shape (Slack `xox?-`/`xapp-`, OpenAI `sk-`, Discord bot tokens, bearer headers) and by value
(every secret in Settings), so a secret that ends up in an exception message or a URL is still never printed.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

_SECRET_SHAPES = re.compile(
    r"""
    xox[abposr]-[A-Za-z0-9-]{6,}            # Slack bot/user/app tokens
    | xapp-[A-Za-z0-9-]{6,}                 # Slack app-level tokens
    | sk-[A-Za-z0-9_-]{12,}                 # OpenAI-style API keys
    | [MNO][A-Za-z\d_-]{23,25}\.[A-Za-z\d_-]{6}\.[A-Za-z\d_-]{27,}  # Discord bot tokens
    | (?i:bearer)\s+[A-Za-z0-9._~+/=-]{8,}  # Authorization headers
    """,
    re.VERBOSE,
)
REDACTED = "[redacted]"


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Replace known secret values and anything shaped like a token with `[redacted]`."""
    for secret in secrets:
        if secret and len(secret) >= 6:
            text = text.replace(secret, REDACTED)
    return _SECRET_SHAPES.sub(REDACTED, text)


class RedactingFilter(logging.Filter):
    """Rewrites each record's message (arguments and exception text included) with secrets redacted."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets = tuple(s for s in secrets if s)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self._secrets)
        record.msg = redact(message, self._secrets)
        record.args = None
        return True


def configure_logging(level: str = "INFO", secrets: Iterable[str] = ()) -> None:
    """Configure the root logger once: a stderr handler, a plain format, and the redacting filter."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter(secrets))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Libraries that log request URLs or headers at INFO stay quiet unless asked.
    noisy_loggers = (
        "httpx",
        "httpcore",
        "openai",
        "slack_bolt",
        "slack_sdk",
        "discord",
        "apscheduler",
        "trafilatura",
        "alembic",
    )
    for noisy in noisy_loggers:
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
