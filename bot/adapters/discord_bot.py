"""The Discord adapter: gateway events and interactions in, core requests out, embeds and threads back.

Triggers: a link in a channel (per the channel's `link_watching`, and only with the Message Content intent), a
mention or a DM with a link or an article, `/brief`, the "Brief this" message command, and a 📰 reaction on a message
with a link. A briefing is a reply that opens a thread named after the article; the thread is bound to the article,
so any message (or `/ask`) in it is a follow-up question. Where no thread can be opened (a DM, a channel type without
threads, no permission) the briefing message itself is bound, and replies to it are questions.

Reliability (reliability.md section 3): every send carries `AllowedMentions.none()` (the client default too); a
gateway replay or a second process on the same token is harmless because work is claimed in the database by message
id (interactions by interaction id) before it starts; a bad token or a missing privileged intent stops start-up with a
`ConfigError` that says what to fix, and nothing here retries it.

Dependencies are injected (discord.py's `examples/advanced_startup.py`): `build_discord_bot(settings, service)`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sys
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

import discord
from discord import app_commands

from bot.adapters.discord_commands import ARTICLE_MIN_CHARS, BriefTree, register_commands
from bot.adapters.discord_config import DiscordConfig, DiscordStartupError, invite_url, startup_error
from bot.adapters.discord_embeds import (
    NO_MENTIONS,
    Post,
    render_answer,
    render_briefing,
    render_digest,
    render_notice,
    thread_name,
)
from bot.brief.answer import Answer
from bot.config import Settings
from bot.errors import BriefbotError
from bot.ingest.urls import find_urls
from bot.service import BriefOutcome, Place, Service, Source
from bot.store import ChannelKey, Thread

__all__ = [
    "BriefBot",
    "DiscordConfig",
    "DiscordStartupError",
    "ShardedBriefBot",
    "UndeliverableError",
    "build_discord_bot",
    "run_discord",
]

log = logging.getLogger(__name__)

PLATFORM = "discord"
NEWSPAPER = "📰"
DigestFn = Callable[[ChannelKey], Awaitable[str]]
APOLOGY = "Sorry, something went wrong on my side; it has been logged."
NO_PERMISSION = (
    "I don't have permission to do that here. I need View Channel, Send Messages, Send Messages in Threads, "
    "Create Public Threads, Embed Links and Read Message History."
)
HINT = "Share a link (or paste an article) with me and I'll brief it; `/brief` works too."
_USER_MESSAGES = (discord.MessageType.default, discord.MessageType.reply)


class UndeliverableError(BriefbotError):
    """A post that retrying cannot deliver: the channel is gone or closed to the bot."""

    kind = "undeliverable"


@dataclass(slots=True)
class Job:
    """Where an event-driven request came from, so its outcome (or its failure) can be reported there."""

    channel: discord.abc.Messageable | None = None
    message: discord.Message | None = None  # replies go to it


class BriefBot(discord.Client):
    """The bot: event handlers, the work they start, and the helpers the app commands use."""

    def __init__(
        self, service: Service, config: DiscordConfig, *, digest: DigestFn | None = None, **options: Any
    ) -> None:
        intents = discord.Intents.default()  # guilds, messages, reactions; members and presences stay off
        intents.message_content = config.message_content
        super().__init__(intents=intents, allowed_mentions=NO_MENTIONS, **options)
        self.service = service
        self.config = config
        self.digest = digest
        self.tree = BriefTree(self)
        register_commands(self.tree, self)
        self.failures: list[BaseException] = []  # bugs caught at the boundary (tests assert it stays empty)
        self._tasks: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(config.max_concurrency)

    async def setup_hook(self) -> None:
        if self.application_id is not None:
            log.info("add briefbot to a server: %s", invite_url(self.application_id))
        if not self.config.sync_commands:
            return
        guild = discord.Object(self.config.command_guild) if self.config.command_guild else None
        if guild is not None:
            self.tree.copy_global_to(guild=guild)
        commands = await self.tree.sync(guild=guild)
        log.info("synced %d app commands %s", len(commands), f"to guild {guild.id}" if guild else "globally")

    # --- gateway events: cheap filters, then tracked background work -----------------------------------------------

    async def on_message(self, message: discord.Message) -> None:
        if self.user is None or message.author.bot or message.type not in _USER_MESSAGES:
            return
        job = Job(message.channel, message)
        self._spawn(self._guard(job, self._on_user_message(message, job)))

    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        if self.user is None or str(payload.emoji) != NEWSPAPER or payload.user_id == self.user.id:
            return
        if payload.member is not None and payload.member.bot:
            return
        job = Job()
        self._spawn(self._guard(job, self._on_newspaper(payload, job)))

    async def on_error(self, event_method: str, /, *args: Any, **kwargs: Any) -> None:
        # Handlers catch everything at `_guard`; reaching here is a bug in the boundary itself.
        log.exception("unhandled error in Discord event %s", event_method)
        exc = sys.exc_info()[1]
        if exc is not None:
            self.failures.append(exc)

    async def _on_user_message(self, message: discord.Message, job: Job) -> None:
        assert self.user is not None
        key, thread_id = await self.locate(message.channel)
        dm = message.guild is None
        mentioned = any(user.id == self.user.id for user in message.mentions)
        text = re.sub(rf"<@!?{self.user.id}>", " ", message.content).strip()
        urls = find_urls(text)
        # Without the Message Content intent Discord blanks the content of the messages link watching would need.
        if urls and not (mentioned or dm) and (await self.service.channel_settings(key)).link_watching != "all":
            return
        bound = None
        if text and not urls:
            bound = await self._bound_thread(key, thread_id, message, dm=dm)
        if not (urls or bound or mentioned or dm):
            return  # chatter: nothing asked of us, and no database write for it
        if not await self.service.claim_event(key, None, str(message.id)):
            return  # a gateway replay, or another process on this token took it
        user = str(message.author.id)
        if urls:
            await self.brief_message(message, key, thread_id, Source.link(urls[0]), user=user, link=urls[0])
        elif bound is not None:
            await self._answer(message, bound, text, user=user)
        elif len(text) >= ARTICLE_MIN_CHARS:
            await self.brief_message(message, key, thread_id, Source.text(text), user=user)
        else:
            await self._reply(job, render_notice(HINT))

    async def _on_newspaper(self, payload: discord.RawReactionActionEvent, job: Job) -> None:
        channel = self.get_channel(payload.channel_id) or await self.fetch_channel(payload.channel_id)
        if not isinstance(channel, discord.abc.Messageable):
            return
        job.channel = channel
        cached = discord.utils.get(self.cached_messages, id=payload.message_id)
        message = cached or await channel.fetch_message(payload.message_id)
        job.message = message
        urls = find_urls(message.content)
        if not urls or message.author.id == getattr(self.user, "id", None):
            return
        key, thread_id = await self.locate(channel)
        # Keyed on the message, like link watching: a link already briefed, or a second 📰, is not briefed again.
        if not await self.service.claim_event(key, None, str(message.id)):
            return
        user = str(payload.user_id)
        await self.brief_message(message, key, thread_id, Source.link(urls[0]), user=user, link=urls[0])

    # --- the work --------------------------------------------------------------------------------------------------

    async def brief_message(
        self,
        message: discord.Message,
        key: ChannelKey,
        thread_id: str | None,
        source: Source,
        *,
        user: str,
        link: str | None = None,
    ) -> None:
        """Brief `source` as a reply to `message`, opening a thread on the reply."""
        # Typing lasts until the reply is out: in a burst the reply may wait on the channel's rate limit for a while.
        async with message.channel.typing():
            outcome = await self.run_brief(source, Place(key, None, user))
            posts = render_briefing(outcome.briefing, link=link)
            first = await message.reply(**posts[0].kwargs(), mention_author=False)
        await self.deliver_rest(first, message.channel, key, thread_id, outcome, posts[1:], user=user)

    async def run_brief(self, source: Source, place: Place) -> BriefOutcome:
        """The service's briefing, bounded by the concurrency limit (memory, fetches)."""
        async with self._slots:
            return await self.service.brief(source, place)

    async def run_ask(self, place: Place, question: str) -> Answer:
        """The service's answer, bounded by the concurrency limit."""
        async with self._slots:
            return await self.service.ask(place, question)

    async def deliver_rest(
        self,
        first: discord.Message,
        channel: Any,
        key: ChannelKey,
        thread_id: str | None,
        outcome: BriefOutcome,
        rest: Sequence[Post],
        *,
        user: str | None,
    ) -> None:
        """Open the briefing's thread on `first`, bind it to the article, and post the continuations there."""
        target, binding = await self._open_thread(first, channel, thread_id, thread_name(outcome.briefing))
        await self.service.bind_thread(Place(key, None, user), binding, outcome.article_id)
        for post in rest:
            await target.send(**post.kwargs())

    async def _open_thread(
        self, first: discord.Message, channel: Any, thread_id: str | None, name: str
    ) -> tuple[discord.abc.Messageable, str]:
        """(where continuations go, the id questions are bound to): a new thread, else the briefing message."""
        if thread_id is not None:
            return channel, thread_id  # already in a thread: threads do not nest
        if isinstance(channel, discord.TextChannel):
            try:
                thread = await channel.create_thread(name=name, message=first)
            except discord.HTTPException as exc:
                log.warning("could not open a thread in %s (%s %s)", channel.id, exc.status, exc.code)
            else:
                return thread, str(thread.id)
        return channel, str(first.id)

    async def _answer(self, message: discord.Message, thread: Thread, question: str, *, user: str) -> None:
        async with message.channel.typing(), self._slots:
            answer = await self.service.ask_in_thread(thread, question, user=user)
        for index, post in enumerate(render_answer(answer)):
            if index == 0:
                await message.reply(**post.kwargs(), mention_author=False)
            else:
                await message.channel.send(**post.kwargs())

    async def _bound_thread(
        self, key: ChannelKey, thread_id: str | None, message: discord.Message, *, dm: bool
    ) -> Thread | None:
        """The briefing a message asks about: its thread's, the replied-to briefing's, or in a DM the latest."""
        if thread_id is not None:
            return await self.service.find_thread(key, thread_id)
        reference = message.reference.message_id if message.reference else None
        if reference is not None:
            found = await self.service.find_thread(key, str(reference))
            if found is not None:
                return found
        if dm:
            latest = await self.service.threads(key, limit=1)
            return latest[0] if latest else None
        return None

    async def post_digest(self, where: ChannelKey | int | Any, text: str, *, key: str) -> list[discord.Message]:
        """Post a digest (the scheduler's entry point). `key` names this digest run (e.g. subscription and period): it
        seeds the nonces, so a post retried within Discord's nonce window is not shown twice. A channel that is gone
        or closed to us raises `UndeliverableError`, so the caller can disable its subscriptions."""
        channel = where
        try:
            if isinstance(where, ChannelKey | int):
                channel_id = int(where.channel) if isinstance(where, ChannelKey) else where
                channel = self.get_channel(channel_id) or await self.fetch_channel(channel_id)
            if not isinstance(channel, discord.abc.Messageable):
                raise UndeliverableError("The digest channel is not one I can post in.")
            return [await channel.send(**post.kwargs()) for post in render_digest(text, key=key)]
        except (discord.NotFound, discord.Forbidden) as exc:
            raise UndeliverableError(f"Discord refused the digest post ({exc.status}, code {exc.code}).") from exc

    # --- where things are ----------------------------------------------------------------------------------------

    async def locate(self, channel: Any) -> tuple[ChannelKey, str | None]:
        """(the channel's key, the thread id when `channel` is a thread). Threads belong to their parent channel."""
        if isinstance(channel, discord.PartialMessageable) and channel.guild_id is not None:
            with contextlib.suppress(discord.HTTPException):  # an uncached thread: ask Discord what it is
                channel = await self.fetch_channel(channel.id)
        guild = getattr(channel, "guild", None)
        workspace = str(guild.id) if guild is not None else str(getattr(channel, "guild_id", None) or "")
        if isinstance(channel, discord.Thread):
            return ChannelKey(PLATFORM, workspace, str(channel.parent_id)), str(channel.id)
        return ChannelKey(PLATFORM, workspace, str(channel.id)), None

    # --- the one error boundary ------------------------------------------------------------------------------------

    def user_message(self, error: BaseException) -> str:
        """What to tell the user about `error` (events and interactions alike); anything unexpected is logged as a
        bug, recorded in `failures`, and answered with an apology."""
        if isinstance(error, app_commands.CommandInvokeError):
            error = error.original
        if isinstance(error, BriefbotError):
            return str(error)
        if isinstance(error, app_commands.NoPrivateMessage):
            return "This command works in a server channel, not in DMs."
        if isinstance(error, app_commands.CheckFailure):  # includes MissingPermissions
            return "You don't have permission to use this command here."
        if isinstance(error, discord.Forbidden):
            log.warning("Discord refused: %s", error)
            return NO_PERMISSION
        if isinstance(error, discord.HTTPException):
            # Discord's trouble (5xx, an interaction that expired), not ours: worth a retry by the user, not a bug.
            log.warning("Discord API error %s (code %s): %s", error.status, error.code, error.text)
            return "Discord did not accept my reply; please try again in a moment."
        log.error("bug while handling a Discord request", exc_info=error)
        self.failures.append(error)
        return APOLOGY

    async def _guard(self, job: Job, work: Coroutine[Any, Any, None]) -> None:
        """Run event-driven `work`; its failure becomes a short reply where the request came from."""
        try:
            await work
        except Exception as exc:
            text = self.user_message(exc)
            try:
                await self._reply(job, render_notice(text, emoji="⚠️"))
            except discord.HTTPException as posting:
                log.warning("could not report an error in Discord (%s): %s", posting.status, text)

    async def _reply(self, job: Job, posts: list[Post]) -> None:
        for post in posts:
            if job.message is not None:
                await job.message.reply(**post.kwargs(), mention_author=False)
            elif job.channel is not None:
                await job.channel.send(**post.kwargs())

    # --- tasks -----------------------------------------------------------------------------------------------------

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        # discord.py does not keep references to the tasks it runs handlers in; ours are kept until they finish.
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @property
    def pending(self) -> int:
        """Background tasks still running."""
        return len(self._tasks)

    async def drain(self) -> None:
        """Wait until every background task (including ones they start) has finished."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await super().close()


class ShardedBriefBot(BriefBot, discord.AutoShardedClient):
    """The bot running several shards in one process (`BRIEFBOT_DISCORD_SHARD_IDS`/`_SHARD_COUNT`)."""


def build_discord_bot(
    settings: Settings | DiscordConfig, service: Service, *, digest: DigestFn | None = None
) -> BriefBot:
    """The bot with its dependencies injected; nothing connects until `start`."""
    config = DiscordConfig.from_settings(settings)
    if config.shard_count is not None:
        shard_ids = config.shard_ids or None
        return ShardedBriefBot(service, config, digest=digest, shard_ids=shard_ids, shard_count=config.shard_count)
    return BriefBot(service, config, digest=digest)


async def run_discord(settings: Settings | DiscordConfig, service: Service, *, digest: DigestFn | None = None) -> None:
    """Run the bot until it is closed. A fatal refusal (bad token, privileged intent not enabled, bad sharding)
    raises `DiscordStartupError`, which the caller must not retry; discord.py reconnects after transient trouble."""
    config = DiscordConfig.from_settings(settings)
    config.check()
    await serve_discord(build_discord_bot(config, service, digest=digest), config)


async def serve_discord(bot: BriefBot, config: DiscordConfig) -> None:
    """Log `bot` in and serve until it is closed, turning fatal refusals into `DiscordStartupError`."""
    assert config.token is not None
    try:
        async with bot:
            await bot.start(config.token.get_secret_value())
    except (discord.LoginFailure, discord.PrivilegedIntentsRequired, discord.ConnectionClosed) as exc:
        fatal = startup_error(exc)
        if fatal is None:
            raise
        raise fatal from None
