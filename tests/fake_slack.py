"""A local fake of the Slack Web API (and Socket Mode, response URLs, file downloads) for the Slack adapter tests.

`FakeSlack` is an aiohttp server on 127.0.0.1, port 0. Point `AsyncWebClient(base_url=fake.api_url)` at it. It
records every call (`calls`: method, params from the form/JSON body or query, the bearer token), answers like Slack
(`{"ok": true, ...}` with HTTP 200, errors as `{"ok": false, "error": ...}`), and can be scripted per method
(`script("chat.postMessage", Scripted(429, headers={"Retry-After": "0"}))`: scripted replies are used once each, in
order, before the defaults). `wait_for(predicate)` waits for a call to be recorded, so tests synchronise on what the
bot did rather than on sleeps.

Also served: `auth.test` (per token), `files.info` plus the private download URL, `oauth.v2.access`,
`apps.connections.open` with a Socket Mode websocket (`socket_send` pushes an envelope, `socket_acks` records the
acknowledgements), and response URLs (`/respond/...`, recorded as method "response_url").
"""

from __future__ import annotations

import asyncio
import ipaddress
import itertools
import json
import re
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

import aiohttp
from aiohttp import WSMsgType, web
from fetch_helpers import LocalServer, LoopbackConnector, Reply, StubResolver
from slack_sdk.signature import SignatureVerifier

from bot.adapters.slack import DigestFn, SlackBot
from bot.adapters.slack_app import SlackConfig, SlackRuntime, build_slack, serve_http
from bot.brief.engine import Briefer
from bot.brief.extractive import ExtractiveBriefer
from bot.ingest.fetch import FetchPolicy, SafeFetcher
from bot.service import Service
from bot.store import Store

# A feed for subscription tests: subscribing fetches and parses the feed once. Its title is hostile on purpose.
FEED_XML = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>News &lt;!channel&gt; feed</title><link>http://news.example/</link>
<item><title>Night bus pilot approved</title><link>http://news.example/night-bus</link><guid>n1</guid></item>
</channel></rss>"""
FEED_HEADERS = [("Content-Type", "application/rss+xml")]


@dataclass
class Call:
    """One request the fake received."""

    method: str
    params: dict[str, Any]
    token: str | None
    headers: dict[str, str] = field(default_factory=dict)
    response: dict[str, Any] = field(default_factory=dict)


@dataclass
class Scripted:
    """A scripted reply: HTTP status, JSON body, headers."""

    status: int = 200
    body: dict[str, Any] = field(default_factory=lambda: {"ok": True})
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Team:
    """A workspace the fake knows a bot token for."""

    team_id: str
    bot_user_id: str = "UBOT"
    bot_id: str = "BBOT"
    name: str = "Test team"


class FakeSlack:
    """The fake server. Use as `async with FakeSlack() as fake:`."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.tokens: dict[str, Team] = {"xoxb-test": Team("T1")}
        self.files: dict[str, dict[str, Any]] = {}
        self.file_bodies: dict[str, bytes] = {}
        self.oauth_codes: dict[str, dict[str, Any]] = {}
        self.socket_acks: list[dict[str, Any]] = []
        self._scripts: dict[str, deque[Scripted]] = defaultdict(deque)
        self._ts = itertools.count(1)
        self._changed = asyncio.Condition()
        self._sockets: list[web.WebSocketResponse] = []
        self.refuse_sockets = False  # a Slack outage: the websocket URL answers 503
        self._runner: web.AppRunner | None = None
        self.port = 0

    # --- lifecycle -------------------------------------------------------------------------------------------------

    async def __aenter__(self) -> FakeSlack:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/respond/{key}", self._respond)
        app.router.add_get("/files-pri/{key:.+}", self._download)
        app.router.add_get("/link", self._socket)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        for ws in self._sockets:
            await ws.close()
        assert self._runner is not None
        await self._runner.cleanup()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    # --- scripting and inspection ----------------------------------------------------------------------------------

    def script(self, method: str, *replies: Scripted) -> None:
        self._scripts[method].extend(replies)

    def error(self, method: str, code: str) -> None:
        """The next call of `method` fails the way Slack fails: HTTP 200, `ok: false`."""
        self.script(method, Scripted(body={"ok": False, "error": code}))

    def called(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    def methods(self) -> list[str]:
        return [call.method for call in self.calls]

    async def wait_for(self, predicate: Callable[[FakeSlack], bool], timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait until `predicate(self)` holds (re-checked on every recorded call)."""
        async with asyncio.timeout(timeout):
            async with self._changed:
                await self._changed.wait_for(lambda: predicate(self))

    async def wait_calls(self, method: str, count: int = 1, timeout: float = 10.0) -> list[Call]:  # noqa: ASYNC109
        await self.wait_for(lambda fake: len(fake.called(method)) >= count, timeout)
        return self.called(method)

    async def _record(self, call: Call) -> None:
        async with self._changed:
            self.calls.append(call)
            self._changed.notify_all()

    # --- handlers ----------------------------------------------------------------------------------------------------

    async def _params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        raw = await request.read()
        if request.content_type == "application/json" and raw:
            params.update(json.loads(raw))
        elif raw:
            params.update(parse_qsl(raw.decode()))
        for key in ("blocks", "view"):  # form-encoded JSON fields arrive as strings
            if isinstance(params.get(key), str):
                params[key] = json.loads(params[key])
        return params

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await self._params(request)
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else params.get("token")
        reply = self._scripts[method].popleft() if self._scripts[method] else None
        reply = reply or Scripted(body=self._default(method, params, token))
        await self._record(Call(method, params, token, dict(request.headers), reply.body))
        return web.json_response(reply.body, status=reply.status, headers=reply.headers)

    def _default(self, method: str, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        team = self.tokens.get(token or "")
        if method == "auth.test":
            if team is None:
                return {"ok": False, "error": "invalid_auth"}
            return {
                "ok": True,
                "url": "https://test.example/",
                "team": team.name,
                "team_id": team.team_id,
                "user": "briefbot",
                "user_id": team.bot_user_id,
                "bot_id": team.bot_id,
            }
        if method == "chat.postMessage":
            ts = f"1700000{next(self._ts):03d}.000100"
            return {"ok": True, "channel": params.get("channel"), "ts": ts, "message": {"ts": ts}}
        if method == "chat.update":
            return {"ok": True, "channel": params.get("channel"), "ts": params.get("ts")}
        if method == "files.info":
            info = self.files.get(str(params.get("file")))
            return {"ok": True, "file": info} if info else {"ok": False, "error": "file_not_found"}
        if method == "oauth.v2.access":
            return self.oauth_codes.get(str(params.get("code")), {"ok": False, "error": "invalid_code"})
        if method == "apps.connections.open":
            return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/link"}
        return {"ok": True}

    async def _respond(self, request: web.Request) -> web.Response:
        params = await self._params(request)
        await self._record(Call("response_url", params, None, dict(request.headers)))
        return web.Response(text="ok")

    async def _download(self, request: web.Request) -> web.Response:
        key = request.match_info["key"]
        auth = request.headers.get("Authorization", "")
        await self._record(Call("file_download", {"key": key}, auth.removeprefix("Bearer "), dict(request.headers)))
        if key not in self.file_bodies or not auth.startswith("Bearer "):
            return web.Response(status=404)
        return web.Response(body=self.file_bodies[key], content_type="application/octet-stream")

    # --- Socket Mode -------------------------------------------------------------------------------------------------

    async def _socket(self, request: web.Request) -> web.StreamResponse:
        if self.refuse_sockets:
            return web.Response(status=503)
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_json({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A1"}})
        await self._record(Call("socket_connected", {}, None))
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                ack = json.loads(message.data)
                self.socket_acks.append(ack)
                await self._record(Call("socket_ack", ack, None))
        return ws

    async def socket_drop(self) -> None:
        """Close every Socket Mode connection from Slack's side."""
        for ws in self._sockets:
            await ws.close()
        self._sockets.clear()

    async def socket_send(self, envelope: dict[str, Any]) -> None:
        """Push a Socket Mode envelope to the connected client."""
        await self.wait_for(lambda fake: bool(fake._sockets))
        await self._sockets[-1].send_json(envelope)


# --- the world the Slack tests run in: fixture articles, the core over a real store, the app on a real port ---------

# Our own short fixture articles. The hostile ones carry Slack mention tokens, a broadcast word and a labelled link
# in sentences the offline engine picks for the TL;DR, quotes and implications, HTML-escaped so that the extracted
# text holds them literally: the briefing carries them, and nothing posted may.
NIGHT_BUS = [
    "Millbrook's city council voted 7 to 2 on Tuesday to run a six-month pilot of overnight bus service on three"
    " routes &lt;!channel&gt; &lt;!here&gt; &lt;!everyone&gt;, the first late-night transit the town has offered in"
    " years.",
    "The pilot will cost $1.4 million, paid for from the regional mobility fund, and buses will run every 30 minutes"
    " between midnight and 5 a.m. starting in March.",
    "\u201cNight-shift workers have been walking home along unlit roads for years &lt;@U024BE7LH&gt; @everyone, and"
    " this pilot is how we stop that,\u201d said Dana Whitfield, the council's transport director.",
    "Councillor Owen Marsh, who voted against the plan, said the money would be better spent on repairing the"
    " existing daytime fleet. \u201cWe are adding routes while half our buses fail inspection,\u201d Marsh said.",
    "\u201cIf ridership stays under 40 passengers a night, we will end the pilot early,\u201d Whitfield said, adding"
    " that the council would publish monthly ridership figures &lt;!subteam^S0123|@transit-team&gt;.",
    "The regional transit authority said it would lend two spare buses for the trial, and the plan is posted at"
    " &lt;https://evil.example/steal|the council site&gt; for comment.",
    "If the pilot succeeds, the council expects to make the service permanent in next year's budget, which could"
    " raise the transit levy by about 2 percent.",
]
LIBRARY = [
    "The Eastgate branch library will reopen on Saturday after an eight-month renovation that added a children's"
    " reading room, a makerspace and step-free access to the upper floor.",
    "The renovation cost $3.2 million, most of it from a state accessibility grant, the library board said.",
    "\u201cFor the first time, every room in this building is open to everyone who walks through the door,\u201d said"
    " Marta Okafor, the branch manager.",
    "Opening hours will be extended to 9 p.m. on weekdays, and the branch will lend laptops for up to two weeks.",
    "Board chair Samuel Reyes said the makerspace would host free repair workshops every second Sunday.",
]
LIVE_MENTION = r"<!channel>|<!here>|<!everyone>|<@U|<!subteam|<https://evil"


def page(title: str, paragraphs: list[str]) -> bytes:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return f"<html><head><title>{title}</title></head><body><article>{body}</article></body></html>".encode()


def live_mentions(fake: FakeSlack) -> list[str]:
    """Every live mention or foreign link in what the bot sent to Slack (posts, updates, responses, views)."""
    found: list[str] = []
    for call in fake.calls:
        if call.method in {"chat.postMessage", "chat.update", "chat.postEphemeral", "response_url", "views.publish"}:
            found += re.findall(LIVE_MENTION, json.dumps(call.params, ensure_ascii=False))
    return found


def sign(secret: str, body: str, timestamp: str | None = None) -> dict[str, str]:
    """Slack's request signature headers for `body`."""
    timestamp = timestamp if timestamp is not None else str(int(time.time()))
    signature = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body)
    return {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": signature or ""}


def event_body(event: dict[str, Any], *, event_id: str, team: str = "T1") -> dict[str, Any]:
    return {
        "token": "legacy-unused",
        "team_id": team,
        "api_app_id": "A1",
        "type": "event_callback",
        "event_id": event_id,
        "event_time": 1_700_000_000,
        "authorizations": [{"team_id": team, "user_id": "UBOT", "is_bot": True}],
        "event": event,
    }


def message(text: str, *, ts: str, channel: str = "C1", user: str = "U1", kind: str = "message", **extra: Any):
    return {"type": kind, "channel": channel, "user": user, "text": text, "ts": ts, "channel_type": "channel", **extra}


@dataclass
class SlackWorld:
    """The app served over real HTTP on 127.0.0.1, the fake Slack it talks to, the site it reads, the real core."""

    fake: FakeSlack
    site: LocalServer
    service: Service
    runtime: SlackRuntime
    base: str
    http: aiohttp.ClientSession
    secret: str = "test-signing-secret"

    @property
    def bot(self) -> SlackBot:
        return self.runtime.bot

    async def post(
        self, body: str, *, content_type: str, headers: dict[str, str] | None = None, path: str = "/slack/events"
    ) -> tuple[int, str]:
        sent = {"Content-Type": content_type, **(headers if headers is not None else sign(self.secret, body))}
        async with self.http.post(self.base + path, data=body.encode(), headers=sent) as response:
            return response.status, await response.text()

    async def event(self, event: dict[str, Any], *, event_id: str, retry: int | None = None, team: str = "T1"):
        """Deliver an Events API callback, signed; `retry` sets X-Slack-Retry-Num like Slack's redeliveries."""
        body = json.dumps(event_body(event, event_id=event_id, team=team))
        headers = sign(self.secret, body)
        if retry is not None:
            headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
        return await self.post(body, content_type="application/json", headers=headers)

    async def command(self, text: str, *, channel: str = "C1", user: str = "U1") -> tuple[int, str]:
        fields = {
            "token": "legacy-unused",
            "team_id": "T1",
            "channel_id": channel,
            "user_id": user,
            "command": "/brief",
            "text": text,
            "response_url": f"{self.fake.url}/respond/cmd",
            "trigger_id": "trigger-1",
            "api_app_id": "A1",
        }
        return await self.post(urlencode(fields), content_type="application/x-www-form-urlencoded")

    async def shortcut(self, msg: dict[str, Any], *, channel: str = "C1", user: str = "U1") -> tuple[int, str]:
        payload = {
            "type": "message_action",
            "callback_id": "brief_this",
            "trigger_id": "trigger-2",
            "team": {"id": "T1", "domain": "test"},
            "channel": {"id": channel, "name": "general"},
            "user": {"id": user, "team_id": "T1"},
            "message": msg,
            "response_url": f"{self.fake.url}/respond/shortcut",
            "api_app_id": "A1",
            "token": "legacy-unused",
        }
        body = urlencode({"payload": json.dumps(payload)})
        return await self.post(body, content_type="application/x-www-form-urlencoded")


def hermetic_fetcher(site: LocalServer) -> SafeFetcher:
    """The real fetcher, reaching `news.example` (and nothing else) on the local site; no DNS, no outside packets."""
    return SafeFetcher(
        FetchPolicy(allow_networks=(ipaddress.ip_network("127.0.0.1/32"),)),
        resolver=StubResolver({"news.example": ["127.0.0.1"]}),
        connector=LoopbackConnector({80: site.port}),
    )


@asynccontextmanager
async def slack_world(
    store: Store,
    *,
    briefer: Briefer | None = None,
    config: dict[str, Any] | None = None,
    digest: DigestFn | None = None,
) -> AsyncIterator[SlackWorld]:
    """Everything a Slack test needs, torn down in order; fails the test if the bot recorded a bug."""
    async with FakeSlack() as fake, AsyncExitStack() as stack:
        site = LocalServer()
        await site.start()
        stack.push_async_callback(site.close)
        site.routes["/night-bus"] = Reply(body=page("Millbrook approves night bus pilot &amp; new routes", NIGHT_BUS))
        site.routes["/library"] = Reply(body=page("Eastgate library reopens", LIBRARY))
        site.routes["/feed.xml"] = Reply(headers=FEED_HEADERS, body=FEED_XML)
        fetcher = await stack.enter_async_context(hermetic_fetcher(site))
        service = Service(store=store, fetcher=fetcher, briefer=briefer or ExtractiveBriefer())
        settings = {
            "mode": "http",
            "bot_token": "xoxb-test",
            "signing_secret": SlackWorld.secret,
            "api_url": fake.api_url,
            **(config or {}),
        }
        runtime = build_slack(SlackConfig(**settings), service, digest=digest)
        stack.push_async_callback(runtime.aclose)
        port = await stack.enter_async_context(serve_http(runtime, "127.0.0.1", 0))
        http = await stack.enter_async_context(aiohttp.ClientSession())
        world = SlackWorld(fake, site, service, runtime, f"http://127.0.0.1:{port}", http)
        yield world
        await runtime.bot.drain()
        assert not runtime.bot.failures, runtime.bot.failures
