"""Posting the scheduled digest to Slack: Block Kit from the platform-neutral Digest, unfurling off.

Slack has no nonce, so exactly-once rests on the digest claim in the database (bot/digest/runner.py). Errors that no
retry can fix (the channel is gone, the bot was removed, the token revoked) are permanent delivery errors: the run is
recorded as failed and the channel's subscriptions are disabled with the reason.
"""

from __future__ import annotations

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack_app import SlackRuntime
from bot.adapters.slack_blocks import SlackMessage, escape, link, render_mrkdwn
from bot.digest.model import Digest, DigestEntry
from bot.digest.runner import DeliveryError
from bot.service import Service
from bot.store import ChannelKey

PERMANENT = frozenset(
    {"channel_not_found", "not_in_channel", "is_archived", "invalid_auth", "token_revoked", "missing_scope",
     "account_inactive"}
)  # fmt: skip


def render_digest(digest: Digest) -> list[SlackMessage]:
    """The digest as Slack messages: a header line with the counts, then one section per story."""
    parts = [f"*Digest* — {escape(digest.header)}"]
    for number, entry in enumerate(digest.entries, start=1):
        parts.append(_entry(number, entry))
    if digest.omitted_stories:
        parts.append(f"_…and {digest.omitted_stories} more stories._")
    return render_mrkdwn("\n\n".join(parts), f"Digest: {digest.header}")


def _entry(number: int, entry: DigestEntry) -> str:
    lines = [f"*{number}. {escape(entry.headline)}*"]
    if entry.summary:
        lines.append(escape(entry.summary))
    if entry.quote is not None:
        who = escape(entry.quote.speaker) + (
            f", {escape(entry.quote.speaker_role)}" if entry.quote.speaker_role else ""
        )
        lines.append(f"> “{escape(entry.quote.text)}” — {who}")
    sources = []
    for source in entry.sources:
        target = link(source.url)
        if target:
            sources.append(f"{escape(source.outlet)} {target}" + (" (shared here)" if source.shared else ""))
    if sources:
        lines.append(("Sources: " if len(sources) > 1 else "Source: ") + " · ".join(sources))
    return "\n".join(lines)


class SlackDigestSink:
    """The `DigestSink` for Slack channels, using the workspace's bot token (single team or installed via OAuth)."""

    def __init__(self, runtime: SlackRuntime, service: Service) -> None:
        self._runtime = runtime
        self._service = service

    async def _token(self, team: str) -> str:
        config = self._runtime.config
        if config.bot_token is not None and not config.oauth:
            return config.bot_token.get_secret_value()
        store = self._runtime.bot.installations
        bot = await store.async_find_bot(enterprise_id=None, team_id=team) if store is not None else None
        if bot is None or not bot.bot_token:
            raise DeliveryError("briefbot is not installed in this Slack workspace any more.", permanent=True)
        return bot.bot_token

    async def post_digest(self, channel: ChannelKey, digest: Digest, *, nonce: str) -> str:
        """Post the digest in the channel; the first message's ts."""
        client: AsyncWebClient = self._runtime.app.client
        token = await self._token(channel.workspace)
        first = ""
        try:
            for message in render_digest(digest):
                async with self._runtime.bot.pacer.turn(channel.channel):
                    response = await client.chat_postMessage(
                        token=token,
                        channel=channel.channel,
                        text=message.text,
                        blocks=message.blocks,
                        unfurl_links=False,
                        unfurl_media=False,
                    )
                first = first or str(response["ts"])
        except SlackApiError as exc:
            code = str(exc.response.get("error"))
            if code in PERMANENT:
                await self._service.disable_channel(channel, f"Slack: {code}")
                raise DeliveryError(f"Slack refused the digest post ({code}).", permanent=True) from exc
            raise DeliveryError(f"Slack did not take the digest post ({code}).") from exc
        return first
