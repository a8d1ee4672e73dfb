"""The Discord app commands: `/brief`, `/ask`, `/subscribe`, `/unsubscribe`, `/feeds`, `/digest`, `/settings` and
the "Brief this" message command.

Each command claims its interaction in the database (a second process on the same token receives it too), defers
within Discord's 3 seconds (`thinking=True`), does the work, then follows up. Briefings and answers are public;
feed and settings commands answer privately. Failures propagate to the tree's `on_error`, the one boundary that turns
them into a short ephemeral message.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from bot.adapters.discord_embeds import render_answer, render_briefing, render_notice
from bot.errors import SourceError
from bot.ingest.urls import find_urls
from bot.service import Place, Source
from bot.store import ChannelKey, ChannelSettings

if TYPE_CHECKING:
    from bot.adapters.discord_bot import BriefBot

__all__ = ["SETTING_KEYS", "BriefTree", "register_commands", "source_of", "tell"]

log = logging.getLogger(__name__)
Interaction = discord.Interaction[Any]
SETTING_KEYS = tuple(ChannelSettings.model_fields)
SETTING_HELP = {
    "link_watching": "all: brief every link · mention: only links in messages that mention me · off: never by itself",
    "engine": "the briefing engine for this channel, or `default`",
    "language": "the language of briefings, or `default`",
    "digest_time": "HH:MM, 24-hour clock",
    "timezone": "an IANA time zone such as Europe/Paris",
    "digest_days": "e.g. mon,tue,wed,thu,fri",
    "digest_empty": "true: post a digest even when there is nothing new",
}
ARTICLE_MIN_CHARS = 200
# Briefings and answers can be asked for in a server or in a DM with the bot; feeds and settings belong to channels.
_ANYWHERE = app_commands.allowed_contexts(guilds=True, dms=True, private_channels=False)
_INSTALLS = app_commands.allowed_installs(guilds=True, users=False)
_ADMIN = app_commands.default_permissions(manage_channels=True)


class BriefTree(app_commands.CommandTree["BriefBot"]):
    """The command tree. Its `on_error` is the one error boundary for interactions: the user sees a short private
    message (`BriefBot.user_message` maps the error, the same mapping event handlers use)."""

    async def on_error(self, interaction: Interaction, error: app_commands.AppCommandError) -> None:
        text = self.client.user_message(error)
        try:
            await tell(interaction, f"⚠️ {text}")
        except discord.HTTPException as posting:
            log.warning("could not report an error to an interaction (%s): %s", posting.status, text)


async def tell(interaction: Interaction, text: str) -> None:
    """A private message to the user, whatever state the interaction is in."""
    post = render_notice(text)[0]
    if not interaction.response.is_done():
        await interaction.response.send_message(**post.kwargs(), ephemeral=True)
        return
    if interaction.extras.get("public") and not interaction.extras.get("followed_up"):
        # The first follow-up would replace the public "thinking…" placeholder, for everyone to see: remove it first.
        await interaction.delete_original_response()
    await interaction.followup.send(**post.kwargs(), ephemeral=True)


def source_of(text: str) -> tuple[Source, str | None]:
    """(what to brief, the link to show): a single link is fetched; anything longer is pasted text."""
    stripped = text.strip()
    urls = find_urls(stripped)
    if urls and len(stripped.split()) == 1:
        return Source.link(urls[0]), urls[0]
    if not stripped:
        raise SourceError("Give me a link or the text of an article to brief.")
    return Source.text(stripped), None


async def _begin(bot: BriefBot, interaction: Interaction, *, public: bool) -> tuple[ChannelKey, str | None] | None:
    """Claim the interaction, then defer it; None when another process already claimed it.

    Claiming first (one quick database write) lets the other process stay silent instead of failing to acknowledge
    an interaction that was already acknowledged."""
    key, thread_id = await bot.locate(interaction.channel)
    if not await bot.service.claim_event(key, f"interaction:{interaction.id}"):
        return None
    interaction.extras["public"] = public
    await interaction.response.defer(thinking=True, ephemeral=not public)
    return key, thread_id


async def _say(interaction: Interaction, text: str) -> None:
    for post in render_notice(text):
        await interaction.followup.send(**post.kwargs(), ephemeral=True)
    interaction.extras["followed_up"] = True


async def brief_interaction(bot: BriefBot, interaction: Interaction, source: Source, link: str | None) -> None:
    """Brief `source` as the interaction's follow-up, then open and bind its thread."""
    begun = await _begin(bot, interaction, public=True)
    if begun is None:
        return
    key, thread_id = begun
    user = str(interaction.user.id)
    outcome = await bot.run_brief(source, Place(key, None, user))
    posts = render_briefing(outcome.briefing, link=link)
    first = await interaction.followup.send(**posts[0].kwargs(), wait=True)
    interaction.extras["followed_up"] = True
    await bot.deliver_rest(first, interaction.channel, key, thread_id, outcome, posts[1:], user=user)


def register_commands(tree: app_commands.CommandTree[Any], bot: BriefBot) -> None:
    """Add every command to `tree`, bound to `bot`."""

    @tree.command(name="brief", description="Brief a link or an article's text")
    @app_commands.describe(url_or_text="A link to an article, or the article's text")
    @_ANYWHERE
    @_INSTALLS
    async def brief(interaction: Interaction, url_or_text: str) -> None:
        source, link = source_of(url_or_text)
        await brief_interaction(bot, interaction, source, link)

    @tree.command(name="ask", description="Ask about the article of this briefing thread")
    @app_commands.describe(question="Your question about the article")
    @_ANYWHERE
    @_INSTALLS
    async def ask(interaction: Interaction, question: str) -> None:
        begun = await _begin(bot, interaction, public=True)
        if begun is None:
            return
        key, thread_id = begun
        if thread_id is None and interaction.guild_id is None:
            latest = await bot.service.threads(key, limit=1)  # in a DM: the latest briefing
            thread_id = latest[0].thread_id if latest else None
        answer = await bot.run_ask(Place(key, thread_id, str(interaction.user.id)), question)
        for post in render_answer(answer):
            await interaction.followup.send(**post.kwargs())
            interaction.extras["followed_up"] = True

    async def brief_this(interaction: Interaction, message: discord.Message) -> None:
        # Interaction payloads carry the message's content even without the Message Content intent.
        urls = find_urls(message.content)
        if urls:
            await brief_interaction(bot, interaction, Source.link(urls[0]), urls[0])
        elif len(message.content.strip()) >= ARTICLE_MIN_CHARS:
            await brief_interaction(bot, interaction, Source.text(message.content), None)
        else:
            raise SourceError("That message has no link or article text to brief.")

    menu = app_commands.ContextMenu(name="Brief this", callback=brief_this)
    tree.add_command(_INSTALLS(_ANYWHERE(menu)))

    @tree.command(name="subscribe", description="Subscribe this channel to a feed for the digest")
    @app_commands.describe(url="The feed's address (RSS or Atom)")
    @app_commands.guild_only()
    @_ADMIN
    async def subscribe(interaction: Interaction, url: str) -> None:
        begun = await _begin(bot, interaction, public=False)
        if begun is not None:
            subscription = await bot.service.subscribe(begun[0], url.strip())
            await _say(interaction, f"Subscribed to {subscription.feed_url}. New articles will appear in the digest.")

    @tree.command(name="unsubscribe", description="Remove a feed from this channel")
    @app_commands.describe(url="The feed's address")
    @app_commands.guild_only()
    @_ADMIN
    async def unsubscribe(interaction: Interaction, url: str) -> None:
        begun = await _begin(bot, interaction, public=False)
        if begun is not None:
            removed = await bot.service.unsubscribe(begun[0], url.strip())
            await _say(interaction, "Unsubscribed." if removed else "This channel was not subscribed to that feed.")

    @tree.command(name="feeds", description="List this channel's feeds")
    @app_commands.guild_only()
    async def feeds(interaction: Interaction) -> None:
        begun = await _begin(bot, interaction, public=False)
        if begun is None:
            return
        subscriptions = await bot.service.feeds(begun[0])
        if not subscriptions:
            await _say(interaction, "No feeds yet: `/subscribe url` adds one.")
            return
        lines = [
            f"- {s.feed_url}" + (f" (disabled: {s.disabled_reason})" if s.disabled_reason else "")
            for s in subscriptions
        ]
        await _say(interaction, "**Feeds**\n" + "\n".join(lines))

    @tree.command(name="digest", description="Post the digest of this channel's feeds now")
    @app_commands.guild_only()
    async def digest(interaction: Interaction) -> None:
        if bot.digest is None:
            await tell(interaction, "The digest is not available yet.")
            return
        begun = await _begin(bot, interaction, public=False)
        if begun is None:
            return
        text = await bot.digest(begun[0])
        await bot.post_digest(interaction.channel, text, key=f"interaction:{interaction.id}")
        await _say(interaction, "Digest posted.")

    @tree.command(name="settings", description="Show or change this channel's settings")
    @app_commands.describe(key="The setting to show or change", value="The new value (leave out to show it)")
    @app_commands.choices(key=[app_commands.Choice(name=name, value=name) for name in SETTING_KEYS])
    @app_commands.guild_only()
    @_ADMIN
    async def settings(
        interaction: Interaction, key: app_commands.Choice[str] | None = None, value: str | None = None
    ) -> None:
        begun = await _begin(bot, interaction, public=False)
        if begun is None:
            return
        channel = begun[0]
        if key is not None and value is not None:
            current = await bot.service.update_channel_settings(
                channel, **{key.value: _setting_value(key.value, value)}
            )
        else:
            current = await bot.service.channel_settings(channel)
        names = [key.value] if key is not None else list(SETTING_KEYS)
        lines = [f"`{name}` = `{getattr(current, name)}` · {SETTING_HELP.get(name, '')}".rstrip(" ·") for name in names]
        if "link_watching" in names and not bot.intents.message_content:
            lines.append(
                "Note: I run without the Message Content intent, so I only see links in messages that mention me."
            )
        await _say(interaction, "**Channel settings**\n" + "\n".join(lines))


def _setting_value(name: str, value: str) -> str | None:
    """The raw value for `name`; `default` (or `none`) clears a setting that falls back to the global default."""
    field = ChannelSettings.model_fields[name]
    if field.default is None and value.strip().lower() in {"default", "none", ""}:
        return None
    return value.strip()
