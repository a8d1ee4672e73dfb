"""What the store hands back: small frozen records, never live ORM objects (no lazy loads after the session closed)."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, field_validator

from bot.models import Article

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DIGEST_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def sha256_hex(value: str) -> str:
    """SHA-256 hex digest of `value`'s UTF-8 bytes: how every long key (URL, feed URL, item GUID) is indexed."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def normalized_url_hash(url: str) -> str:
    """Hash of an already-normalized URL (normalizing is the fetcher's job: one place decides what "same URL" is)."""
    return sha256_hex(url)


def content_hash(text: str) -> str:
    """Hash of article text after NFC normalization and whitespace collapsing, so re-extractions of a page match."""
    return sha256_hex(" ".join(unicodedata.normalize("NFC", text).split()))


@dataclass(frozen=True, slots=True)
class ChannelKey:
    """Where something happens. `workspace` is the Slack team or Discord guild id; '' when there is none (DMs)."""

    platform: str
    workspace: str
    channel: str


@dataclass(frozen=True, slots=True)
class StoredArticle:
    id: int
    url: str | None
    url_hash: str | None
    content_hash: str
    article: Article
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Thread:
    """A bound thread. `id` is ours (pass it to `messages`); `thread_id` is the platform's."""

    id: int
    channel: ChannelKey
    thread_id: str
    article_ids: tuple[int, ...]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class StoredMessage:
    id: int
    thread: int
    role: Literal["question", "answer"]
    author: str | None
    text: str
    citations: list[Any] | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Subscription:
    id: int
    channel: ChannelKey
    feed_url: str
    feed_url_hash: str
    title: str | None
    etag: str | None
    last_modified: str | None
    last_polled_at: datetime | None
    next_poll_at: datetime | None
    error_count: int
    disabled_reason: str | None
    created_at: datetime

    @property
    def enabled(self) -> bool:
        return self.disabled_reason is None


@dataclass(frozen=True, slots=True)
class FeedItem:
    id: int
    feed_url_hash: str
    item_key: str
    url: str | None
    title: str | None
    article_id: int | None
    published: datetime | None
    seen_at: datetime


@dataclass(frozen=True, slots=True)
class DigestClaim:
    """Proof that this owner may post the digest for `channel` and `period`; pass it back to mark the outcome."""

    id: int
    channel: ChannelKey
    period: str
    owner: str
    claimed_at: datetime
    recovered: bool  # True when this claim took over a stale one (the first attempt may have crashed mid-post)


@dataclass(frozen=True, slots=True)
class DigestRun:
    id: int
    channel: ChannelKey
    period: str
    state: Literal["claimed", "posted", "failed"]
    claimed_at: datetime
    claimed_by: str
    recovered: bool
    posted_at: datetime | None
    message_ref: str | None
    error: str | None


@dataclass(frozen=True, slots=True)
class UsageTotals:
    """Summed usage over a window: `requests` rows recorded, `calls` model calls made for them."""

    requests: int = 0
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class ChannelSettings(BaseModel):
    """A channel's preferences, validated on every update. `engine`/`language` None mean "the global default"."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    engine: str | None = None
    digest_time: str = "08:00"  # HH:MM in `timezone`
    timezone: str = "UTC"  # IANA name; the scheduler resolves it
    digest_days: str = "mon,tue,wed,thu,fri"
    language: str | None = None
    link_watching: Literal["all", "mention", "off"] = "all"
    digest_empty: bool = False  # post a digest even on days with no new items

    @field_validator("digest_time")
    @classmethod
    def _valid_time(cls, value: str) -> str:
        if not _DIGEST_TIME.match(value):
            raise ValueError("digest_time must be HH:MM (24-hour clock)")
        return value

    @field_validator("timezone")
    @classmethod
    def _valid_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Europe/Paris") from None
        return value

    @field_validator("digest_days")
    @classmethod
    def _valid_days(cls, value: str) -> str:
        days = [day.strip().lower() for day in value.split(",") if day.strip()]
        unknown = sorted(set(days) - set(WEEKDAYS))
        if unknown:
            raise ValueError(f"unknown weekday(s) {', '.join(unknown)}; use {','.join(WEEKDAYS)}")
        # Canonical order and no repeats, so equal settings compare equal.
        return ",".join(day for day in WEEKDAYS if day in days)

    @property
    def weekdays(self) -> tuple[str, ...]:
        return tuple(day for day in self.digest_days.split(",") if day)
