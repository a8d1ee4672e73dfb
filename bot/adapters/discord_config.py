"""The Discord adapter's configuration, and the start-up refusals that retrying cannot fix.

Discord resets a bot token that logs in about 1,000 times a day, so a bad token or a privileged intent that is not
enabled in the developer portal must stop the process with a sentence saying what to change, never loop. Those cases
become a `DiscordStartupError` (a `ConfigError`: the CLI exits with its configuration status, 78, which a systemd unit
lists in `RestartPreventExitStatus`). Anything else (network trouble, Discord's own 5xx) is transient: discord.py
reconnects by itself, and a crash may be restarted.
"""

from __future__ import annotations

import discord
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from bot.config import Settings
from bot.errors import ConfigError

__all__ = ["PERMISSIONS", "DiscordConfig", "DiscordStartupError", "invite_url", "startup_error"]

# What the bot needs in a channel (docs/discord.md explains each); 309237730304 as an integer.
PERMISSIONS = discord.Permissions(
    view_channel=True,
    send_messages=True,
    send_messages_in_threads=True,
    create_public_threads=True,
    embed_links=True,
    read_message_history=True,
)


def invite_url(application_id: int) -> str:
    """The URL that adds the bot to a server with its commands and exactly the permissions it needs."""
    return discord.utils.oauth_url(application_id, permissions=PERMISSIONS, scopes=("bot", "applications.commands"))


class DiscordConfig(BaseModel):
    """The Discord part of the configuration (environment: `BRIEFBOT_DISCORD_*`)."""

    model_config = ConfigDict(frozen=True)

    token: SecretStr | None = None
    message_content: bool = True  # privileged intent: link watching needs it; mentions, DMs and commands do not
    shard_ids: list[int] = Field(default_factory=list)  # shards this process runs; empty: all of `shard_count`
    shard_count: int | None = None  # None: one connection, unsharded
    command_guild: int | None = None  # sync app commands to this guild only (instant; for development)
    sync_commands: bool = True
    max_concurrency: int = 16  # briefings and answers in progress at once

    @classmethod
    def from_settings(cls, settings: Settings | DiscordConfig) -> DiscordConfig:
        """The Discord configuration in `settings`; fields Settings does not (yet) have keep their defaults."""
        if isinstance(settings, DiscordConfig):
            return settings
        names = [name for name in cls.model_fields if hasattr(settings, f"discord_{name}")]
        return cls(**{name: getattr(settings, f"discord_{name}") for name in names})

    def check(self) -> None:
        """Raise one `ConfigError` naming everything that is missing or inconsistent."""
        problems = []
        if self.token is None or not self.token.get_secret_value().strip():
            problems.append("BRIEFBOT_DISCORD_TOKEN is not set (the bot token from the developer portal)")
        if self.shard_ids and self.shard_count is None:
            problems.append("BRIEFBOT_DISCORD_SHARD_IDS needs BRIEFBOT_DISCORD_SHARD_COUNT")
        if self.shard_count is not None and any(not 0 <= i < self.shard_count for i in self.shard_ids):
            problems.append("every BRIEFBOT_DISCORD_SHARD_IDS entry must be below BRIEFBOT_DISCORD_SHARD_COUNT")
        if problems:
            raise ConfigError("Discord is not configured: " + "; ".join(problems) + ".")


class DiscordStartupError(ConfigError):
    """Discord refused to start the bot for a reason that retrying cannot fix; the message says what to change."""

    kind = "discord_startup"


LOGIN_REFUSED = (
    "Discord rejected the bot token (BRIEFBOT_DISCORD_TOKEN). Copy it again from the Bot page of your application "
    "in the developer portal (Reset Token) and restart."
)
NO_INTENT = (
    "The Message Content intent is not enabled for this bot. Enable it under Bot > Privileged Gateway Intents in the "
    "developer portal, or set BRIEFBOT_DISCORD_MESSAGE_CONTENT=false (links are then briefed only when the bot is "
    "mentioned; commands and DMs still work)."
)
# Gateway close codes after which Discord will refuse every reconnection too.
_CLOSE_CODES = {
    4004: LOGIN_REFUSED,
    4010: "Discord refused the shard: check BRIEFBOT_DISCORD_SHARD_IDS and BRIEFBOT_DISCORD_SHARD_COUNT.",
    4011: "This bot is in too many servers for one connection: set BRIEFBOT_DISCORD_SHARD_COUNT.",
    4013: "Discord refused the gateway intents this bot asked for.",
    4014: NO_INTENT,
}


def startup_error(exc: BaseException) -> DiscordStartupError | None:
    """The fatal refusal `exc` stands for, as a readable error; None when retrying may help."""
    if isinstance(exc, discord.LoginFailure):
        return DiscordStartupError(LOGIN_REFUSED)
    if isinstance(exc, discord.PrivilegedIntentsRequired):
        return DiscordStartupError(NO_INTENT)
    if isinstance(exc, discord.ConnectionClosed) and exc.code in _CLOSE_CODES:
        return DiscordStartupError(_CLOSE_CODES[exc.code])
    return None
