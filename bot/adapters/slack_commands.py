"""The `/brief` slash command: parsing, help, and the subcommands that manage a channel (feeds and settings).

Replies are mrkdwn built here; anything that came from a user or the database is escaped first.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.adapters.slack_blocks import escape
from bot.errors import SourceError
from bot.ingest.urls import find_urls
from bot.service import Service
from bot.store import ChannelKey, ChannelSettings

SUBCOMMANDS = ("subscribe", "unsubscribe", "feeds", "digest", "settings", "help")
NULLABLE_SETTINGS = frozenset(name for name, f in ChannelSettings.model_fields.items() if f.default is None)

HELP = """\
*briefbot* reads the links your team shares and replies in a thread with a briefing: TL;DR, key points, who said \
what, and implications. Reply in that thread to ask follow-up questions.
• Paste a link in a channel I'm in (see `link_watching` below), or mention me with a link or an article.
• Use the *Brief this* message shortcut (the ⋮ menu on a message) to brief that message's link, file or text.
• `/brief URL` or `/brief some pasted text`: brief it here.
• `/brief subscribe FEED_URL`, `/brief unsubscribe FEED_URL`, `/brief feeds`: this channel's feeds.
• `/brief digest`: the digest of this channel's new articles.
• `/brief settings` shows this channel's settings; `/brief settings KEY VALUE` changes one, e.g. \
`/brief settings link_watching mention` (`all`, `mention` or `off`), `/brief settings digest_time 08:30`.
• `/brief help`: this help."""


@dataclass(frozen=True, slots=True)
class Command:
    """A parsed `/brief` invocation: a subcommand name (or "brief") and the rest of the text."""

    name: str
    arg: str


def parse_command(text: str) -> Command:
    """`subscribe URL` -> Command("subscribe", "URL"); anything else is something to brief."""
    stripped = text.strip()
    word, _, rest = stripped.partition(" ")
    if word.lower() in SUBCOMMANDS:
        return Command(word.lower(), rest.strip())
    return Command("brief", stripped)


async def run_subcommand(service: Service, channel: ChannelKey, command: Command) -> str:
    """The mrkdwn reply to a channel-management subcommand; user errors raise `BriefbotError`."""
    if command.name == "help":
        return HELP
    if command.name == "subscribe":
        url = _feed_url(command.arg, "subscribe")
        subscription = await service.subscribe(channel, url)
        return f"Subscribed this channel to {escape(subscription.feed_url)}. New articles will appear in the digest."
    if command.name == "unsubscribe":
        removed = await service.unsubscribe(channel, _feed_url(command.arg, "unsubscribe"))
        return "Unsubscribed." if removed else "This channel was not subscribed to that feed."
    if command.name == "feeds":
        return await _feeds(service, channel)
    if command.name == "settings":
        return await _settings(service, channel, command.arg)
    raise SourceError(f"Unknown command `{command.name}`; `/brief help` lists the commands.")


def _feed_url(arg: str, verb: str) -> str:
    urls = find_urls(arg)
    if not urls:
        raise SourceError(f"Usage: `/brief {verb} FEED_URL`.")
    return urls[0]


async def _feeds(service: Service, channel: ChannelKey) -> str:
    subscriptions = await service.feeds(channel)
    if not subscriptions:
        return "No subscriptions yet: `/brief subscribe FEED_URL` adds one."
    lines = []
    for sub in subscriptions:
        note = f" (disabled: {escape(sub.disabled_reason)})" if sub.disabled_reason else ""
        lines.append(f"• {escape(sub.feed_url)}{note}")
    return "*Feeds*\n" + "\n".join(lines)


async def _settings(service: Service, channel: ChannelKey, arg: str) -> str:
    if not arg:
        current = await service.channel_settings(channel)
        lines = [f"• `{name}`: {escape(str(value))}" for name, value in current.model_dump().items()]
        return "*Settings of this channel*\n" + "\n".join(lines) + "\nChange one with `/brief settings KEY VALUE`."
    key, _, value = arg.partition(" ")
    key, value = key.strip().lower(), value.strip()
    if key not in ChannelSettings.model_fields:
        known = ", ".join(f"`{name}`" for name in ChannelSettings.model_fields)
        raise SourceError(f"Unknown setting {key!r}; the settings are {known}.")
    if not value:
        raise SourceError(f"Usage: `/brief settings {key} VALUE`.")
    new: object = None if key in NULLABLE_SETTINGS and value.lower() in {"default", "none"} else value
    updated = await service.update_channel_settings(channel, **{key: new})
    return f"Updated `{key}` to {escape(str(getattr(updated, key)))}."
