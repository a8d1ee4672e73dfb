"""Posting the scheduled digest to Discord: the Markdown digest, with nonces and no mentions (see discord_embeds)."""

from __future__ import annotations

from bot.adapters.discord_bot import BriefBot, UndeliverableError
from bot.digest.markdown import digest_markdown
from bot.digest.model import Digest
from bot.digest.runner import DeliveryError
from bot.service import Service
from bot.store import ChannelKey


class DiscordDigestSink:
    """The `DigestSink` for Discord channels. The run's nonce seeds each message's nonce, so a retry shows once."""

    def __init__(self, bot: BriefBot, service: Service) -> None:
        self._bot = bot
        self._service = service

    async def post_digest(self, channel: ChannelKey, digest: Digest, *, nonce: str) -> str:
        """Post the digest in the channel; the first message's id."""
        try:
            messages = await self._bot.post_digest(channel, digest_markdown(digest), key=nonce)
        except UndeliverableError as exc:
            await self._service.disable_channel(channel, f"Discord: {exc}")
            raise DeliveryError(str(exc), permanent=True) from exc
        return str(messages[0].id) if messages else ""
