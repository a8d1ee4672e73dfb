"""What the safe fetcher may reach and how much it may read (`FetchPolicy`), and what it returns (`FetchResult`)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from bot.config import Settings
from bot.errors import ConfigError, SourceError
from bot.ingest import netguard
from bot.ingest.content import Kind
from bot.ingest.urls import normalize_url


@dataclass(frozen=True, slots=True)
class FetchPolicy:
    """What the fetcher may reach, and how long and how much it may read. Defaults mirror `Settings`."""

    allow_networks: tuple[netguard.IPNetwork, ...] = ()
    allow_hosts: frozenset[str] = frozenset()
    extra_ports: frozenset[int] = frozenset()
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    total_timeout: float = 15.0
    article_max_bytes: int = 2_000_000
    feed_max_bytes: int = 5_000_000
    max_redirects: int = 3
    user_agent: str = "briefbot/0.1 (+https://github.com/briefbot/briefbot)"
    # One URL pasted by many people within a minute is fetched once; the cache is bounded in entries and bytes.
    cache_ttl: float = 60.0
    cache_max_entries: int = 128
    cache_max_bytes: int = 32_000_000

    @classmethod
    def from_settings(cls, settings: Settings) -> FetchPolicy:
        """The policy for `settings`. `fetch_allow` entries are CIDRs or host names; a bad one is a ConfigError."""
        networks: list[netguard.IPNetwork] = []
        hosts: set[str] = set()
        for entry in settings.fetch_allow:
            try:
                networks.append(ipaddress.ip_network(entry.strip(), strict=False))
                continue
            except ValueError:
                pass
            hosts.add(_allowed_host_name(entry.strip()))
        return cls(
            allow_networks=tuple(networks),
            allow_hosts=frozenset(hosts),
            extra_ports=frozenset(settings.fetch_extra_ports),
            connect_timeout=settings.fetch_connect_timeout,
            read_timeout=settings.fetch_read_timeout,
            total_timeout=settings.fetch_total_timeout,
            article_max_bytes=settings.fetch_max_bytes,
            feed_max_bytes=settings.feed_max_bytes,
            max_redirects=settings.fetch_max_redirects,
            user_agent=settings.fetch_user_agent,
        )

    @property
    def allowed_ports(self) -> frozenset[int]:
        """80 and 443 plus the configured extras."""
        return frozenset({80, 443}) | self.extra_ports

    def max_bytes(self, kind: Kind) -> int:
        """The decoded-body cap for this kind of fetch."""
        return self.feed_max_bytes if kind == "feed" else self.article_max_bytes


def _allowed_host_name(entry: str) -> str:
    """A `fetch_allow` host name in normalized form (IDNA, lower case); ConfigError for anything else."""
    problem = ConfigError(f"BRIEFBOT_FETCH_ALLOW: {entry!r} is neither a network (CIDR) nor a host name")
    if not entry or any(char in entry for char in "/:@?#[]"):
        raise problem
    try:
        host = urlsplit(normalize_url(f"http://{entry}/")).hostname or ""
        numeric = netguard.parse_ip_host(host) is not None
    except (SourceError, ValueError):
        raise problem from None
    if not host or numeric:
        raise problem
    return host


@dataclass(frozen=True, slots=True)
class FetchResult:
    """One fetched resource. `body` is decoded content (no gzip/deflate left); empty when `not_modified`."""

    url: str
    final_url: str
    status: int
    content_type: str | None
    charset: str | None
    headers: dict[str, str]
    body: bytes
    not_modified: bool = False
    elapsed: float = 0.0
