"""SSRF-safe fetching of the links users paste and the feeds they subscribe to (reliability.md, section 1).

Each request, and each redirect hop, passes the same gate before any connection is made:

1. the URL: http/https only, port 80/443 or a configured extra one, no `user:pass@` (`SafeFetcher._vet`);
2. the addresses: a numeric host is parsed as `inet_aton` would, a name is resolved once, and every A/AAAA address
   is classified by `netguard.blocked_reason`; one bad address refuses the hop (never "pick the good one");
3. the connection: `netguard.PinnedBackend` connects only to the addresses just vetted, while httpcore keeps the
   host name for Host, SNI and certificate checks.

Then the limits: one wall-clock deadline across all hops (slow-drip servers), the content type judged from the
headers before the body is read, `Content-Length` checked first, and the body capped on *decoded* bytes by a decoder
that inflates in bounded steps (gzip bombs, `gzip, gzip`). Concurrent fetches of one URL share one request, and
successful results are cached briefly.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import ssl
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from types import TracebackType
from typing import Self
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from bot.errors import BlockedURLError, FetchError, SourceError
from bot.ingest import netguard
from bot.ingest.content import (
    SNIFF_BYTES,
    BodyDecoder,
    Kind,
    check_sniffed,
    http_error,
    media_type,
    needs_sniff,
    too_large,
)
from bot.ingest.fetch_policy import FetchPolicy, FetchResult
from bot.ingest.urls import normalize_url, unwrap_slack_link, url_hash

__all__ = ["BLOCKED_MESSAGE", "FetchPolicy", "FetchResult", "Kind", "SafeFetcher"]

log = logging.getLogger(__name__)

CacheKey = tuple[str, str, tuple[tuple[str, str], ...]]

BLOCKED_MESSAGE = "That link points to a private or local address, which briefbot does not fetch."
_DEFAULT_PORTS = {"http": 80, "https": 443}
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CONDITIONAL = frozenset({"if-none-match", "if-modified-since"})
# Caller headers refused: credentials and cookies, and what the fetcher itself must control.
_FORBIDDEN_HEADERS = frozenset(
    "authorization proxy-authorization cookie host user-agent accept-encoding connection content-length "
    "transfer-encoding te upgrade referer".split()
)
_ACCEPT: dict[str, str] = {
    "article": "text/html,application/xhtml+xml;q=0.9,text/plain;q=0.8",
    "feed": "application/rss+xml,application/atom+xml,application/feed+json,application/xml;q=0.9,"
    "text/xml;q=0.9,application/json;q=0.8,text/html;q=0.5",
}


def _seconds(value: float) -> str:
    return f"{value:g} s"


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    current: BaseException | None = exc
    for _ in range(10):  # cause chains are short; bound the walk anyway
        if current is None:
            return False
        if isinstance(current, kind):
            return True
        current = current.__cause__ or current.__context__
    return False


# --- the fetcher -------------------------------------------------------------------------------------------------


class _ResultCache:
    """A TTL cache of successful results, bounded in entries and body bytes (least recently used go first)."""

    def __init__(self, policy: FetchPolicy, clock: Callable[[], float]) -> None:
        self._policy, self._clock = policy, clock
        self._entries: OrderedDict[CacheKey, tuple[float, FetchResult]] = OrderedDict()
        self._bytes = 0

    def get(self, key: CacheKey) -> FetchResult | None:
        entry = self._entries.get(key)
        if entry is not None and entry[0] <= self._clock():
            self._drop(key)
            return None
        if entry is not None:
            self._entries.move_to_end(key)
        return entry[1] if entry else None

    def put(self, key: CacheKey, result: FetchResult) -> None:
        policy = self._policy
        if policy.cache_ttl <= 0 or len(result.body) > policy.cache_max_bytes // 4:
            return
        if key in self._entries:
            self._drop(key)
        self._entries[key] = (self._clock() + policy.cache_ttl, result)
        self._bytes += len(result.body)
        while len(self._entries) > policy.cache_max_entries or self._bytes > policy.cache_max_bytes:
            self._drop(next(iter(self._entries)))

    def _drop(self, key: CacheKey) -> None:
        self._bytes -= len(self._entries.pop(key)[1].body)


class _PinnedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over a connection pool whose network backend is `netguard.PinnedBackend`.

    httpx offers no public hook for httpcore's `network_backend`, so the pool the parent builds is replaced; the
    parent's request conversion and exception mapping stay. No proxies from the environment (they would bypass
    pinning), HTTP/1.1 only, no retries.
    """

    def __init__(self, backend: httpcore.AsyncNetworkBackend, ssl_context: ssl.SSLContext) -> None:
        super().__init__(verify=ssl_context, trust_env=False, http1=True, http2=False, retries=0)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=50,
            max_keepalive_connections=10,
            keepalive_expiry=5.0,
            http1=True,
            http2=False,
            retries=0,
            network_backend=backend,
        )


@functools.cache
def _default_ssl_context() -> ssl.SSLContext:
    """certifi's CA bundle with hostname checks, loaded once per process (loading it takes ~0.1 s)."""
    return httpx.create_ssl_context()


def _clean_headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    cleaned = {name.strip().lower(): value for name, value in (headers or {}).items()}
    forbidden = sorted(cleaned.keys() & _FORBIDDEN_HEADERS)
    if forbidden:
        raise ValueError(f"SafeFetcher.fetch() does not send caller-supplied headers: {', '.join(forbidden)}")
    return cleaned


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme, parts.hostname or "", parts.port or _DEFAULT_PORTS.get(parts.scheme)


class SafeFetcher:
    """Fetches untrusted URLs under a `FetchPolicy` (rules in the module docstring). Use as `async with`.

    `resolver` maps a host name to its addresses (default: `getaddrinfo` in a worker thread); `connector` is the
    httpcore network backend that opens TCP connections to vetted addresses (default: httpcore's anyio backend);
    `ssl_context` replaces the default certifi-based one; `clock` drives the result cache.
    """

    def __init__(
        self,
        policy: FetchPolicy,
        *,
        resolver: netguard.Resolver | None = None,
        connector: httpcore.AsyncNetworkBackend | None = None,
        ssl_context: ssl.SSLContext | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._policy = policy
        self._resolver = resolver or netguard.system_resolver
        context = ssl_context or _default_ssl_context()
        self._transport = _PinnedTransport(netguard.PinnedBackend(connector), context)
        connect, read = policy.connect_timeout, policy.read_timeout
        self._timeouts = {"connect": connect, "read": read, "write": read, "pool": connect}
        self._cache = _ResultCache(policy, clock)
        self._inflight: dict[CacheKey, asyncio.Task[FetchResult]] = {}

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Cancel fetches still in flight and close pooled connections."""
        tasks = list(self._inflight.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._transport.aclose()

    async def fetch(self, url: str, *, kind: Kind = "article", headers: Mapping[str, str] | None = None) -> FetchResult:
        """GET `url` under the policy and return its decoded body.

        `headers` may add e.g. `If-None-Match`/`If-Modified-Since` (a 304 then gives `not_modified=True`), never
        credentials or cookies (ValueError). Concurrent calls for the same normalized URL, kind and headers share one
        request and its outcome. Raises `BlockedURLError`, `TooLargeError`, `UnsupportedContentError` or
        `FetchError` with a message for the user, or `SourceError` when `url` is not a web address at all.
        """
        if kind not in _ACCEPT:
            raise ValueError(f"unknown fetch kind {kind!r}")
        target = self._prepare(url)
        extra = _clean_headers(headers)
        key: CacheKey = (target, kind, tuple(sorted(extra.items())))
        result = self._cache.get(key)
        if result is None:
            task = self._inflight.get(key)
            if task is None:
                task = asyncio.create_task(self._fetch_and_cache(key, target, kind, extra))
                self._inflight[key] = task
                task.add_done_callback(lambda done: self._forget(key, done))
            # shield: a caller that gives up must not cancel the request the other callers are waiting for.
            result = await asyncio.shield(task)
        return dataclasses.replace(result, headers=dict(result.headers))  # callers never share a mutable dict

    def _forget(self, key: CacheKey, task: asyncio.Task[FetchResult]) -> None:
        if self._inflight.get(key) is task:
            del self._inflight[key]
        if not task.cancelled():
            task.exception()  # mark it retrieved: every waiter may have gone away

    @staticmethod
    def _prepare(url: str) -> str:
        """Refuse other schemes and credentials as blocked (normalizing alone would call them malformed)."""
        text = unwrap_slack_link(url)
        try:
            parts = urlsplit(text)
        except ValueError:
            return normalize_url(text)  # raises SourceError with the reason
        if parts.scheme and parts.scheme.lower() not in _DEFAULT_PORTS:
            raise BlockedURLError("briefbot only fetches web links (http:// and https://).")
        if "@" in parts.netloc:
            raise BlockedURLError("That link contains a user name or password; briefbot does not send credentials.")
        return normalize_url(text)

    async def _fetch_and_cache(self, key: CacheKey, url: str, kind: Kind, headers: dict[str, str]) -> FetchResult:
        started = time.monotonic()
        host, digest = urlsplit(url).hostname, url_hash(url)[:12]  # never log paths or queries: they carry tokens
        try:
            async with asyncio.timeout(self._policy.total_timeout):
                result = await self._follow(url, kind, headers, started)
        except TimeoutError:
            log.info("fetch timed out host=%s url_hash=%s", host, digest)
            raise FetchError(f"The site took too long to answer ({_seconds(self._policy.total_timeout)}).") from None
        self._cache.put(key, result)
        log.info(
            "fetched host=%s url_hash=%s kind=%s status=%s bytes=%d elapsed=%.3f",
            host,
            digest,
            kind,
            result.status,
            len(result.body),
            result.elapsed,
        )
        return result

    async def _follow(self, url: str, kind: Kind, headers: dict[str, str], started: float) -> FetchResult:
        current, hop_headers = url, headers
        for hop in range(self._policy.max_redirects + 1):
            host, addresses = await self._vet(current)
            response = await self._send(current, host, addresses, kind, hop_headers)
            try:
                location = response.headers.get("location")
                if response.status_code not in _REDIRECTS or not location:
                    conditional = bool(hop_headers.keys() & _CONDITIONAL)
                    return await self._finish(url, current, response, kind, conditional, started)
                if hop == self._policy.max_redirects:
                    raise FetchError(
                        f"The link redirects more than {self._policy.max_redirects} times; briefbot stopped."
                    )
                target = self._redirect_target(current, location)
                if _origin(target) != _origin(current):
                    hop_headers = {}  # nothing the caller supplied is sent to another site
                current = target
            finally:
                await response.aclose()  # redirect bodies are never read
        raise AssertionError("unreachable: the last hop returns or raises")

    @staticmethod
    def _redirect_target(current: str, location: str) -> str:
        target = urljoin(current, location.strip())
        parts = urlsplit(target)
        if parts.scheme.lower() not in _DEFAULT_PORTS:
            raise BlockedURLError("That link redirects to something other than a web page; briefbot stopped.")
        if "@" in parts.netloc:
            raise BlockedURLError("That link redirects to an address with a password; briefbot stopped.")
        try:
            return normalize_url(target)
        except SourceError:
            raise FetchError("The site redirected to an invalid address.") from None

    async def _vet(self, url: str) -> tuple[str, tuple[str, ...]]:
        """Check one hop's URL and every address of its host; return the host and the addresses to pin."""
        parts = urlsplit(url)  # `url` is normalized: scheme and host lower-case, no credentials
        port = parts.port or _DEFAULT_PORTS[parts.scheme]
        if port not in self._policy.allowed_ports:
            raise BlockedURLError(f"briefbot does not fetch links on port {port}; only the usual web ports.")
        host = parts.hostname or ""
        try:
            literal = netguard.parse_ip_host(host)
        except ValueError:
            raise BlockedURLError("That link uses an unusual numeric address, which briefbot does not fetch.") from None
        addresses = [literal] if literal is not None else await self._resolve(host)
        host_allowed = literal is None and host in self._policy.allow_hosts
        for address in addresses:
            reason = netguard.blocked_reason(
                address, allow_networks=self._policy.allow_networks, host_allowed=host_allowed
            )
            if reason is not None:
                log.warning("blocked fetch host=%s reason=%s", host, reason)
                raise BlockedURLError(BLOCKED_MESSAGE)
        return host, tuple(str(a) for a in addresses)

    async def _resolve(self, host: str) -> list[netguard.IPAddress]:
        try:
            addresses = list(dict.fromkeys(netguard.to_address(a) for a in await self._resolver(host)))
        except (OSError, ValueError):
            addresses = []
        if not addresses:
            raise FetchError(f"Could not find the site {host}.")
        return addresses

    async def _send(
        self, url: str, host: str, addresses: tuple[str, ...], kind: Kind, extra: dict[str, str]
    ) -> httpx.Response:
        headers = {
            "User-Agent": self._policy.user_agent,
            "Accept": _ACCEPT[kind],
            "Accept-Encoding": "gzip, deflate",  # exactly what BodyDecoder undoes
            **extra,
        }
        try:
            request = httpx.Request("GET", url, headers=headers, extensions={"timeout": self._timeouts})
        except httpx.InvalidURL:
            raise FetchError("That link is not a valid web address.") from None
        with netguard.pin(request.url.raw_host.decode("ascii"), addresses), self._transport_errors(host):
            return await self._transport.handle_async_request(request)

    @contextmanager
    def _transport_errors(self, host: str) -> Iterator[None]:
        """Turn httpx transport failures into messages a user can act on."""
        policy = self._policy
        try:
            yield
        except httpx.ConnectTimeout as exc:
            raise FetchError(f"{host} did not accept a connection within {_seconds(policy.connect_timeout)}.") from exc
        except httpx.TimeoutException as exc:
            raise FetchError(f"The site stopped answering (nothing for {_seconds(policy.read_timeout)}).") from exc
        except httpx.ConnectError as exc:
            if _caused_by(exc, netguard.UnpinnedConnectionError):
                raise BlockedURLError(BLOCKED_MESSAGE) from exc
            if _caused_by(exc, ssl.SSLCertVerificationError):
                raise FetchError(f"The security certificate of {host} could not be verified.") from exc
            if _caused_by(exc, ssl.SSLError):
                raise FetchError(f"A secure connection to {host} could not be set up.") from exc
            raise FetchError(f"Could not connect to {host}.") from exc
        except httpx.TransportError as exc:
            raise FetchError(f"The connection to {host} failed while reading the page.") from exc

    async def _finish(
        self, url: str, final_url: str, response: httpx.Response, kind: Kind, conditional: bool, started: float
    ) -> FetchResult:
        """Judge status, type and size from the headers; only then stream the body under the cap."""
        status, host = response.status_code, urlsplit(final_url).hostname or ""
        media, charset = media_type(response.headers.get("content-type"))
        body = b""
        if status == 304 and conditional:
            media = charset = None
        elif not 200 <= status < 300:
            raise http_error(status, host)
        else:
            limit = self._policy.max_bytes(kind)
            sniff = needs_sniff(media, kind)
            length = response.headers.get("content-length", "").strip()
            if length.isdigit() and int(length) > limit:
                raise too_large(kind, limit)
            with self._transport_errors(host):
                body, sniffed = await self._read_body(response, limit, kind, sniff)
            media = sniffed or media
        return FetchResult(
            url=url,
            final_url=final_url,
            status=status,
            content_type=media,
            charset=charset,
            headers={k: v for k, v in response.headers.items() if k != "set-cookie"},
            body=body,
            not_modified=status == 304,
            elapsed=time.monotonic() - started,
        )

    @staticmethod
    async def _read_body(response: httpx.Response, limit: int, kind: Kind, sniff: bool) -> tuple[bytes, str | None]:
        """Stream raw bytes, decode in bounded steps, stop once raw or decoded size passes `limit`; sniff the type
        from the first decoded bytes when asked. Returns the body and the sniffed type (None if not sniffed)."""
        decoder = BodyDecoder(response.headers.get("content-encoding"))
        chunks: list[bytes] = []
        raw_size = size = 0
        sniffed: str | None = None
        async for raw in response.aiter_raw():
            raw_size += len(raw)
            if raw_size > limit:
                raise too_large(kind, limit)
            for chunk in decoder.feed(raw):
                size += len(chunk)
                if size > limit:
                    raise too_large(kind, limit)
                chunks.append(chunk)
            if sniff and sniffed is None and size >= SNIFF_BYTES:
                sniffed = check_sniffed(b"".join(chunks)[:SNIFF_BYTES], kind)
        body = b"".join(chunks)
        if sniff and sniffed is None:
            sniffed = check_sniffed(body[:SNIFF_BYTES], kind)
        return body, sniffed
