"""The Slack adapter: Slack events in, core requests out, Block Kit back (wired into Bolt by `slack_app`).

Every listener acknowledges first and hands the work to a background task that this object keeps (Bolt's own lazy
runner drops its references, so a task could be collected mid-flight). The work posts a placeholder in the thread
("Reading …"), then updates it with the briefing or with the one-sentence reason it failed.

Triggers: a link (or a shared text/HTML file) in a channel, per the channel's `link_watching` setting; a mention with
a link, a file or an article; `/brief`; the "Brief this" message shortcut. A reply or a mention in a briefing thread
is a follow-up question.

Deliveries are deduplicated in the database (`Service.claim_event`) by event id and by channel + message ts, so
Slack's retries, a replay, and the `message` + `app_mention` pair for one message all make one piece of work, while
a first delivery that happens to be a retry is still processed.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack_blocks import (
    SlackMessage,
    escape,
    plain_text,
    render_answer,
    render_briefing,
    render_mrkdwn,
    render_notice,
)
from bot.adapters.slack_commands import HELP, Command, parse_command, run_subcommand
from bot.adapters.slack_files import FileReader, readable
from bot.adapters.slack_home import publish_home
from bot.adapters.slack_pace import ChannelPacer
from bot.errors import BriefbotError
from bot.ingest.urls import find_urls
from bot.service import Place, Service, Source
from bot.store import ChannelKey

log = logging.getLogger(__name__)

PLATFORM = "slack"
DigestFn = Callable[[ChannelKey], Awaitable[str]]
# Errors that retrying cannot fix: the channel (or the whole token) is gone for us. Its subscriptions are disabled.
FATAL_ERRORS = frozenset(
    "channel_not_found not_in_channel is_archived invalid_auth token_revoked missing_scope account_inactive".split()
)
MESSAGE_SUBTYPES = frozenset({None, "file_share", "thread_broadcast"})  # edits, joins, deletions... are not requests
# A mention with less text than this and no link is a greeting or a question, not an article to brief.
ARTICLE_MIN_CHARS = 200
_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")
NO_POST = "I can't post in this channel ({code}). Invite me with `/invite @briefbot`, then try again."


@dataclass(slots=True)
class Job:
    """One piece of background work and where to report on it."""

    client: AsyncWebClient
    channel: ChannelKey
    thread_ts: str | None  # the thread replies go to; None until a slash command's placeholder starts one
    respond: AsyncRespond | None = None  # commands and shortcuts: an ephemeral reply when we cannot post
    placeholder_ts: str | None = None


@dataclass(frozen=True, slots=True)
class Incoming:
    """A user's message, from a `message` or an `app_mention` event (both give the same `Incoming`)."""

    team: str
    channel: str
    user: str
    ts: str
    thread_ts: str | None
    text: str  # without mentions of us
    files: tuple[Mapping[str, Any], ...]
    mentioned: bool
    event_id: str | None


@dataclass
class SlackBot:
    """The listeners and the background work behind them. `failures` collects bugs (tests assert it stays empty)."""

    service: Service
    files: FileReader
    digest: DigestFn | None = None
    installations: AsyncInstallationStore | None = None
    max_concurrency: int = 16
    failures: list[BaseException] = field(default_factory=list)
    pacer: ChannelPacer = field(default_factory=ChannelPacer)  # digests share it: one post per second per channel
    _tasks: dict[str, set[asyncio.Task[None]]] = field(default_factory=dict, init=False)
    _slots: asyncio.Semaphore = field(init=False)

    def __post_init__(self) -> None:
        # Bounds the briefings and answers in progress (memory, fetches); placeholders are posted before waiting.
        self._slots = asyncio.Semaphore(self.max_concurrency)

    def register(self, app: AsyncApp) -> None:
        """Attach the listeners to a Bolt app."""
        app.event("message")(self.on_message)
        app.event("app_mention")(self.on_message)
        app.command("/brief")(self.on_command)
        app.shortcut("brief_this")(self.on_shortcut)
        app.event("app_uninstalled")(self.on_uninstalled)
        app.event("tokens_revoked")(self.on_uninstalled)
        app.event("app_home_opened")(self.on_home_opened)

    # --- listeners: ack, then a background task ------------------------------------------------------------------

    async def on_message(
        self, ack: Any, body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        await ack()
        incoming = _incoming(body, event, context)
        if incoming is not None:
            self._spawn(incoming.team, self._on_incoming(incoming, context.client))

    async def on_command(
        self, ack: Any, command: dict[str, Any], context: AsyncBoltContext, respond: AsyncRespond
    ) -> None:
        parsed = parse_command(command.get("text", ""))
        if parsed.name == "help" or (parsed.name == "brief" and not parsed.arg):
            await ack(text=HELP)  # nothing to do but answer: the help is the acknowledgement
            return
        await ack()
        team = context.team_id or command.get("team_id", "")
        job = Job(context.client, ChannelKey(PLATFORM, team, command["channel_id"]), None, respond)
        if parsed.name == "brief":
            work = self._brief_text_or_link(job, parsed.arg, user=command.get("user_id"))
        else:
            work = self._subcommand(job, parsed)
        self._spawn(team, self._run(job, work))

    async def on_shortcut(
        self, ack: Any, shortcut: dict[str, Any], context: AsyncBoltContext, respond: AsyncRespond
    ) -> None:
        await ack()
        message = shortcut.get("message") or {}
        team = context.team_id or (shortcut.get("team") or {}).get("id", "")
        channel = ChannelKey(PLATFORM, team, (shortcut.get("channel") or {}).get("id", ""))
        job = Job(context.client, channel, message.get("thread_ts") or message.get("ts"), respond)
        user = (shortcut.get("user") or {}).get("id")
        text = _MENTION.sub(" ", message.get("text") or "").strip()
        files = tuple(message.get("files") or ())
        work = self._brief_message(job, text, files, user=user, explicit=True)
        self._spawn(team, self._run(job, work))

    async def on_uninstalled(self, ack: Any, body: dict[str, Any], event: dict[str, Any]) -> None:
        await ack()
        if event.get("type") == "tokens_revoked" and not (event.get("tokens") or {}).get("bot"):
            return  # only user tokens were revoked; we use none
        team = body.get("team_id", "")
        self._spawn(team, self._stop_team(team, body.get("enterprise_id"), f"Slack: {event.get('type')}"))

    async def on_home_opened(self, ack: Any, event: dict[str, Any], context: AsyncBoltContext) -> None:
        await ack()
        if event.get("tab") == "home" and context.team_id and event.get("user"):
            self._spawn(context.team_id, self._guarded(publish_home(self.service, context, event["user"])))

    # --- messages ------------------------------------------------------------------------------------------------

    async def _on_incoming(self, msg: Incoming, client: AsyncWebClient) -> None:
        # The decision depends only on the message (never on which of message/app_mention carried it), so both
        # deliveries of a mention plan the same work and the claim below lets exactly one do it.
        channel = ChannelKey(PLATFORM, msg.team, msg.channel)
        files = msg.files if msg.mentioned else tuple(f for f in msg.files if readable(f))
        has_source = bool(find_urls(msg.text) or files)
        if has_source and not msg.mentioned and (await self.service.channel_settings(channel)).link_watching != "all":
            return
        asking = bool(msg.thread_ts and msg.text) and not has_source
        if asking:
            asking = await self.service.find_thread(channel, msg.thread_ts or "") is not None
        if not (has_source or asking or msg.mentioned):
            return  # chatter: nothing asked of us, and no database write for it
        if not await self.service.claim_event(channel, msg.event_id, msg.ts):
            return  # a retry, a replay, or the other half of a message + app_mention pair
        job = Job(client, channel, msg.thread_ts or msg.ts)
        if asking:
            work = self._ask(job, plain_text(msg.text), user=msg.user)
        else:
            work = self._brief_message(job, msg.text, files, user=msg.user, explicit=msg.mentioned)
        await self._run(job, work)

    async def _brief_message(
        self, job: Job, text: str, files: tuple[Mapping[str, Any], ...], *, user: str | None, explicit: bool
    ) -> None:
        urls = find_urls(text)  # on Slack's own markup: `<url|label>` yields the target, never the label
        if urls:
            await self._brief(job, _load(Source.link(urls[0])), user=user, label=urls[0], link_url=urls[0])
        elif files:
            file = dict(files[0])
            load = partial(self.files.read, job.client, file)  # downloaded inside the error boundary
            await self._brief(job, load, user=user, label=str(file.get("name") or "the file"))
        elif explicit and len(plain := plain_text(text)) >= ARTICLE_MIN_CHARS:
            await self._brief(job, _load(Source.text(plain)), user=user, label="the pasted text")
        else:
            hint = "Share a link, a file or an article with me and I'll brief it; `/brief help` lists the commands."
            await self._post(job, render_notice(hint))

    async def _brief_text_or_link(self, job: Job, text: str, *, user: str | None) -> None:
        # "/brief URL please" means the link; a pasted article that happens to contain links means the text.
        urls = find_urls(text)
        url = urls[0] if urls and len(text) < ARTICLE_MIN_CHARS else None
        source = Source.link(url) if url else Source.text(plain_text(text))
        await self._brief(job, _load(source), user=user, label=url or "the pasted text", link_url=url)

    # --- the work --------------------------------------------------------------------------------------------------

    async def _brief(
        self,
        job: Job,
        load: Callable[[], Awaitable[Source]],
        *,
        user: str | None,
        label: str,
        link_url: str | None = None,
    ) -> None:
        job.placeholder_ts = await self._post(job, render_notice(f"Reading {label} …", emoji=":hourglass:"))
        thread = job.thread_ts or job.placeholder_ts  # a slash command's placeholder starts the thread
        async with self._slots:
            outcome = await self.service.brief(await load(), Place(job.channel, thread, user))
        await self._deliver(job, render_briefing(outcome.briefing, link_url=link_url))

    async def _ask(self, job: Job, question: str, *, user: str | None) -> None:
        job.placeholder_ts = await self._post(job, render_notice("Looking in the article …", emoji=":mag:"))
        async with self._slots:
            answer = await self.service.ask(Place(job.channel, job.thread_ts, user), question)
        await self._update(job, job.placeholder_ts, render_answer(answer))

    async def _subcommand(self, job: Job, command: Command) -> None:
        assert job.respond is not None
        if command.name == "digest":
            if self.digest is None:
                await _ephemeral(job.respond, "The digest is not available yet.")
                return
            text = await self.digest(job.channel)
            for message in render_mrkdwn(escape(text), "Digest"):
                await self._post(job, message)
            return
        reply = await run_subcommand(self.service, job.channel, command)
        await _ephemeral(job.respond, reply)

    async def _stop_team(self, team: str, enterprise: str | None, reason: str) -> None:
        current = asyncio.current_task()
        for task in list(self._tasks.get(team, ())):
            if task is not current:
                task.cancel()
        if self.installations is not None:
            await self.installations.async_delete_all(enterprise_id=enterprise, team_id=team)
        disabled = await self.service.disable_workspace(PLATFORM, team, reason)
        log.warning("Slack team %s: %s; installation removed, %d subscription(s) disabled", team, reason, disabled)

    # --- the one error boundary ------------------------------------------------------------------------------------

    async def _run(self, job: Job, work: Coroutine[Any, Any, None]) -> None:
        """Run `work`; a `BriefbotError` becomes its message in the thread, anything else is a logged bug."""
        try:
            await work
        except BriefbotError as exc:
            await self._report(job, render_notice(str(exc), emoji=":warning:"))
        except SlackApiError as exc:
            await self._slack_refused(job, exc)
        except Exception as exc:
            log.exception("bug while handling a Slack request in %s", job.channel)
            self.failures.append(exc)
            await self._report(job, render_notice("Sorry, something went wrong on my side; it has been logged."))

    async def _report(self, job: Job, message: SlackMessage) -> None:
        try:
            if job.placeholder_ts:
                await self._update(job, job.placeholder_ts, message)
            elif job.respond is not None:
                await _ephemeral(job.respond, message.text)
            elif job.thread_ts:
                await self._post(job, message)
        except SlackApiError as exc:
            await self._slack_refused(job, exc)

    async def _slack_refused(self, job: Job, exc: SlackApiError) -> None:
        code = str(exc.response.get("error") or "unknown_error")
        if code not in FATAL_ERRORS:
            log.error("Slack API error %s in %s", code, job.channel)
            self.failures.append(exc)
            return
        # Not retried: the channel (or our token) is gone. Stop the feeds that would keep failing there.
        disabled = await self.service.disable_channel(job.channel, f"Slack: {code}")
        log.warning("Slack refused us in %s (%s); %d subscription(s) disabled", job.channel, code, disabled)
        if job.respond is not None and code in {"channel_not_found", "not_in_channel", "is_archived"}:
            try:
                await _ephemeral(job.respond, NO_POST.format(code=code))
            except Exception:  # the ephemeral hint is a courtesy; a failure here is not worth another report
                log.info("could not send the ephemeral hint to %s", job.channel)

    async def _guarded(self, work: Coroutine[Any, Any, None]) -> None:
        try:
            await work
        except SlackApiError as exc:
            log.warning("Slack API error %s", exc.response.get("error"))
        except Exception as exc:
            log.exception("bug in a Slack background task")
            self.failures.append(exc)

    # --- posting ---------------------------------------------------------------------------------------------------

    async def _post(self, job: Job, message: SlackMessage) -> str:
        """Post in the job's thread (unfurling off: link previews are an exfiltration channel); the message ts."""
        async with self.pacer.turn(job.channel.channel):
            response = await job.client.chat_postMessage(
                channel=job.channel.channel,
                thread_ts=job.thread_ts or job.placeholder_ts,
                text=message.text,
                blocks=message.blocks,
                unfurl_links=False,
                unfurl_media=False,
            )
        return str(response["ts"])

    async def _update(self, job: Job, ts: str, message: SlackMessage) -> None:
        await job.client.chat_update(channel=job.channel.channel, ts=ts, text=message.text, blocks=message.blocks)

    async def _deliver(self, job: Job, messages: list[SlackMessage]) -> None:
        """The first message replaces the placeholder; continuations follow in the same thread."""
        first, *rest = messages
        if job.placeholder_ts:
            await self._update(job, job.placeholder_ts, first)
        else:
            await self._post(job, first)
        for message in rest:
            await self._post(job, message)

    # --- tasks -----------------------------------------------------------------------------------------------------

    def _spawn(self, team: str, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        group = self._tasks.setdefault(team, set())
        group.add(task)

        def done(task: asyncio.Task[None]) -> None:
            group.discard(task)
            # Work reports its own errors; this catches what escaped even that (e.g. the database failing meanwhile).
            if not task.cancelled() and (error := task.exception()) is not None:
                log.error("unhandled error in a Slack background task", exc_info=error)
                self.failures.append(error)

        task.add_done_callback(done)

    async def drain(self) -> None:
        """Wait until every background task (including ones they start) has finished."""
        while tasks := [task for group in self._tasks.values() for task in group]:
            await asyncio.gather(*tasks, return_exceptions=True)

    async def aclose(self) -> None:
        """Cancel the background work and close the file downloader."""
        tasks = [task for group in self._tasks.values() for task in group]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.files.aclose()


async def _ephemeral(respond: AsyncRespond, text: str) -> None:
    """A reply only the person who asked sees (through the command's or shortcut's response URL)."""
    await respond(text=text, response_type="ephemeral", unfurl_links=False, unfurl_media=False)


def _load(source: Source) -> Callable[[], Awaitable[Source]]:
    async def load() -> Source:
        return source

    return load


def _incoming(body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext) -> Incoming | None:
    """The user message in an event, or None for what is not a request (bots, ourselves, edits, joins)."""
    subtype = event.get("subtype")
    user = event.get("user")
    bot_user = context.bot_user_id
    if event.get("bot_id") or subtype == "bot_message" or subtype not in MESSAGE_SUBTYPES:
        return None
    if not user or user == bot_user or not event.get("channel") or not event.get("ts"):
        return None
    text = event.get("text") or ""
    mentioned = event.get("type") == "app_mention" or bool(bot_user and f"<@{bot_user}" in text)
    return Incoming(
        team=context.team_id or body.get("team_id", ""),
        channel=event["channel"],
        user=user,
        ts=event["ts"],
        thread_ts=event.get("thread_ts") if event.get("thread_ts") != event["ts"] else None,
        text=_MENTION.sub(" ", text).strip(),
        files=tuple(event.get("files") or ()),
        mentioned=mentioned,
        event_id=body.get("event_id"),
    )
