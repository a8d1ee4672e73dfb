"""Posting digests exactly once: claim (channel, period) in the database, compose, deliver, mark posted.

Several replicas may run the same schedule; APScheduler 3 cannot share its job store between processes, so the
database decides. `store.digests.claim` inserts the (channel, period) row with ON CONFLICT DO NOTHING: one replica
wins, the rest get None and do nothing. A claim left `claimed` by a crash between claiming and posting is taken over
once, after `stale_after`, by whichever replica asks next (the sweep in `bot.schedule` asks every few minutes).
The nonce passed to the sink is derived from (channel, period) alone, so a recovered re-send carries the same nonce
as the crashed attempt and a platform that honours nonces (Discord) shows it once.

The period of a scheduled digest is the channel's local date of the schedule slot it serves (`bot.schedule.
period_for`): a run for a slot already served, whether from a restart, a second replica or the repeated hour on the
day clocks go back, finds the period claimed and is a no-op.
"""

from __future__ import annotations

import hashlib
import logging
import socket
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, Protocol

from bot.digest.compose import compose_digest
from bot.digest.markdown import digest_markdown
from bot.digest.model import Digest
from bot.errors import BriefbotError
from bot.schedule import last_slot, period_for
from bot.service import Service
from bot.store import ChannelKey

__all__ = [
    "DeliveryError",
    "DigestRunner",
    "DigestSink",
    "RoutingSink",
    "RunOutcome",
    "digest_nonce",
    "preview_digest",
]

log = logging.getLogger(__name__)
NOTHING_NEW = "Nothing new since the last digest."


class DigestSink(Protocol):
    """Where digests go: Slack, Discord and console adapters implement this one method."""

    async def post_digest(self, channel: ChannelKey, digest: Digest, *, nonce: str) -> str:
        """Post `digest` to `channel` and return the platform's message reference. `nonce` is stable per (channel,
        period): pass it to the platform (Discord's `nonce`) so a retried post is not shown twice. Raise
        `DeliveryError(permanent=True)` when posting can never succeed (channel gone, bot removed)."""
        ...


class DeliveryError(BriefbotError):
    """Posting failed. `permanent` failures (channel_not_found, not_in_channel...) are recorded and not retried."""

    kind = "delivery"

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class RoutingSink:
    """A DigestSink that hands each channel's digest to the sink of its platform ("slack", "discord", ...)."""

    def __init__(self, sinks: Mapping[str, DigestSink]) -> None:
        self._sinks = dict(sinks)

    @property
    def platforms(self) -> frozenset[str]:
        return frozenset(self._sinks)

    async def post_digest(self, channel: ChannelKey, digest: Digest, *, nonce: str) -> str:
        sink = self._sinks.get(channel.platform)
        if sink is None:
            raise DeliveryError(f"No {channel.platform} connection is configured here.")
        return await sink.post_digest(channel, digest, nonce=nonce)


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """What a run did. `posted` sent a digest; `empty` claimed the period but had nothing to send; `skipped` found
    the period claimed elsewhere (or no slot due); `failed` hit a permanent delivery error."""

    status: Literal["posted", "empty", "skipped", "failed", "retry"]
    period: str | None = None
    message_ref: str | None = None
    recovered: bool = False
    detail: str | None = None


def digest_nonce(channel: ChannelKey, period: str) -> str:
    """A 25-character nonce (Discord's limit) that is the same for every attempt at this channel's period."""
    key = f"{channel.platform}\x1f{channel.workspace}\x1f{channel.channel}\x1f{period}"
    return hashlib.sha256(key.encode()).hexdigest()[:25]


def _default_owner() -> str:
    return f"{socket.gethostname()[:40]}:{uuid.uuid4().hex[:8]}"


class DigestRunner:
    """Runs digests for one process. `owner` names this replica in claims; `stale_after` must exceed the longest a
    compose + post can take (else a slow owner and its recoverer would both post); `grace` is how late a scheduled
    slot may still be served (the misfire policy, see `bot.schedule`)."""

    def __init__(
        self,
        service: Service,
        sink: DigestSink,
        *,
        owner: str | None = None,
        stale_after: timedelta = timedelta(minutes=15),
        grace: timedelta = timedelta(hours=6),
    ) -> None:
        self.service = service
        self.sink = sink
        self.owner = owner or _default_owner()
        self.stale_after = stale_after
        self.grace = grace

    async def run_scheduled(self, channel: ChannelKey, *, now: datetime) -> RunOutcome:
        """Serve the channel's latest schedule slot at or before `now`, if it is within `grace` and not served yet."""
        settings = await self.service.channel_settings(channel)
        slot = last_slot(settings, now, self.grace)
        if slot is None:
            return RunOutcome("skipped", detail="no slot due")
        return await self._run(channel, period_for(slot, settings), now)

    async def run_now(self, channel: ChannelKey, *, now: datetime) -> RunOutcome:
        """Post a digest now, outside the schedule (`briefbot digest CHANNEL --now`): its own period per minute, so a
        double-click does not post twice and the scheduled digest still runs."""
        return await self._run(channel, f"manual:{now.astimezone(UTC):%Y-%m-%dT%H:%M}", now)

    async def _run(self, channel: ChannelKey, period: str, now: datetime) -> RunOutcome:
        outcome = await self._run_once(channel, period, now)
        if outcome.status != "skipped":  # skipped runs (no slot due, claimed elsewhere) are the sweep's routine
            self.service.metrics.digest_runs.labels(outcome.status).inc()
        return outcome

    async def _run_once(self, channel: ChannelKey, period: str, now: datetime) -> RunOutcome:
        digests = self.service.store.digests
        claim = await digests.claim(channel, period, self.owner, self.stale_after)
        if claim is None:
            return RunOutcome("skipped", period, detail="claimed elsewhere")
        # Compose errors leave the claim in place: it goes stale and the sweep retries once, like a crash would.
        digest = await compose_digest(self.service, channel, now=now)
        if digest is None:
            await digests.mark_posted(claim, None)  # "nothing new" is an outcome too: the period is done
            return RunOutcome("empty", period, recovered=claim.recovered)
        try:
            ref = await self.sink.post_digest(channel, digest, nonce=digest_nonce(channel, period))
        except DeliveryError as exc:
            if not exc.permanent and not claim.recovered:
                # The claim goes stale and the sweep recovers it once; a recovered attempt that fails is final.
                log.warning("digest post failed, will retry channel=%s period=%s", channel.channel, period)
                return RunOutcome("retry", period, detail=str(exc))
            await digests.mark_failed(claim, str(exc))
            return RunOutcome("failed", period, detail=str(exc))
        if not await digests.mark_posted(claim, ref):
            # Our claim went stale while posting and another replica recovered it: stale_after is too short.
            log.error("digest posted after its claim was recovered channel=%s period=%s", channel.channel, period)
        return RunOutcome("posted", period, message_ref=ref, recovered=claim.recovered)


def preview_digest(
    service: Service, *, clock: Callable[[], datetime] | None = None
) -> Callable[[ChannelKey], Awaitable[str]]:
    """The console's `/digest`: the channel's next digest as Markdown, now, without claiming or posting anything."""
    now = clock or (lambda: datetime.now(UTC))

    async def digest(channel: ChannelKey) -> str:
        composed = await compose_digest(service, channel, now=now())
        return digest_markdown(composed) if composed is not None and not composed.empty else NOTHING_NEW

    return digest
