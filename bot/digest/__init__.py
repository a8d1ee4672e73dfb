"""The morning digest: feed polling, story clustering, composition, and exactly-once delivery on a schedule.

`compose_digest(service, channel, now=...)` builds a platform-neutral `Digest`; `digest_markdown` renders it;
`DigestRunner` claims, composes and hands it to a `DigestSink` (implemented by each adapter); `digest_jobs` wires the
poller, the runner and `bot.schedule` for `briefbot run`; `preview_digest` is the console's `/digest`.
"""

from __future__ import annotations

from bot.digest.cluster import StoryDoc, cluster_stories
from bot.digest.compose import compose_digest, digest_window
from bot.digest.jobs import DigestJobs, digest_jobs, subscribed_channels
from bot.digest.markdown import digest_markdown
from bot.digest.model import Digest, DigestEntry, DigestQuote, DigestSource
from bot.digest.poller import FeedPoller, PollPolicy, PollReport
from bot.digest.runner import (
    DeliveryError,
    DigestRunner,
    DigestSink,
    RoutingSink,
    RunOutcome,
    digest_nonce,
    preview_digest,
)

__all__ = [
    "DeliveryError",
    "Digest",
    "DigestEntry",
    "DigestJobs",
    "DigestQuote",
    "DigestRunner",
    "DigestSink",
    "DigestSource",
    "FeedPoller",
    "PollPolicy",
    "PollReport",
    "RoutingSink",
    "RunOutcome",
    "StoryDoc",
    "cluster_stories",
    "compose_digest",
    "digest_jobs",
    "digest_markdown",
    "digest_nonce",
    "digest_window",
    "preview_digest",
    "subscribed_channels",
]
