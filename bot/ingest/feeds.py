"""Feeds: fetched through the SSRF-safe fetcher, checked, then parsed; and a site's feed found by autodiscovery.

A feed is a scheduled SSRF vector and a parser attack surface (reliability.md, section 1), so:

1. every request, the feed's and any page's used for discovery, goes through `SafeFetcher.fetch(kind="feed")`,
   conditional when validators are known (`If-None-Match`/`If-Modified-Since`; a 304 is `FeedPoll.not_modified`);
2. a body that declares entities (`<!ENTITY`, or a DOCTYPE with an internal subset) is refused before any parser
   sees it, both as received and as re-encoded by feedparser's own charset detection (UTF-16 or EBCDIC could
   otherwise hide the declaration);
3. feedparser only ever gets bytes (`io.BytesIO`): given a string it may open a local file or fetch a URL itself.
   JSON Feed, which feedparser 6.0 does not read, is parsed with `json`;
4. item links are resolved against the feed, normalized and kept only when http(s); they are fetched later, by the
   poller, through the same fetcher.

Anything that is not a feed raises `NotAFeedError` with a message for the user ("That address is not a feed (…)").
"""

from __future__ import annotations

import asyncio
import io
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any, Literal
from urllib.parse import urljoin

import feedparser
from feedparser.encodings import convert_to_utf8

from bot.errors import SourceError
from bot.ingest.fetch import FetchResult, SafeFetcher
from bot.ingest.urls import normalize_url

__all__ = [
    "FeedEntry",
    "FeedError",
    "FeedPoll",
    "NotAFeedError",
    "ParsedFeed",
    "UnsafeFeedError",
    "discover_feeds",
    "parse_feed",
    "poll_feed",
    "refuse_entities",
    "resolve_feed",
]

MAX_ENTRIES = 100  # feeds list newest first; more than this per poll is a firehose, not news
MAX_SUMMARY_CHARS = 1_000
DISCOVERY_BYTES = 512_000  # <link rel="alternate"> lives in <head>; never scan a huge page to its end
FEED_LINK_TYPES = frozenset(
    {"application/rss+xml", "application/atom+xml", "application/feed+json", "application/rdf+xml", "application/json"}
)
_ENTITY = re.compile(rb"<!\s*ENTITY", re.IGNORECASE)
_INTERNAL_SUBSET = re.compile(rb"<!\s*DOCTYPE[^>\[]*\[", re.IGNORECASE)
_COMMENT = re.compile(rb"<!--.*?-->", re.DOTALL)
_FIRST_TAG = re.compile(rb"<\s*(!doctype\s+)?([a-z][\w:.-]*)", re.IGNORECASE)
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
_BLOCKS = frozenset("p br div li ul ol h1 h2 h3 h4 h5 h6 blockquote tr td th section article".split())


class FeedError(SourceError):
    """A feed could not be read; the message says why, for the user."""

    kind = "feed"


class NotAFeedError(FeedError):
    """The address answered with something that is not an RSS, Atom or JSON feed."""

    kind = "not_a_feed"


class UnsafeFeedError(NotAFeedError):
    """The feed declares XML entities (billion laughs, external entities): refused before parsing."""

    kind = "unsafe_feed"


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One item. `key` identifies it within its feed (GUID, else link, else title); `link` is normalized http(s)."""

    key: str
    link: str | None
    title: str | None
    summary: str  # plain text, at most MAX_SUMMARY_CHARS
    content_html: str | None  # the full article when the feed carries it (used if the link cannot be fetched)
    published: datetime | None


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """A parsed feed. `format` is feedparser's version ("rss20", "atom10"...) or "json1"/"json1.1"."""

    format: str
    title: str | None
    site_url: str | None
    entries: tuple[FeedEntry, ...]
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FeedPoll:
    """The outcome of fetching a feed: `feed` is None when the server answered 304 Not Modified."""

    url: str  # where the feed was finally read (after redirects and autodiscovery)
    not_modified: bool
    etag: str | None
    last_modified: str | None
    feed: ParsedFeed | None


# --- checks ------------------------------------------------------------------------------------------------------


def refuse_entities(body: bytes, headers: dict[str, str] | None = None) -> None:
    """Raise `UnsafeFeedError` when the document declares entities, in any encoding feedparser would decode it with."""
    scratch: dict[str, Any] = {}
    try:
        # The exact bytes feedparser will parse: its charset detection re-encodes UTF-16/32 and EBCDIC to UTF-8.
        decoded = convert_to_utf8(dict(headers or {}), body, scratch)
    except Exception:  # a decoder failure must not skip the check on the raw bytes; feedparser reports it later
        decoded = b""
    for candidate in (body, decoded):
        if _ENTITY.search(candidate) or _INTERNAL_SUBSET.search(candidate):
            raise UnsafeFeedError(
                "That address is not a feed briefbot will read (it declares XML entities, which can be used to "
                "attack the parser)."
            )


def _body_kind(body: bytes) -> Literal["json", "xml", "html", "unknown"]:
    """What a body is, judged from its first element (many feeds are served as text/html or text/plain)."""
    head = body[:4096]
    for bom in _BOMS:
        head = head.removeprefix(bom)
    if b"\x00" in head[:4]:
        return "xml"  # UTF-16/32: in practice only XML is written that way
    stripped = head.lstrip()
    if stripped.startswith((b"{", b"[")):
        return "json"
    for match in _FIRST_TAG.finditer(_COMMENT.sub(b"", stripped)):
        doctype, name = match.group(1), match.group(2).lower()
        if name == b"html":
            return "html"
        if doctype:
            continue
        return "xml" if name in (b"rss", b"feed", b"rdf:rdf", b"channel") or b":" in name else "unknown"
    return "unknown"


# --- parsing -----------------------------------------------------------------------------------------------------


class _TextExtractor(HTMLParser):
    """Plain text of an HTML fragment (script and style dropped): for summaries and fingerprints."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in _BLOCKS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1
        elif tag in _BLOCKS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(fragment: str, limit: int = MAX_SUMMARY_CHARS) -> str:
    """The text of an HTML fragment, whitespace collapsed, cut at `limit` characters."""
    parser = _TextExtractor()
    parser.feed(fragment[: limit * 20])  # markup-heavy summaries: bound the parser's work, not just the output
    parser.close()
    return " ".join("".join(parser.parts).split())[:limit]


def _link(value: object, base: str) -> str | None:
    """An item link resolved against the feed and normalized; None unless it is a valid http(s) URL."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return normalize_url(urljoin(base, value.strip()))
    except (SourceError, ValueError):
        return None


def _struct_time(value: Any) -> datetime | None:
    try:
        return datetime(*value[:6], tzinfo=UTC) if value else None
    except (TypeError, ValueError):
        return None


def _iso_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _entry(
    key: str, link: str | None, title: object, summary: str, content: str | None, published: datetime | None
) -> FeedEntry:
    clean_title = " ".join(title.split())[:500] if isinstance(title, str) and title.strip() else None
    return FeedEntry(key[:2000], link, clean_title, summary, content, published)


def _parse_xml(body: bytes, url: str, content_type: str | None, charset: str | None) -> ParsedFeed:
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type + (f"; charset={charset}" if charset else "")
    refuse_entities(body, headers)
    parsed = feedparser.parse(io.BytesIO(body), response_headers=headers, sanitize_html=True)
    if not parsed.get("version"):
        raise NotAFeedError(f"That address is not a feed ({_xml_problem(parsed.get('bozo_exception'))}).")
    entries = []
    for item in parsed.entries[:MAX_ENTRIES]:
        link = _link(item.get("link"), url)
        key = item.get("id") or link or item.get("title")
        if not key:
            continue  # nothing to recognise the item by on the next poll
        content = next((c.get("value") for c in item.get("content") or [] if c.get("value")), None)
        summary = html_to_text(item.get("summary") or content or "")
        published = _struct_time(item.get("published_parsed") or item.get("updated_parsed"))
        entries.append(_entry(str(key), link, item.get("title"), summary, content, published))
    warnings: tuple[str, ...] = ()
    if parsed.get("bozo"):
        # Small errors (an unescaped "&") are common and the lenient parser recovers the items; a document from which
        # not one linked item could be recovered is broken, not a feed with a typo.
        if not any(entry.link for entry in entries):
            raise NotAFeedError(f"That address is not a feed ({_xml_problem(parsed.get('bozo_exception'))}).")
        warnings = ("The feed has XML errors; briefbot read what it could.",)
    feed = parsed.feed
    return ParsedFeed(
        format=parsed.version,
        title=" ".join(feed["title"].split()) if feed.get("title") else None,
        site_url=_link(feed.get("link"), url),
        entries=tuple(entries),
        warnings=warnings,
    )


def _xml_problem(exc: object) -> str:
    line = getattr(exc, "getLineNumber", None)
    if callable(line) and exc is not None:
        message = getattr(exc, "getMessage", lambda: str(exc))()
        column = exc.getColumnNumber()  # type: ignore[attr-defined]
        return f"the XML is broken at line {line()}, column {column}: {message}"
    return "no RSS, Atom or JSON Feed found there"


def _parse_json(body: bytes, url: str) -> ParsedFeed:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "it is nested too deeply"
        raise NotAFeedError(f"That address is not a feed (the JSON is broken: {reason}).") from None
    version = data.get("version") if isinstance(data, dict) else None
    if not isinstance(version, str) or not version.startswith("https://jsonfeed.org/version/"):
        raise NotAFeedError("That address is not a feed (it is JSON, but not a JSON Feed).")
    items = data.get("items")
    if not isinstance(items, list):
        raise NotAFeedError("That address is not a feed (the JSON Feed has no list of items).")
    base = _link(data.get("feed_url"), url) or url
    entries = []
    for item in items[:MAX_ENTRIES]:
        if not isinstance(item, dict):
            continue
        link = _link(item.get("url"), base) or _link(item.get("external_url"), base)
        key = item.get("id") or link or item.get("title")
        if not isinstance(key, str | int) or key == "":
            continue
        content = item.get("content_html") if isinstance(item.get("content_html"), str) else None
        text = item.get("summary") or item.get("content_text") or (html_to_text(content) if content else "")
        summary = " ".join(str(text).split())[:MAX_SUMMARY_CHARS] if isinstance(text, str) else ""
        published = _iso_time(item.get("date_published") or item.get("date_modified"))
        entries.append(_entry(str(key), link, item.get("title"), summary, content, published))
    title = data.get("title")
    return ParsedFeed(
        format="json" + version.rsplit("/", 1)[-1],
        title=" ".join(title.split()) if isinstance(title, str) and title.strip() else None,
        site_url=_link(data.get("home_page_url"), base),
        entries=tuple(entries),
    )


def parse_feed(body: bytes, *, url: str, content_type: str | None = None, charset: str | None = None) -> ParsedFeed:
    """Parse an RSS, Atom, RDF or JSON feed from fetched bytes (CPU-bound: call it in a worker thread).

    `url` is where the body came from (relative links resolve against it). Raises `NotAFeedError` (or
    `UnsafeFeedError`) with the reason.
    """
    kind = _body_kind(body)
    if kind == "json":
        return _parse_json(body, url)
    if kind == "html":
        raise NotAFeedError("That address is not a feed (it is a web page).")
    if kind == "unknown" and not body.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        raise NotAFeedError("That address is not a feed (no RSS, Atom or JSON Feed found there, just text).")
    return _parse_xml(body, url, content_type, charset)


# --- autodiscovery -----------------------------------------------------------------------------------------------


class _FeedLinks(HTMLParser):
    """Collects `<link rel="alternate" type="application/rss+xml" href=...>` (and Atom, JSON) in document order."""

    def __init__(self, base: str) -> None:
        super().__init__(convert_charrefs=True)
        self.base = base
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "base" and values.get("href"):
            self.base = urljoin(self.base, values["href"].strip())
        elif tag == "link":
            rel = values.get("rel", "").lower().split()
            media = values.get("type", "").split(";")[0].strip().lower()
            if "alternate" in rel and media in FEED_LINK_TYPES and values.get("href"):
                self.hrefs.append(urljoin(self.base, values["href"].strip()))


def discover_feeds(html: bytes, base_url: str) -> list[str]:
    """Feed URLs a page advertises, resolved and normalized, without duplicates, in the page's order."""
    parser = _FeedLinks(base_url)
    parser.feed(html[:DISCOVERY_BYTES].decode("utf-8", errors="replace"))
    parser.close()
    found: list[str] = []
    for href in parser.hrefs:
        link = _link(href, base_url)
        if link and link not in found:
            found.append(link)
    return found


# --- fetching ----------------------------------------------------------------------------------------------------


async def _parse_result(result: FetchResult) -> ParsedFeed:
    return await asyncio.to_thread(
        parse_feed, result.body, url=result.final_url, content_type=result.content_type, charset=result.charset
    )


def _poll(result: FetchResult, feed: ParsedFeed | None) -> FeedPoll:
    return FeedPoll(
        url=result.final_url,
        not_modified=False,
        etag=result.headers.get("etag"),
        last_modified=result.headers.get("last-modified"),
        feed=feed,
    )


async def poll_feed(
    fetcher: SafeFetcher, url: str, *, etag: str | None = None, last_modified: str | None = None
) -> FeedPoll:
    """Fetch and parse a feed, conditionally when validators are given; a 304 returns `not_modified=True`.

    Raises the fetcher's `FetchError`s (blocked, too large, HTTP errors...) and `NotAFeedError`.
    """
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    result = await fetcher.fetch(url, kind="feed", headers=headers)
    if result.not_modified:
        return FeedPoll(url=url, not_modified=True, etag=etag, last_modified=last_modified, feed=None)
    return _poll(result, await _parse_result(result))


async def resolve_feed(fetcher: SafeFetcher, url: str) -> FeedPoll:
    """The feed at `url`, or the first feed the page at `url` advertises (autodiscovery): what `/subscribe` checks.

    Raises `NotAFeedError` saying why when neither works, e.g. "That address is not a feed (it is a web page with
    no RSS, Atom or JSON Feed link)."
    """
    result = await fetcher.fetch(url, kind="feed")
    if _body_kind(result.body) != "html":
        return _poll(result, await _parse_result(result))
    candidates = discover_feeds(result.body, result.final_url)
    if not candidates:
        raise NotAFeedError("That address is not a feed (it is a web page with no RSS, Atom or JSON Feed link).")
    problem: FeedError | None = None
    for candidate in candidates[:3]:  # a page may list a dead feed first; don't let it make us fetch dozens
        found = await fetcher.fetch(candidate, kind="feed")
        try:
            if _body_kind(found.body) == "html":
                raise NotAFeedError("That address is not a feed (its feed link leads to another web page).")
            return _poll(found, await _parse_result(found))
        except FeedError as exc:
            problem = exc
    assert problem is not None
    raise problem
