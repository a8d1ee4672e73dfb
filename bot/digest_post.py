"""`briefbot digest CHANNEL --now`: post one channel's digest at once, through the same claim as scheduled runs."""

from __future__ import annotations

from contextlib import AsyncExitStack
from datetime import UTC, datetime

from bot.config import Settings
from bot.digest.markdown import digest_markdown
from bot.digest.model import Digest
from bot.digest.runner import DigestRunner, DigestSink
from bot.errors import ConfigError
from bot.service import Service
from bot.store import ChannelKey


class PrintSink:
    """The console's sink: the digest as Markdown, kept for the caller to print."""

    def __init__(self) -> None:
        self.posted: list[str] = []

    async def post_digest(self, channel: ChannelKey, digest: Digest, *, nonce: str) -> str:
        self.posted.append(digest_markdown(digest))
        return f"console:{nonce}"


async def post_digest_now(settings: Settings, service: Service, channel: ChannelKey) -> str:
    """Compose and post the channel's digest now; what happened, as a sentence (or the digest, for the console)."""
    async with AsyncExitStack() as stack:
        sink: DigestSink
        console = PrintSink()
        if channel.platform == "console":
            sink = console
        elif channel.platform == "slack" and settings.slack_configured:
            from bot.adapters.slack_app import build_slack
            from bot.adapters.slack_digest import SlackDigestSink

            runtime = build_slack(settings, service)
            stack.push_async_callback(runtime.aclose)
            await runtime.start()
            sink = SlackDigestSink(runtime, service)
        elif channel.platform == "discord" and settings.discord_configured:
            from bot.adapters.discord_bot import DiscordConfig, build_discord_bot
            from bot.adapters.discord_digest import DiscordDigestSink

            config = DiscordConfig.from_settings(settings)
            config.check()
            assert config.token is not None
            bot = build_discord_bot(config, service)
            await bot.login(config.token.get_secret_value())  # REST only: posting needs no gateway connection
            stack.push_async_callback(bot.close)
            sink = DiscordDigestSink(bot, service)
        else:
            raise ConfigError(f"{channel.platform} is not configured here; see README for its settings.")
        outcome = await DigestRunner(service, sink).run_now(channel, now=datetime.now(UTC))
    if console.posted:
        return console.posted[0]
    return f"Digest for {channel.platform}:{channel.workspace}:{channel.channel}: {outcome.status}."
