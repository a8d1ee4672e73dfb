"""A local fake of Discord for the adapter tests: the REST API on 127.0.0.1 (port 0), a minimal gateway, and the
gateway/interaction payloads Discord would send.

discord.py's real `HTTPClient` talks to the fake because the tests point `discord.http.Route.BASE` (the library's
network edge) at it. Every request is recorded with its method, path and JSON body, so tests assert what the bot sent.
The gateway (`/gateway`, a websocket) says HELLO, records IDENTIFY, then either closes with a scripted code (4014: a
privileged intent that is not enabled) or sends READY. Event payloads are fed to discord.py's own parsers
(`ConnectionState.parse_*`), which build the objects and dispatch the events exactly as they would from the socket.
"""

from __future__ import annotations

import asyncio
import ipaddress
import itertools
import json
import re
import shutil
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import discord
import pytest
import yarl
from aiohttp import WSMsgType, web
from fetch_helpers import LocalServer, LoopbackConnector, Reply, StubResolver
from pydantic import SecretStr

from bot.adapters.discord_bot import BriefBot, DiscordConfig, build_discord_bot
from bot.brief.extractive import ExtractiveBriefer
from bot.ingest.fetch import FetchPolicy, SafeFetcher
from bot.service import Service
from bot.store import Store

API = "/api/v10"
JSON = dict[str, Any]


# A feed for subscription tests: subscribing fetches and parses the feed once. Its title is hostile on purpose.
FEED_XML = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>News &lt;!channel&gt; feed</title><link>http://news.example/</link>
<item><title>Night bus pilot approved</title><link>http://news.example/night-bus</link><guid>n1</guid></item>
</channel></rss>"""
FEED_HEADERS = [("Content-Type", "application/rss+xml")]


@dataclass
class Call:
    """One request the fake received. `path` is relative to the API root, e.g. `/channels/1/messages`."""

    method: str
    path: str
    query: dict[str, str]
    json: Any
    response: Any = None  # what the fake answered (e.g. the created message, with its id)


@dataclass
class FakeDiscord:
    """Discord's REST API and gateway for one application, one guild and one text channel."""

    calls: list[Call] = field(default_factory=list)
    messages: dict[int, JSON] = field(default_factory=dict)  # id -> message payload (posted or seeded)
    threads: list[JSON] = field(default_factory=list)  # threads the bot created, in order
    identify: list[JSON] = field(default_factory=list)  # IDENTIFY payloads received on the gateway
    login_status: int = 200  # 401: the token is wrong
    gateway_close: int | None = None  # close IDENTIFY with this code (4014: privileged intent not enabled)
    # (method, path regex) -> (status, Discord error code): scripted refusals, e.g. no permission to open threads.
    refuse: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)
    port: int = 0

    def __post_init__(self) -> None:
        self._ids = itertools.count(1_300_000_000_000_000_000, 4096)
        self.app_id = self.snowflake()
        self.bot_id = self.app_id
        self.guild_id = self.snowflake()
        self.channel_id = self.snowflake()
        self.user_id = self.snowflake()
        self.role_id = self.snowflake()
        self._interactions: dict[str, JSON] = {}  # token -> interaction payload
        self._changed = asyncio.Condition()
        self._sockets: list[web.WebSocketResponse] = []
        self._seq = itertools.count(1)
        self._runner: web.AppRunner | None = None

    def snowflake(self) -> int:
        return next(self._ids)

    # --- server ------------------------------------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/gateway", self._gateway)
        app.router.add_route("*", API + "/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}{API}"

    # --- what the bot sent -------------------------------------------------------------------------------------------

    def sent(self, method: str | None = None, pattern: str = "") -> list[Call]:
        """Recorded calls with this method whose path matches `pattern` (a regex searched in the path)."""
        return [c for c in self.calls if (method is None or c.method == method) and re.search(pattern, c.path)]

    def posts(self) -> list[Call]:
        """Every message the bot posted: channel messages and interaction follow-ups."""
        return [
            c
            for c in self.calls
            if c.method == "POST" and re.fullmatch(r"/channels/\d+/messages|/webhooks/\d+/[^/]+", c.path)
        ]

    # --- REST --------------------------------------------------------------------------------------------------------

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        body = await request.text()
        path = "/" + request.match_info["tail"]
        call = Call(request.method, path, dict(request.query), json.loads(body) if body else None)
        response = self._route(call)
        if isinstance(response, web.Response) and response.body and response.content_type == "application/json":
            call.response = json.loads(response.body)  # type: ignore[arg-type]
        async with self._changed:
            self.calls.append(call)
            self._changed.notify_all()
        return response

    async def wait_for(self, predicate: Callable[[], object]) -> None:
        """Wait until `predicate()` holds, re-checking after every request and IDENTIFY (no polling, no sleeping)."""
        async with self._changed:
            await self._changed.wait_for(predicate)

    def _route(self, call: Call) -> web.StreamResponse:
        method, path, body = call.method, call.path, call.json or {}
        for (refused_method, pattern), (status, code) in self.refuse.items():
            if method == refused_method and re.search(pattern, path):
                return _error(status, code, "refused by the fake")
        if (method, path) == ("GET", "/users/@me"):
            if self.login_status != 200:
                return _error(self.login_status, 0, "401: Unauthorized")
            return _json(self.bot_user())
        if (method, path) == ("GET", "/oauth2/applications/@me"):
            return _json(self.application())
        if re.fullmatch(r"/applications/\d+(/guilds/\d+)?/commands", path) and method == "PUT":
            return _json(
                [
                    {"description": "", **c, "id": str(self.snowflake()), "application_id": str(self.app_id)}
                    for c in body
                ]
            )
        if re.fullmatch(r"/channels/(\d+)/typing", path):
            return web.Response(status=204)
        if (m := re.fullmatch(r"/channels/(\d+)/messages", path)) and method == "POST":
            return _json(self._store(self.message_payload(body, channel_id=int(m[1]))))
        if (m := re.fullmatch(r"/channels/(\d+)/messages/(\d+)/threads", path)) and method == "POST":
            return _json(self._thread(int(m[1]), int(m[2]), body["name"]))
        if (m := re.fullmatch(r"/channels/(\d+)/messages/(\d+)", path)) and method == "GET":
            found = self.messages.get(int(m[2]))
            return _json(found) if found else _error(404, 10008, "Unknown Message")
        if (m := re.fullmatch(r"/channels/(\d+)", path)) and method == "GET":
            found_thread = next((t for t in self.threads if t["id"] == m[1]), None)
            return _json(found_thread or self.text_channel())
        if (m := re.fullmatch(r"/interactions/(\d+)/([^/]+)/callback", path)) and method == "POST":
            return _json(self._callback(int(m[1]), body))
        if (m := re.fullmatch(r"/webhooks/(\d+)/([^/]+)", path)) and method == "POST":
            channel_id = int(self._interactions[m[2]]["channel_id"])
            return _json(self._store(self.message_payload(body, channel_id=channel_id, webhook=True)))
        if re.fullmatch(r"/webhooks/(\d+)/([^/]+)/messages/@original", path):
            if method == "DELETE":
                return web.Response(status=204)
            return _json(self.message_payload(body, channel_id=self.channel_id, webhook=True))
        return _error(404, 0, f"fake Discord has no route for {method} {path}")

    def _store(self, message: JSON) -> JSON:
        self.messages[int(message["id"])] = message
        return message

    def _thread(self, channel_id: int, message_id: int, name: str) -> JSON:
        thread = self.thread_payload(message_id, name, parent_id=channel_id)
        self.threads.append(thread)
        return thread

    def _callback(self, interaction_id: int, body: JSON) -> JSON:
        ephemeral = bool((body.get("data") or {}).get("flags", 0) & 64)
        return {
            "interaction": {
                "id": str(interaction_id),
                "type": 2,
                "response_message_loading": body.get("type") == 5,
                "response_message_ephemeral": ephemeral,
            }
        }

    # --- gateway -----------------------------------------------------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_json({"op": 10, "d": {"heartbeat_interval": 45_000}, "s": None, "t": None})
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                break
            frame = json.loads(msg.data)
            if frame["op"] == 1:
                await ws.send_json({"op": 11})
            elif frame["op"] == 2:
                if self.gateway_close is not None:
                    await ws.close(code=self.gateway_close, message=b"refused by the fake")
                else:
                    await self._ready(ws)
                # Recorded once READY and the guild are on the wire, so a test's next event comes after them.
                async with self._changed:
                    self.identify.append(frame["d"])
                    self._changed.notify_all()
        self._sockets.remove(ws)
        return ws

    async def _ready(self, ws: web.WebSocketResponse) -> None:
        ready = {
            "v": 10,
            "user": self.bot_user(),
            "guilds": [{"id": str(self.guild_id), "unavailable": True}],
            "session_id": "fake-session",
            "resume_gateway_url": f"ws://127.0.0.1:{self.port}",
            "application": {"id": str(self.app_id), "flags": 0},
        }
        for event, data in (("READY", ready), ("GUILD_CREATE", self.guild_create())):
            await ws.send_json({"op": 0, "s": next(self._seq), "t": event, "d": data})

    async def dispatch(self, event: str, data: JSON) -> None:
        """Send a gateway event (op 0) to every connected client."""
        for ws in list(self._sockets):
            await ws.send_json({"op": 0, "s": next(self._seq), "t": event, "d": data})

    # --- payloads ----------------------------------------------------------------------------------------------------

    def bot_user(self) -> JSON:
        return self.user(self.bot_id, "briefbot", bot=True)

    @staticmethod
    def user(user_id: int, name: str, *, bot: bool = False) -> JSON:
        return {
            "id": str(user_id),
            "username": name,
            "discriminator": "0",
            "global_name": None,
            "avatar": None,
            "bot": bot,
        }

    def member(self, user_id: int | None = None, name: str = "ada") -> JSON:
        user = self.user(user_id or self.user_id, name)
        return {"user": user, "roles": [], "joined_at": _now(), "deaf": False, "mute": False, "flags": 0}

    def application(self) -> JSON:
        return {
            "id": str(self.app_id),
            "name": "briefbot",
            "icon": None,
            "description": "",
            "bot_public": True,
            "bot_require_code_grant": False,
            "verify_key": "0" * 64,
            "owner": self.user(self.user_id, "owner"),
            "flags": 0,
        }

    def text_channel(self) -> JSON:
        return {
            "id": str(self.channel_id),
            "type": 0,
            "guild_id": str(self.guild_id),
            "name": "news",
            "position": 0,
            "permission_overwrites": [],
            "nsfw": False,
            "parent_id": None,
            "topic": None,
            "last_message_id": None,
            "rate_limit_per_user": 0,
        }

    def guild_create(self) -> JSON:
        everyone = {"id": str(self.guild_id), "name": "@everyone", "permissions": "1071698660929", "position": 0}
        everyone |= {"color": 0, "hoist": False, "managed": False, "mentionable": False, "flags": 0}
        role = {**everyone, "id": str(self.role_id), "name": "editors", "permissions": "0", "position": 1}
        return {
            "id": str(self.guild_id),
            "name": "Newsroom",
            "icon": None,
            "owner_id": str(self.user_id),
            "roles": [everyone, role],
            "emojis": [],
            "stickers": [],
            "features": [],
            "channels": [self.text_channel()],
            "threads": [],
            "members": [{**self.member(self.bot_id, "briefbot"), "user": self.bot_user()}],
            "voice_states": [],
            "presences": [],
            "member_count": 2,
            "large": False,
            "unavailable": False,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "preferred_locale": "en-US",
            "system_channel_flags": 0,
        }

    def thread_payload(self, thread_id: int, name: str, *, parent_id: int | None = None) -> JSON:
        return {
            "id": str(thread_id),
            "type": 11,
            "guild_id": str(self.guild_id),
            "parent_id": str(parent_id or self.channel_id),
            "owner_id": str(self.bot_id),
            "name": name,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "message_count": 0,
            "member_count": 1,
            "flags": 0,
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": 1440,
                "archive_timestamp": _now(),
                "locked": False,
            },
        }

    def message_payload(self, body: JSON, *, channel_id: int, webhook: bool = False) -> JSON:
        """The message Discord returns for a post by the bot (a webhook post for interaction follow-ups)."""
        payload = {
            "id": str(self.snowflake()),
            "channel_id": str(channel_id),
            "author": self.bot_user(),
            "content": body.get("content") or "",
            "embeds": body.get("embeds") or [],
            "attachments": [],
            "mentions": [],
            "mention_roles": [],
            "mention_everyone": False,
            "pinned": False,
            "tts": False,
            "timestamp": _now(),
            "edited_timestamp": None,
            "type": 19 if body.get("message_reference") else 0,
            "flags": body.get("flags") or 0,
            "components": [],
        }
        if webhook:
            payload["webhook_id"] = str(self.app_id)
        return payload

    def user_message(
        self,
        content: str,
        *,
        channel_id: int | None = None,
        guild: bool = True,
        mentions: list[JSON] | None = None,
        reference: int | None = None,
        author: JSON | None = None,
    ) -> JSON:
        """A MESSAGE_CREATE payload from a member (or from `author`), remembered so the bot can fetch it."""
        author = author or self.user(self.user_id, "ada")
        payload: JSON = {
            "id": str(self.snowflake()),
            "channel_id": str(channel_id or self.channel_id),
            "author": author,
            "content": content,
            "embeds": [],
            "attachments": [],
            "mentions": mentions or [],
            "mention_roles": [],
            "mention_everyone": False,
            "pinned": False,
            "tts": False,
            "timestamp": _now(),
            "edited_timestamp": None,
            "type": 19 if reference else 0,
            "flags": 0,
            "components": [],
        }
        if guild:
            payload["guild_id"] = str(self.guild_id)
            payload["member"] = {k: v for k, v in self.member().items() if k != "user"}
        if reference:
            payload["message_reference"] = {"message_id": str(reference), "channel_id": payload["channel_id"]}
        return self._store(payload)

    def reaction(self, message_id: int, emoji: str = "📰", *, channel_id: int | None = None) -> JSON:
        """A MESSAGE_REACTION_ADD payload from the member."""
        return {
            "user_id": str(self.user_id),
            "channel_id": str(channel_id or self.channel_id),
            "message_id": str(message_id),
            "guild_id": str(self.guild_id),
            "member": self.member(),
            "emoji": {"id": None, "name": emoji},
            "burst": False,
            "type": 0,
        }

    def interaction(
        self,
        name: str,
        options: dict[str, Any] | None = None,
        *,
        channel: JSON | None = None,
        target: JSON | None = None,
    ) -> JSON:
        """An INTERACTION_CREATE payload: a slash command with string options, or (with `target`) a message command."""
        interaction_id = self.snowflake()
        token = f"token-{interaction_id}"
        channel = channel or self.text_channel()
        data: JSON = {"id": str(self.snowflake()), "name": name, "type": 1}
        if target is not None:
            data |= {"type": 3, "target_id": target["id"], "resolved": {"messages": {target["id"]: target}}}
        else:
            data["options"] = [{"type": 3, "name": k, "value": v} for k, v in (options or {}).items()]
        payload: JSON = {
            "id": str(interaction_id),
            "application_id": str(self.app_id),
            "type": 2,
            "token": token,
            "version": 1,
            "data": data,
            "channel_id": channel["id"],
            "channel": channel,
            "app_permissions": "1071698660929",
            "locale": "en-US",
            "attachment_size_limit": 8_388_608,
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(self.guild_id)},
        }
        if "guild_id" in channel:
            payload |= {"guild_id": channel["guild_id"], "guild_locale": "en-US", "context": 0}
            payload["member"] = {**self.member(), "permissions": "1071698660929"}
        else:
            payload |= {"user": self.user(self.user_id, "ada"), "context": 1}
        self._interactions[token] = payload
        return payload

    def dm_channel(self) -> JSON:
        return {"id": str(self.snowflake()), "type": 1, "recipients": [self.user(self.user_id, "ada")]}


def _json(data: Any, status: int = 200) -> web.Response:
    # discord.py parses a body as JSON only when Content-Type is exactly application/json (no charset).
    return web.Response(body=json.dumps(data).encode(), status=status, headers={"Content-Type": "application/json"})


def _error(status: int, code: int, message: str) -> web.Response:
    return _json({"message": message, "code": code}, status=status)


def _now() -> str:
    return datetime.now(UTC).isoformat()


# --- driving a bot against the fake ---------------------------------------------------------------------------------


class Harness:
    """A `BriefBot` logged in to the fake, fed gateway events through discord.py's own parsers."""

    def __init__(self, fake: FakeDiscord, bot: BriefBot) -> None:
        self.fake = fake
        self.bot = bot
        self._announced = 0

    @classmethod
    async def start(cls, fake: FakeDiscord, bot: BriefBot) -> Harness:
        """Log in over REST (user, application, command sync) and receive the guild, as after READY."""
        try:
            await bot.login("fake-token")
        except BaseException:
            await bot.close()
            raise
        bot._connection.parse_guild_create(fake.guild_create())
        return cls(fake, bot)

    @property
    def state(self) -> Any:
        return self.bot._connection

    async def message(self, content: str, **options: Any) -> JSON:
        """A member posts `content` (MESSAGE_CREATE); returns the payload once the bot is done with it."""
        payload = self.fake.user_message(content, **options)
        await self.deliver("MESSAGE_CREATE", payload)
        return payload

    async def deliver(self, event: str, payload: JSON) -> None:
        """Feed one gateway event to discord.py's parser (as its websocket would), then wait for the work."""
        getattr(self.state, "parse_" + event.lower())(payload)
        await self.settle()

    async def command(self, name: str, options: dict[str, Any] | None = None, **where: Any) -> JSON:
        """Invoke an app command the way discord.py's own tests do: an Interaction from the payload, `tree._call`."""
        payload = self.fake.interaction(name, options, **where)
        await self.bot.tree._call(discord.Interaction(data=payload, state=self.state))
        await self.settle()
        return payload

    async def settle(self) -> None:
        """Wait for discord.py's handler tasks and the bot's background work; announce threads the bot created."""
        while True:
            handlers = [t for t in asyncio.all_tasks() if t.get_name().startswith("discord.py:") and not t.done()]
            if not handlers and not self.bot.pending:
                break
            await asyncio.gather(*handlers, return_exceptions=True)
            await self.bot.drain()
        for thread in self.fake.threads[self._announced :]:
            self.state.parse_thread_create({**thread, "newly_created": True})  # Discord's THREAD_CREATE
        self._announced = len(self.fake.threads)

    async def close(self) -> None:
        await self.settle()
        await self.bot.close()


# --- the world around the bot: articles on a local web server, the real service on SQLite ---------------------------

# Our own fixture articles (no third-party text). The hostile one tries every Discord mention form and foreign links.
LIBRARY = [
    "The Riverside public library will run entirely on solar power by next spring, the city announced on Tuesday.",
    "Workers will install 420 panels on the library's flat roof in March. The project costs $1.2 million, most of it "
    "paid by a state clean-energy grant, and is expected to cut the building's electricity bill by about 60 percent.",
    "“We spend more on lighting the reading rooms than on new books,” said Mara Lindqvist, the library's director. "
    "“Every dollar we save on power goes back to the collection.”",
    "The roof was reinforced in 2019, which made the installation possible without closing the building. Engineers "
    "said the panels would be mounted on ballasted frames, so no holes will be drilled into the membrane.",
    "“The library is the first of twelve city buildings on the list,” said Tomas Okafor, who chairs the council's "
    "energy committee. He said the fire station and two schools would follow if the numbers hold up.",
    "Some residents questioned the timing. A petition with 300 signatures asked the council to fix the library's "
    "leaking skylights first, and the council agreed to repair them before the panels go up.",
    "The library will stay open during the work. A display in the lobby will show how much power the roof produces "
    "each day, and the children's section plans a series of workshops about electricity and the sun.",
]
HOSTILE = [
    "@everyone The harbour ferry will stop running at night from June, the transport office said on Monday.",
    "<@&1300000000000000001> The change saves the office about $80,000 a year. @here Night passengers will be offered "
    "a bus link instead, which takes 25 minutes longer. Ping <@1300000000000000002> and see <#1300000000000000003>.",
    "“We cannot keep a 200-seat boat running for nine people,” said Ines Barros, the office's director. Details are at "
    "[the official notice](https://evil.example/steal) and https://evil.example/track?id=1.",
    "Night workers at the hospital on the island said the bus link would not reach the staff entrance in time for "
    "the 6 a.m. shift change. The office said it would review the timetable after three months.",
]


def page(title: str, paragraphs: list[str]) -> bytes:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return f"<html><head><title>{title}</title></head><body><article>{body}</article></body></html>".encode()


@pytest.fixture
async def site() -> AsyncIterator[LocalServer]:
    server = LocalServer()
    await server.start()
    server.routes["/library"] = Reply(body=page("Riverside library switches to solar power", LIBRARY))
    server.routes["/feed.xml"] = Reply(headers=FEED_HEADERS, body=FEED_XML)
    server.routes["/ferry"] = Reply(body=page("@everyone Night ferry to end <@&1300000000000000001>", HOSTILE))
    yield server
    await server.close()


@pytest.fixture
async def store(sqlite_template: Path, tmp_path: Path) -> AsyncIterator[Store]:
    target = tmp_path / "discord.db"
    shutil.copyfile(sqlite_template, target)
    async with await Store.open(f"sqlite+aiosqlite:///{target.as_posix()}", migrate=False) as opened:
        yield opened


@pytest.fixture
async def service(store: Store, site: LocalServer) -> AsyncIterator[Service]:
    """The real service: real fetcher (stub resolver, loopback only), real offline engine, SQLite."""
    fetcher = SafeFetcher(
        FetchPolicy(allow_networks=(ipaddress.ip_network("127.0.0.1/32"),)),
        resolver=StubResolver({"news.example": ["127.0.0.1"]}),
        connector=LoopbackConnector({80: site.port}),
    )
    async with fetcher:
        yield Service(store=store, fetcher=fetcher, briefer=ExtractiveBriefer())


@pytest.fixture
async def fake(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscord]:
    """The fake, with discord.py's REST base URL and gateway address pointed at it (the library's network edge)."""
    server = FakeDiscord()
    await server.start()
    monkeypatch.setattr(discord.http.Route, "BASE", server.base)
    monkeypatch.setattr(
        discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(f"ws://127.0.0.1:{server.port}/gateway")
    )
    yield server
    await server.close()


async def harness_for(fake: FakeDiscord, service: Service, **config: Any) -> Harness:
    bot = build_discord_bot(DiscordConfig(token=SecretStr("fake-token"), **config), service)
    return await Harness.start(fake, bot)


@pytest.fixture
async def discord_bot(fake: FakeDiscord, service: Service) -> AsyncIterator[Harness]:
    harness = await harness_for(fake, service)
    yield harness
    await harness.close()
    assert harness.bot.failures == []
