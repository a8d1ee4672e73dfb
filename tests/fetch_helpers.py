"""Hermetic stand-ins for the network in the fetcher tests.

- `StubResolver` answers from a table; nothing reaches DNS.
- `LoopbackConnector` is the httpcore network backend given to `SafeFetcher`: it records every connection attempt
  and connects only to 127.0.0.1 on ports it was told about; any other target raises instead of connecting, so a
  fetcher that fails to block 10.0.0.1 fails an assertion rather than sending a packet.
- `TLSProbeConnector` records the TLS server name httpcore asks for, without any socket at all.
- `LocalServer` is a tiny HTTP/1.1 server on 127.0.0.1 (port 0) whose replies the tests script, optionally over TLS
  with a throwaway self-signed certificate (`self_signed_tls`).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import ipaddress
import shutil
import socket
import ssl
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any

import httpcore


class StubResolver:
    """Maps host names to address strings and records every query."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.queries: list[str] = []

    async def __call__(self, host: str) -> list[str]:
        self.queries.append(host)
        if host not in self.table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return list(self.table[host])


class LoopbackConnector(httpcore.AsyncNetworkBackend):
    """Records (host, port) of every attempt; connects only loopback targets on mapped ports, to 127.0.0.1."""

    def __init__(self, ports: dict[int, int]) -> None:
        self.ports = ports
        self.attempts: list[tuple[str, int]] = []
        self._real = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.attempts.append((host, port))
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            raise httpcore.ConnectError(f"test connector: {host!r} is a name, not a vetted address") from None
        if not address.is_loopback or port not in self.ports:
            raise httpcore.ConnectError(f"test connector refuses {host} port {port}")
        return await self._real.connect_tcp("127.0.0.1", self.ports[port], timeout=timeout)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class _ProbeStream(httpcore.AsyncNetworkStream):
    def __init__(self, probe: TLSProbeConnector) -> None:
        self._probe = probe

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> httpcore.AsyncNetworkStream:
        self._probe.tls.append((server_hostname, ssl_context))
        try:
            raise ssl.SSLCertVerificationError("test probe: no certificate offered")
        except ssl.SSLError as exc:  # shaped like httpcore's anyio backend reports TLS failures
            raise httpcore.ConnectError(str(exc)) from exc

    async def aclose(self) -> None:
        return None


class TLSProbeConnector(httpcore.AsyncNetworkBackend):
    """Pretends to connect (no socket) and records the TLS `server_hostname` and context httpcore uses."""

    def __init__(self) -> None:
        self.attempts: list[tuple[str, int]] = []
        self.tls: list[tuple[str | None, ssl.SSLContext]] = []

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.attempts.append((host, port))
        return _ProbeStream(self)


@dataclass
class Seen:
    """One request the server received."""

    method: str
    target: str
    headers: dict[str, str]


@dataclass
class Reply:
    """A scripted response. `stream` sends a close-delimited body chunk by chunk; `hold` sends the headers and then
    nothing (a client that reads the body would wait for its deadline)."""

    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=lambda: [("Content-Type", "text/html; charset=utf-8")])
    body: bytes = b"<html><head><title>Hi</title></head><body><p>Hello, world.</p></body></html>"
    stream: Callable[[], AsyncIterator[bytes]] | None = None
    hold: bool = False


Handler = Reply | Callable[[Seen], Reply | Awaitable[Reply]]


class LocalServer:
    """An HTTP/1.1 server on 127.0.0.1 (ephemeral port), one request per connection, replies from `routes`."""

    def __init__(self) -> None:
        self.routes: dict[str, Handler] = {}
        self.requests: list[Seen] = []
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    async def start(self, tls: ssl.SSLContext | None = None) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=tls)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    def paths(self) -> list[str]:
        return [seen.target for seen in self.requests]

    async def _reply_for(self, seen: Seen) -> Reply:
        handler = self.routes.get(seen.target) or self.routes.get(seen.target.split("?")[0])
        if handler is None:
            return Reply(status=404, body=b"not here")
        if isinstance(handler, Reply):
            return handler
        reply = handler(seen)
        return await reply if inspect.isawaitable(reply) else reply

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            request_line, *lines = head.split("\r\n")
            method, target, _ = request_line.split(" ", 2)
            headers = {}
            for line in filter(None, lines):
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            seen = Seen(method, target, headers)
            self.requests.append(seen)
            reply = await self._reply_for(seen)
            out = [f"HTTP/1.1 {reply.status} {_reason(reply.status)}", "Connection: close", *_header_lines(reply)]
            writer.write(("\r\n".join(out) + "\r\n\r\n").encode("latin-1"))
            if reply.hold:
                await writer.drain()
                await asyncio.Event().wait()  # until the test ends
            elif reply.stream is not None:
                async for chunk in reply.stream():
                    writer.write(chunk)
                    await writer.drain()
            else:
                writer.write(reply.body)
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


def self_signed_tls(tmp_path: Path, name: str) -> tuple[ssl.SSLContext, ssl.SSLContext] | None:
    """(server context, client context trusting only this certificate) for `name`, or None without openssl."""
    openssl = shutil.which("openssl")
    if openssl is None:
        return None
    cert, key = tmp_path / f"{name}.crt", tmp_path / f"{name}.key"
    args = "req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1".split()
    args += ["-keyout", str(key), "-out", str(cert), "-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name}"]
    subprocess.run([openssl, *args], check=True, capture_output=True)
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert, key)
    client = ssl.create_default_context(cafile=str(cert))
    return server, client


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Status"


def _header_lines(reply: Reply) -> list[str]:
    lines = [f"{name}: {value}" for name, value in reply.headers]
    names = {name.lower() for name, _ in reply.headers}
    if reply.stream is None and not reply.hold and "content-length" not in names:
        lines.append(f"Content-Length: {len(reply.body)}")
    return lines
