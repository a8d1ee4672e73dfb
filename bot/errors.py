"""The user-facing error tree.

Every message here is written for the person who shared the link or typed the command: one short sentence saying what
went wrong and, where it helps, what to do. Adapters map a `BriefbotError` to a reply at exactly one boundary; any
other exception is a bug, logged with its traceback and shown as a generic apology.
"""

from __future__ import annotations


class BriefbotError(Exception):
    """Base class: `str(error)` is the message shown to the user; `kind` names it for logs and metrics."""

    kind = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(BriefbotError):
    """The configuration is invalid; raised at start-up only."""

    kind = "config"


class FetchError(BriefbotError):
    """A URL could not be fetched: network failure, HTTP error, timeout."""

    kind = "fetch"


class BlockedURLError(FetchError):
    """The URL points somewhere we refuse to go (private address, bad scheme or port, credentials)."""

    kind = "blocked_url"


class TooLargeError(FetchError):
    """The page is bigger than the configured cap."""

    kind = "too_large"


class UnsupportedContentError(FetchError):
    """The URL is not a web page we can read (a PDF, an image, a video...)."""

    kind = "unsupported_content"


class ExtractionError(BriefbotError):
    """No article text could be found in what was shared."""

    kind = "extraction"


class SourceError(BriefbotError):
    """What the user gave us is not a source we understand (missing file, unknown extension, empty input)."""

    kind = "source"


class EngineError(BriefbotError):
    """A briefing engine failed; the LLM engine turns this into an offline briefing with the reason."""

    kind = "engine"


class QuotaError(BriefbotError):
    """A user or channel has used its daily allowance."""

    kind = "quota"


class ThreadError(BriefbotError):
    """A follow-up question where there is no briefing to answer from."""

    kind = "thread"
