"""Shared files: look one up with `files.info`, download it with the bot token, hand its content to the core.

The bot token is sent only to Slack's own file host (`files.<api host>` over HTTPS, or the configured API host
itself, which is how a local fake stands in for Slack in tests); redirects are not followed, so the token never
travels further. Only text and HTML files are read, and only up to the fetch size cap.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import SourceError, TooLargeError, UnsupportedContentError
from bot.service import Source

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
TEXT_TYPES = frozenset({"text/plain", "text/markdown", "text/x-markdown"})
TEXT_FILETYPES = frozenset({"text", "markdown", "html"})


def readable(file: Mapping[str, Any]) -> bool:
    """True when a file (as described in a message event) is text or HTML, so worth briefing unasked."""
    mimetype = str(file.get("mimetype") or "").split(";")[0].strip().lower()
    filetype = str(file.get("filetype") or "").lower()
    return mimetype in HTML_TYPES or mimetype in TEXT_TYPES or filetype in TEXT_FILETYPES


class FileReader:
    """Downloads shared text/HTML files from Slack (one aiohttp session, closed by `aclose`)."""

    def __init__(self, api_url: str, *, max_bytes: int, timeout: float = 15.0) -> None:
        api = urlsplit(api_url)
        self._hosts = {(api.scheme, api.netloc)}
        if api.scheme == "https" and api.hostname:
            self._hosts.add(("https", f"files.{api.hostname.removeprefix('www.')}"))
        self._max_bytes = max_bytes
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def read(self, client: AsyncWebClient, file: dict[str, Any]) -> Source:
        """The file's content as a `Source` (HTML or text); a `BriefbotError` says why a file cannot be read."""
        info = (await client.files_info(file=file["id"]))["file"]
        name = str(info.get("name") or info.get("title") or "the file")
        mimetype = str(info.get("mimetype") or "").split(";")[0].strip().lower()
        is_html = mimetype in HTML_TYPES or str(info.get("filetype") or "").lower() == "html"
        if not readable(info):
            raise UnsupportedContentError(f"{name} is not a text or HTML file; briefbot reads articles.")
        if int(info.get("size") or 0) > self._max_bytes:
            raise TooLargeError(f"{name} is larger than {self._max_bytes // 1_000_000} MB; briefbot reads articles.")
        url = str(info.get("url_private_download") or info.get("url_private") or "")
        data = await self._download(url, client.token or "", name)
        permalink = info.get("permalink")
        if is_html:
            return Source("html", data, url=permalink)
        return Source("text", data.decode("utf-8", errors="replace"), url=permalink)

    async def _download(self, url: str, token: str, name: str) -> bytes:
        parts = urlsplit(url)
        if (parts.scheme, parts.netloc) not in self._hosts:
            raise SourceError(f"{name} is not stored on Slack; it cannot be read.")
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        headers = {"Authorization": f"Bearer {token}"}
        try:
            async with self._session.get(url, headers=headers, allow_redirects=False) as response:
                if response.status != 200:
                    raise SourceError(f"Slack would not hand over {name} (HTTP {response.status}).")
                body = bytearray()
                async for chunk in response.content.iter_chunked(65536):
                    body += chunk
                    if len(body) > self._max_bytes:
                        raise TooLargeError(f"{name} is larger than {self._max_bytes // 1_000_000} MB.")
                return bytes(body)
        except (aiohttp.ClientError, TimeoutError):
            raise SourceError(f"{name} could not be downloaded from Slack; try again later.") from None

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
