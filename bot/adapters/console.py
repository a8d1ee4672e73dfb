"""The console adapter: `briefbot chat` behaves like one channel of a chat platform, in a terminal.

Paste a link or an article and get a briefing in a new thread; type a question and get an answer in the current
thread. `ConsoleChannel.handle(line)` turns one input line into Markdown replies, so tests drive it like a transcript;
`run_chat` wraps it in a prompt with line editing and history.
"""

from __future__ import annotations

import logging
import re
import shlex
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.brief.answer import CLOSEST_LABEL, Answer, citation_note, closest_note
from bot.errors import BriefbotError
from bot.ingest.urls import find_urls
from bot.models import Briefing
from bot.render import briefing_to_markdown
from bot.service import Place, Service, Source
from bot.store import ChannelKey, Thread

log = logging.getLogger(__name__)

CONSOLE_CHANNEL = ChannelKey("console", "local", "console")
HELP = """\
**Paste a link or an article** to get a briefing in a new thread; **type a question** to ask about the current one.

| command | what it does |
|---|---|
| `/brief URL or text` | brief a link or pasted text |
| `/paste` | paste a long article over several lines, ending with a line holding only `.` |
| `/ask QUESTION` | ask about the current thread's article |
| `/threads` | list this channel's briefing threads |
| `/thread N` | switch to thread N |
| `/subscribe URL` | subscribe this channel to a feed |
| `/unsubscribe URL` | remove a subscription |
| `/feeds` | list the subscriptions |
| `/digest` | show the digest of the channel's new articles |
| `/help` | this help |
| `/quit` | leave (Ctrl-D works too) |
"""
# Text this long (or with several sentences) is an article being pasted, not a question.
PASTED_ARTICLE_CHARS = 400


@dataclass
class ConsoleChannel:
    """One console channel over the service; holds the current thread and a multi-line paste in progress."""

    service: Service
    channel: ChannelKey = CONSOLE_CHANNEL
    user: str = "you"
    digest: Callable[[ChannelKey], Awaitable[str]] | None = None
    current: Thread | None = None
    _paste: list[str] | None = field(default=None, init=False)

    async def start(self) -> list[str]:
        """Greeting lines; resumes the most recent thread, so a restarted chat continues where it stopped."""
        threads = await self.service.threads(self.channel, limit=1)
        self.current = threads[0] if threads else None
        greeting = "briefbot: paste a link or an article to brief it; `/help` lists the commands."
        if self.current:
            greeting += f" Continuing in thread {self.current.thread_id}."
        return [greeting]

    async def handle(self, line: str) -> list[str]:
        """Process one line of input and return the replies (Markdown). Errors become one-sentence replies."""
        if self._paste is not None:
            if line.strip() != ".":
                self._paste.append(line)
                return []
            text, self._paste = "\n".join(self._paste), None
            return await self._guard(self._brief(Source.text(text)))
        stripped = line.strip()
        if not stripped:
            return []
        if stripped.startswith("/"):
            return await self._guard(self._command(stripped))
        urls = find_urls(stripped)
        if urls:
            return await self._guard(self._brief(Source.link(urls[0])))
        if len(stripped) >= PASTED_ARTICLE_CHARS:
            return await self._guard(self._brief(Source.text(line)))
        return await self._guard(self._ask(stripped))

    async def _guard(self, work: Awaitable[list[str]]) -> list[str]:
        # The adapter's one error boundary: user-facing errors become a reply; anything else is a bug, logged.
        try:
            return await work
        except BriefbotError as exc:
            return [f"⚠️ {exc}"]

    async def _command(self, line: str) -> list[str]:
        name, _, rest = line.partition(" ")
        handler = self._commands().get(name.lower())
        if handler is None:
            return [f"Unknown command `{name}`; `/help` lists the commands."]
        return await handler(rest.strip())

    def _commands(self) -> dict[str, Callable[[str], Awaitable[list[str]]]]:
        return {
            "/help": self._help,
            "/paste": self._start_paste,
            "/brief": self._brief_command,
            "/ask": self._ask_command,
            "/threads": self._threads,
            "/thread": self._switch,
            "/subscribe": self._subscribe,
            "/unsubscribe": self._unsubscribe,
            "/feeds": self._feeds,
            "/digest": self._digest,
        }

    async def _help(self, _rest: str) -> list[str]:
        return [HELP]

    async def _start_paste(self, _rest: str) -> list[str]:
        self._paste = []
        return ["Paste the article, then a line with only `.` to brief it."]

    async def _brief_command(self, rest: str) -> list[str]:
        if not rest:
            return ["Usage: `/brief URL` or `/brief some text`."]
        urls = find_urls(rest)
        single_link = urls and len(rest.split()) == 1
        return await self._brief(Source.link(urls[0]) if single_link else Source.text(rest))

    async def _ask_command(self, rest: str) -> list[str]:
        return await self._ask(rest) if rest else ["Usage: `/ask your question`."]

    async def _subscribe(self, rest: str) -> list[str]:
        if not rest:
            return ["Usage: `/subscribe FEED_URL`."]
        sub = await self.service.subscribe(self.channel, shlex.split(rest)[0])
        return [f"Subscribed to {sub.feed_url}. New articles will appear in the digest."]

    async def _unsubscribe(self, rest: str) -> list[str]:
        if not rest:
            return ["Usage: `/unsubscribe FEED_URL`."]
        removed = await self.service.unsubscribe(self.channel, shlex.split(rest)[0])
        return ["Unsubscribed." if removed else "This channel was not subscribed to that feed."]

    async def _feeds(self, _rest: str) -> list[str]:
        subs = await self.service.feeds(self.channel)
        if not subs:
            return ["No subscriptions yet: `/subscribe FEED_URL` adds one."]
        lines = []
        for sub in subs:
            lines.append(f"- {sub.feed_url}" + (f" (disabled: {sub.disabled_reason})" if sub.disabled_reason else ""))
        return ["**Feeds**\n" + "\n".join(lines)]

    async def _digest(self, _rest: str) -> list[str]:
        if self.digest is None:
            return ["The digest is not available in this build."]
        return [await self.digest(self.channel)]

    async def _brief(self, source: Source) -> list[str]:
        thread_id = str(await self.service.thread_count(self.channel) + 1)
        outcome = await self.service.brief(source, Place(self.channel, thread_id, self.user))
        self.current = await self.service.find_thread(self.channel, thread_id)
        note = " (from storage)" if outcome.cached else ""
        return [f"**Thread {thread_id}**{note}\n\n" + render_briefing(outcome.briefing)]

    async def _ask(self, question: str) -> list[str]:
        if self.current is None:
            return ["There is no briefing to ask about yet: paste a link or an article first."]
        answer = await self.service.ask_in_thread(self.current, question, user=self.user)
        return [await self._render_answer(answer)]

    async def _render_answer(self, answer: Answer) -> str:
        if answer.refused:
            reply = answer.reason or "The article doesn't say."
            if answer.closest:
                quoted = "\n".join(f"> {line}" for line in answer.closest.splitlines() if line.strip())
                reply += f"\n\n{CLOSEST_LABEL}\n\n{quoted}\n\n_{closest_note(answer)}_"
            return reply
        return f"{answer.text}\n\n_{citation_note(answer)}_"

    async def _threads(self, _rest: str = "") -> list[str]:
        threads = await self.service.threads(self.channel)
        if not threads:
            return ["No threads yet: paste a link or an article to start one."]
        lines = []
        for thread in sorted(threads, key=lambda t: _thread_number(t.thread_id)):
            title = await self._thread_title(thread)
            marker = " ← current" if self.current and thread.id == self.current.id else ""
            lines.append(f"{thread.thread_id}. {title}{marker}")
        return ["**Threads**\n" + "\n".join(lines)]

    async def _switch(self, number: str) -> list[str]:
        thread = await self.service.find_thread(self.channel, number.strip())
        if thread is None:
            return [f"There is no thread {number.strip() or '?'}; `/threads` lists them."]
        self.current = thread
        return [f"Now in thread {thread.thread_id}: {await self._thread_title(thread)}"]

    async def _thread_title(self, thread: Thread) -> str:
        article = await self.service.article(thread.article_ids[0]) if thread.article_ids else None
        if article is None:
            return "(article no longer stored)"
        return article.title or article.url or article.text[:60].replace("\n", " ") + "…"


def render_briefing(briefing: Briefing) -> str:
    """The Markdown a console user sees for a briefing."""
    return briefing_to_markdown(briefing)


def _thread_number(thread_id: str) -> int:
    return int(thread_id) if re.fullmatch(r"\d+", thread_id) else 0


async def run_chat(channel: ConsoleChannel, *, history_path: str | None = None) -> None:
    """The interactive loop: a prompt with line editing and history on a terminal, plain lines from a pipe."""
    import sys

    from rich.console import Console
    from rich.markdown import Markdown

    console = Console(highlight=False)

    def show(replies: list[str]) -> None:
        for reply in replies:
            # Rendered on a terminal; plain Markdown when the output is piped (scripts, tests, logs).
            if console.is_terminal:
                console.print(Markdown(reply))
                console.print()
            else:
                sys.stdout.write(reply + "\n\n")
                sys.stdout.flush()

    show(await channel.start())
    if sys.stdin.isatty():
        from prompt_toolkit import PromptSession
        from prompt_toolkit.history import FileHistory, InMemoryHistory

        session: PromptSession[str] = PromptSession(
            history=FileHistory(history_path) if history_path else InMemoryHistory()
        )
        while True:
            try:
                line = await session.prompt_async("you> ")
            except (EOFError, KeyboardInterrupt):
                break
            if line.strip().lower() in {"/quit", "/exit"}:
                break
            show(await channel.handle(line))
    else:
        import asyncio

        while True:
            line = await asyncio.to_thread(sys.stdin.readline)
            if not line or line.strip().lower() in {"/quit", "/exit"}:
                break
            show(await channel.handle(line.rstrip("\n")))
