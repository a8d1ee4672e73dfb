"""Which IP addresses briefbot may connect to, and a network backend that connects only to vetted ones.

Checking a URL string is not enough to stop server-side request forgery (reliability.md, section 1): a host name can
resolve to a private address, `2130706433` and `0x7f.1` are 127.0.0.1 to `inet_aton`, and IPv6 can carry an IPv4
address inside it (IPv4-mapped, IPv4-compatible, 6to4, Teredo, NAT64) that Python's `ipaddress` judges by the
wrapper, not by what it reaches. So:

1. `parse_ip_host` recognises every numeric host form (`inet_aton` semantics) before any resolver sees it;
2. `blocked_reason` classifies an address *and every IPv4 address embedded in it* against an explicit deny list and
   `is_global`, with an operator allow list that never opens the cloud metadata addresses;
3. `PinnedBackend` is the httpcore network backend: it connects only to the addresses vetted for the current request
   (`pin`), so a second DNS answer (rebinding) can never be used, while httpcore keeps the host name for the Host
   header, SNI and certificate verification.
"""

from __future__ import annotations

import asyncio
import contextvars
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from types import MappingProxyType

import httpcore

__all__ = [
    "DENIED_NETWORKS",
    "METADATA_ADDRESSES",
    "IPAddress",
    "IPNetwork",
    "PinnedBackend",
    "Resolver",
    "UnpinnedConnectionError",
    "blocked_reason",
    "embedded_ipv4",
    "parse_ip_host",
    "pin",
    "system_resolver",
    "to_address",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: An async resolver: host name -> the address strings of all its A and AAAA records. Raising `OSError` (e.g.
#: `socket.gaierror`) or returning nothing means the name does not exist.
Resolver = Callable[[str], Awaitable[Sequence[str]]]

_net = ipaddress.ip_network

#: Never connected to, whatever `is_global` says (reliability.md lists these).
DENIED_NETWORKS: tuple[IPNetwork, ...] = tuple(
    _net(cidr)
    for cidr in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",  # carrier-grade NAT
        "127.0.0.0/8",
        "169.254.0.0/16",  # link-local, cloud metadata
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",  # 6to4 relay anycast
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/128",
        "::1/128",
        "fe80::/10",
        "fc00::/7",
        "ff00::/8",
        "2001:db8::/32",
        "100::/64",
        # RFC 8215 local-use NAT64: the operator picks where the IPv4 address sits, so it cannot be unwrapped
        # reliably; it is never globally reachable anyway.
        "64:ff9b:1::/48",
    )
)

#: Cloud metadata endpoints: blocked even when the operator allows their networks (`fetch_allow`), because
#: reaching them hands out the host's credentials. 169.254.170.2 is the AWS ECS task-credentials endpoint.
METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200", "169.254.170.2")
)

_IPV4_COMPATIBLE = _net("::/96")
_NAT64_NETWORKS = (_net("64:ff9b::/96"), _net("64:ff9b:1::/48"))

# A host whose last label is a number is an IPv4 address to WHATWG URL parsers and to inet_aton, in any of these
# per-part forms: decimal, octal (leading 0) or hex (0x).
_NUMERIC_PART = re.compile(r"^(?:0x[0-9a-f]*|[0-9]+)$", re.IGNORECASE)


def _strip_scope(address: IPAddress) -> IPAddress:
    """Drop an IPv6 zone (`fe80::1%eth0`): zones would otherwise make equality checks against the lists miss."""
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id:
        return ipaddress.IPv6Address(int(address))
    return address


def to_address(text: str) -> IPAddress:
    """Parse a canonical address string (as a resolver returns it), dropping any IPv6 zone; ValueError if invalid."""
    return _strip_scope(ipaddress.ip_address(text))


def _parse_numeric_part(part: str) -> int:
    if part[:2].lower() == "0x":
        return int(part[2:] or "0", 16)
    if len(part) > 1 and part.startswith("0"):
        return int(part, 8)  # raises ValueError on 8 or 9, as inet_aton refuses them
    return int(part)


def _parse_legacy_ipv4(host: str) -> ipaddress.IPv4Address:
    """`inet_aton` semantics: 1 to 4 parts, the last one filling the remaining bytes (`127.1`, `2130706433`)."""
    parts = host.split(".")
    if len(parts) > 4 or not all(_NUMERIC_PART.match(p) for p in parts):
        raise ValueError(f"not an IPv4 address: {host!r}")
    values = [_parse_numeric_part(p) for p in parts]
    *head, last = values
    if any(v > 0xFF for v in head) or last >= 256 ** (5 - len(values)):
        raise ValueError(f"IPv4 address out of range: {host!r}")
    number = last
    for index, value in enumerate(head):
        number |= value << (8 * (3 - index))
    return ipaddress.IPv4Address(number)


def parse_ip_host(host: str) -> IPAddress | None:
    """The address a URL host denotes literally, or None when it is a name to resolve.

    Accepts `[v6]` with or without brackets and every numeric IPv4 form `inet_aton` accepts (`2130706433`, `0x7f.1`,
    `0177.0.0.1`, `127.1`). Raises `ValueError` for hosts that look numeric but are not valid addresses
    (`1.2.3.4.5`, `08.1`), since resolvers disagree on what those mean.
    """
    host = host.strip().rstrip(".")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if ":" in host:
        address = ipaddress.IPv6Address(host)
        if address.scope_id:
            raise ValueError("IPv6 zone identifiers are not allowed")
        return address
    last_label = host.rsplit(".", 1)[-1]
    if not _NUMERIC_PART.match(last_label):
        return None
    return _parse_legacy_ipv4(host)


def embedded_ipv4(address: IPAddress) -> list[ipaddress.IPv4Address]:
    """Every IPv4 address an IPv6 address carries: IPv4-mapped, IPv4-compatible, 6to4, Teredo (server and
    bit-inverted client) and NAT64. Empty for IPv4 addresses and plain IPv6 ones."""
    if isinstance(address, ipaddress.IPv4Address):
        return []
    found: list[ipaddress.IPv4Address] = []
    low32 = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    if address in _IPV4_COMPATIBLE or any(address in net for net in _NAT64_NETWORKS):
        found.append(low32)
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)  # ipaddress already un-inverts the client bits
    return found


def blocked_reason(
    address: IPAddress,
    *,
    allow_networks: Iterable[IPNetwork] = (),
    host_allowed: bool = False,
) -> str | None:
    """Why briefbot must not connect to `address`, or None when it may.

    The address and each IPv4 address embedded in it are judged separately and all must pass: a metadata address is
    always refused; otherwise a view passes when the operator allows it (`allow_networks`, or the whole host by name
    with `host_allowed`) or when it is outside `DENIED_NETWORKS` and `is_global`.
    """
    address = _strip_scope(address)
    views: list[IPAddress] = [address, *embedded_ipv4(address)]
    for view in views:
        if view in METADATA_ADDRESSES:
            return f"{view} is a cloud metadata address"
    if host_allowed:
        return None
    allowed = tuple(allow_networks)
    for view in views:
        if any(view.version == net.version and view in net for net in allowed):
            continue
        for net in DENIED_NETWORKS:
            if view.version == net.version and view in net:
                return f"{view} is in the denied network {net}"
        if not view.is_global:
            return f"{view} is not a global address"
    return None


async def system_resolver(host: str) -> list[str]:
    """All A and AAAA addresses of `host`, via the event loop's `getaddrinfo` (run in a thread, never blocking)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


# --- connection pinning ------------------------------------------------------------------------------------------

# host -> vetted addresses, for the request being sent by the current task only. A context variable (rather than a
# shared dict) means concurrent fetches can never see, or leave behind, each other's pins.
_PINS: contextvars.ContextVar[Mapping[str, tuple[str, ...]]] = contextvars.ContextVar(
    "briefbot_pinned_addresses", default=MappingProxyType({})
)


def _host_key(host: str) -> str:
    return host.strip("[]").lower()


@contextmanager
def pin(host: str, addresses: Sequence[str]) -> Iterator[None]:
    """Within this block (and this task), connections to `host` go only to `addresses`, which must be vetted."""
    token = _PINS.set(MappingProxyType({_host_key(host): tuple(addresses)}))
    try:
        yield
    finally:
        _PINS.reset(token)


class UnpinnedConnectionError(httpcore.ConnectError):
    """httpcore asked for a connection to a host nobody vetted: refused (a bug, never a network request)."""


class PinnedBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that connects only to the addresses pinned for the requested host.

    httpcore calls `connect_tcp(host, port)` with the URL's host name and afterwards runs TLS with that name as
    `server_hostname`; we swap only the TCP destination, so Host, SNI and certificate checks keep the name. `inner`
    makes the actual connection (tests pass a recording, loopback-only one).
    """

    def __init__(self, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self._inner = inner if inner is not None else httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = _PINS.get().get(_host_key(host))
        if not addresses:
            raise UnpinnedConnectionError(f"refusing a connection to unvetted host {host!r}")
        last_error: Exception | None = None
        for address in addresses:  # every one of them was vetted; try the next if one is unreachable
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        assert last_error is not None
        raise last_error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("briefbot never connects to unix sockets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)
