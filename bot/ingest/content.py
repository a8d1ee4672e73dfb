"""Judging and decoding HTTP responses for the fetcher: content types, sniffing, bounded decompression, and the
user-facing messages for HTTP errors and oversized or unsupported content.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Literal

from bot.errors import FetchError, TooLargeError, UnsupportedContentError

Kind = Literal["article", "feed"]

_ARTICLE_TYPES = frozenset({"text/html", "application/xhtml+xml", "text/plain"})
_FEED_TYPES = frozenset(
    "application/rss+xml application/atom+xml application/rdf+xml application/xml text/xml application/feed+json "
    "application/json text/html text/plain".split()
)
_MEDIA_PREFIXES = ("image/", "video/", "audio/", "font/", "model/")
SNIFF_BYTES = 512
_MAGIC = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF8", "image/gif"),
    (b"PK\x03\x04", "application/zip"),
    (b"\x1f\x8b", "application/gzip"),
)


def _size(n: int) -> str:
    return f"{n / 1_000_000:g} MB" if n >= 1_000_000 else f"{n / 1000:g} kB" if n >= 1000 else f"{n} bytes"


class _Inflater:
    """One zlib layer (gzip or deflate) that never produces more than `max_length` bytes per `pull`."""

    def __init__(self, coding: str) -> None:
        self._gzip = coding in ("gzip", "x-gzip")
        self._wbits = 16 + zlib.MAX_WBITS if self._gzip else zlib.MAX_WBITS
        self._obj = zlib.decompressobj(self._wbits)
        self._input = b""
        self._started = False

    def push(self, data: bytes) -> None:
        self._input += data

    def pull(self, max_length: int) -> bytes:
        """Up to `max_length` decoded bytes; b"" when more input is needed."""
        while True:
            if self._obj.eof:
                rest = self._obj.unused_data + self._input
                if not (self._gzip and rest):
                    self._input = b""  # bytes after the end of a deflate stream are ignored, as browsers do
                    return b""
                self._obj, self._input = zlib.decompressobj(self._wbits), rest  # the next gzip member
            data, self._input = self._input, b""
            try:
                out = self._obj.decompress(data, max_length)
            except zlib.error:
                if self._gzip or self._started:
                    raise FetchError("The site sent a compressed page that could not be decoded.") from None
                # "deflate" is often sent without its zlib header: retry the stream as raw deflate.
                self._wbits = -zlib.MAX_WBITS
                self._obj = zlib.decompressobj(self._wbits)
                out = self._obj.decompress(data, max_length)
            self._started = True
            self._input = self._obj.unconsumed_tail
            if out or not self._input:
                return out


class BodyDecoder:
    """Undoes `Content-Encoding` lazily, in steps of at most `STEP` bytes per layer, so reading stops at the cap.

    httpx's decoders inflate each network chunk in one go: a 64 kB chunk of gzip-of-gzip can become gigabytes
    before anyone counts. Here memory stays bounded whatever the compression ratio.
    """

    STEP = 64 * 1024
    _MAX_LAYERS = 2

    def __init__(self, content_encoding: str | None) -> None:
        codings = [c.strip().lower() for c in (content_encoding or "").split(",")]
        codings = [c for c in codings if c and c != "identity"]
        if len(codings) > self._MAX_LAYERS:
            raise FetchError("The site sent a page compressed too many times to read.")
        for coding in codings:
            if coding not in ("gzip", "x-gzip", "deflate"):
                raise FetchError(f"The site sent the page in an encoding briefbot cannot read ({coding}).")
        # Content-Encoding lists codings in the order they were applied: undo them last first.
        self._layers = [_Inflater(c) for c in reversed(codings)]

    def feed(self, data: bytes) -> Iterator[bytes]:
        """The decoded chunks for one raw chunk, produced lazily."""
        if not self._layers:
            if data:
                yield data
            return
        self._layers[0].push(data)
        yield from self._drain(0)

    def _drain(self, index: int) -> Iterator[bytes]:
        while chunk := self._layers[index].pull(self.STEP):
            if index + 1 == len(self._layers):
                yield chunk
            else:
                self._layers[index + 1].push(chunk)
                yield from self._drain(index + 1)


def media_type(header: str | None) -> tuple[str | None, str | None]:
    """(`type/subtype` lower-cased, charset) from a Content-Type header."""
    media, *params = (header or "").split(";")
    charset = None
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip("\"'").lower()
    return media.strip().lower() or None, charset


def sniff(prefix: bytes) -> str:
    """A media type guessed from the first bytes of a body (when the header is missing or not trusted)."""
    for magic, media in _MAGIC:
        if prefix.startswith(magic):
            return media
    if prefix[4:8] == b"ftyp":
        return "video/mp4"
    head = prefix.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<!doctype html", b"<head", b"<body")) or b"<html" in head:
        return "text/html"
    if head.startswith((b"<?xml", b"<rss", b"<feed", b"<rdf")):
        return "application/xml"
    if head.startswith((b"{", b"[")):
        return "application/json"
    return "application/octet-stream" if b"\x00" in prefix else "text/plain"


def accepts(media: str, kind: Kind) -> bool:
    if kind == "feed":
        return media in _FEED_TYPES or media.endswith(("+xml", "+json"))
    return media in _ARTICLE_TYPES


def unsupported(media: str, kind: Kind) -> UnsupportedContentError:
    if media == "application/pdf":
        what = "a PDF"
    elif media.startswith(("image/", "video/", "audio/")):
        what = {"i": "an image", "v": "a video", "a": "an audio file"}[media[0]]
    elif media in ("application/octet-stream", "application/zip", "application/gzip"):
        what = "a file download"
    else:
        what = f"not a web page ({media})"
    if kind == "feed":
        return UnsupportedContentError(f"That feed link is {what}; briefbot reads RSS, Atom and JSON feeds.")
    return UnsupportedContentError(f"That link is {what}; briefbot reads web pages and text.")


def needs_sniff(media: str | None, kind: Kind) -> bool:
    """Judge the declared type before reading: False if accepted, True to sniff the body; raises if refused."""
    if media is None:
        return True
    if accepts(media, kind):
        return False
    # Feeds are often mislabelled (text/x-rss, application/octet-stream): sniff anything not plainly media.
    if kind == "feed" and media != "application/pdf" and not media.startswith(_MEDIA_PREFIXES):
        return True
    raise unsupported(media, kind)


def http_error(status: int, host: str) -> FetchError:
    messages = {
        404: "The page was not found (HTTP 404).",
        410: "The page has been removed (HTTP 410).",
        401: "The site refused access (HTTP 401); it may need a login.",
        403: "The site refused access (HTTP 403); it may need a login.",
        402: "The site asks for payment or a subscription (HTTP 402).",
        451: "The page is unavailable for legal reasons (HTTP 451).",
        429: f"{host} is limiting requests right now (HTTP 429); try again later.",
    }
    if status in messages:
        return FetchError(messages[status])
    if status >= 500:
        return FetchError(f"{host} had a problem answering (HTTP {status}); try again later.")
    return FetchError(f"The site answered with HTTP {status}, which briefbot cannot use.")


def too_large(kind: Kind, limit: int) -> TooLargeError:
    what = "feed" if kind == "feed" else "page"
    return TooLargeError(f"The {what} is larger than {_size(limit)}, more than briefbot reads.")


def check_sniffed(prefix: bytes, kind: Kind) -> str:
    """The sniffed media type of a body whose header was missing or untrusted; raises when it is not acceptable."""
    media = sniff(prefix)
    if not accepts(media, kind):
        raise unsupported(media, kind)
    return media
