"""Turn what a user shared (a URL, a file path, `-` for standard input, or pasted text) into an Article.

This is the single entry point into ingestion for the CLI and the service: it picks the fetcher or the file reader,
then the HTML extractor or the pasted-text cleaner, and runs the CPU-bound extraction in a worker thread.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from bot.errors import SourceError
from bot.ingest.clean import article_from_text
from bot.ingest.extract import extract_html
from bot.ingest.fetch import SafeFetcher
from bot.ingest.urls import unwrap_slack_link
from bot.models import Article

HTML_SUFFIXES = {".html", ".htm", ".xhtml"}
TEXT_SUFFIXES = {".txt", ".md", ".markdown", ".text"}
MAX_FILE_BYTES = 5_000_000


@dataclass(frozen=True, slots=True)
class RawSource:
    """What was shared, before extraction: HTML bytes or plain text, and where it came from."""

    kind: Literal["html", "text"]
    data: bytes | str
    url: str | None = None


def is_url(source: str) -> bool:
    """True when `source` looks like an http(s) URL (possibly in Slack's `<url|label>` form)."""
    stripped = source.strip().lstrip("<").lower()
    return stripped.startswith(("http://", "https://"))


async def read_source(source: str, fetcher: SafeFetcher | None) -> RawSource:
    """Fetch or read `source` (URL, path, or `-`) without extracting it."""
    if source == "-":
        text = await asyncio.to_thread(sys.stdin.read)
        return RawSource("text", text)
    if is_url(source):
        if fetcher is None:
            raise SourceError("Fetching links is not available here.")
        result = await fetcher.fetch(unwrap_slack_link(source.strip()))
        kind: Literal["html", "text"] = "text" if result.content_type == "text/plain" else "html"
        data: bytes | str = result.body
        if kind == "text":
            data = result.body.decode(result.charset or "utf-8", errors="replace")
        return RawSource(kind, data, url=result.final_url)
    return await asyncio.to_thread(_read_file, Path(source))


def _read_file(path: Path) -> RawSource:
    suffix = path.suffix.lower()
    if suffix not in HTML_SUFFIXES | TEXT_SUFFIXES:
        found = suffix or "a file with no extension"
        raise SourceError(f"{path.name}: briefbot reads web pages and text (.html, .htm, .txt, .md), not {found}.")
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise SourceError(f"No such file: {path}") from None
    except OSError as exc:
        raise SourceError(f"Cannot read {path}: {exc.strerror}") from None
    if size > MAX_FILE_BYTES:
        raise SourceError(f"{path.name} is larger than {MAX_FILE_BYTES // 1_000_000} MB; briefbot reads articles.")
    if suffix in HTML_SUFFIXES:
        return RawSource("html", path.read_bytes())
    return RawSource("text", path.read_text(encoding="utf-8", errors="replace"))


async def article_from_raw(raw: RawSource, *, cpu_budget: float = 5.0) -> Article:
    """Extract an Article from fetched or read content; HTML extraction runs in a worker thread."""
    if raw.kind == "html":
        return await asyncio.to_thread(extract_html, raw.data, raw.url, cpu_budget=cpu_budget)
    text = raw.data if isinstance(raw.data, str) else raw.data.decode("utf-8", errors="replace")
    if not text.strip():
        raise SourceError("There is no text to brief.")
    article = await asyncio.to_thread(article_from_text, text)
    if raw.url:
        article = article.model_copy(update={"url": raw.url})
    return article


async def load_article(source: str, fetcher: SafeFetcher | None, *, cpu_budget: float = 5.0) -> Article:
    """Read or fetch `source` and extract its article."""
    raw = await read_source(source, fetcher)
    return await article_from_raw(raw, cpu_budget=cpu_budget)
