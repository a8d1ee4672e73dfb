"""Pacing posts per channel: Slack allows about one message per second per channel and answers bursts with 429.

The SDK's retry handler would send every rate-limited post again after the same `Retry-After`, where they collide
again; after a few rounds a post is dropped. Taking turns per channel, a second apart, avoids the 429s altogether.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

POST_INTERVAL = 1.0  # seconds between two posts in one channel
_FORGET_AFTER = 60.0  # channels idle this long are forgotten, so the maps stay small


class ChannelPacer:
    """One post at a time per channel, at least `interval` seconds after the previous one finished."""

    def __init__(self, interval: float = POST_INTERVAL) -> None:
        self.interval = interval
        self._turns: dict[str, asyncio.Lock] = {}
        self._last: dict[str, float] = {}

    @asynccontextmanager
    async def turn(self, channel: str) -> AsyncIterator[None]:
        """Wait for the channel's turn; post inside the block."""
        lock = self._turns.setdefault(channel, asyncio.Lock())
        async with lock:
            wait = self._last.get(channel, float("-inf")) + self.interval - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                yield
            finally:
                self._last[channel] = time.monotonic()
                self._forget_idle()

    def _forget_idle(self) -> None:
        if len(self._last) < 1024:
            return
        cutoff = time.monotonic() - _FORGET_AFTER
        for channel in [c for c, at in self._last.items() if at < cutoff and not self._turns[c].locked()]:
            del self._last[channel]
            del self._turns[channel]
