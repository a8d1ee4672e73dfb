"""Page signals: what a page says about itself in JSON-LD, OpenGraph and `<meta>` tags, `<title>` and `<h1>`.

`read_signals` reads, in one cheap pass over a parsed page, everything the cascade and the paywall check compare the
extracted text against (JSON-LD `articleBody`, `wordCount`, `isAccessibleForFree`) and every metadata fallback used
by `bot.ingest.refine`.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from lxml.html import HtmlElement
from trafilatura.utils import load_html

# schema.org types whose properties describe the article itself (NewsArticle, BlogPosting, OpinionNewsArticle...).
_ARTICLE_TYPE = re.compile(r"(?:Article|BlogPosting|Posting|Report)$")
_MAX_JSONLD_CHARS = 2_000_000  # one JSON-LD block bigger than this is not metadata; skip rather than parse
_MAX_HEADINGS = 10
_JSON_WRAPPERS = re.compile(r"^\s*(?:<!--|/\*<!\[CDATA\[\*/)|(?:-->|/\*\]\]>\*/|;)\s*$")
_META_AUTHORS = ("author", "article:author", "citation_author", "dc.creator", "parsely-author")

# Every attribute value trafilatura's author XPaths can match (their `re:test` calls back into Python for each
# element, ~25 ms a page): the search only runs when one of these substrings is present.
_AUTHOR_HINT = re.compile(
    "author|Author|byl|BBL|yline|username|screenname|writer|channel-name|zuozhe|bianji|xiaobian|submitted-by"
    "|posted-by|journalist-name|^me$"
)
_HINT_ATTRIBUTES = ("class", "id", "itemprop", "rel", "data-testid", "data-component")
_BYLINE_CLASS = re.compile(r"byline|author[-_]?name", re.IGNORECASE)

_WS = re.compile(r"\s+")
_QUOTES = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-", "\xa0": " "})
_WORD = re.compile(r"\w+(?:['’]\w+)*")


def collapse(value: str) -> str:
    """Collapse runs of whitespace (non-breaking spaces included) into one space."""
    return _WS.sub(" ", value.replace("\xa0", " ")).strip()


def norm_text(value: str) -> str:
    """Collapse whitespace and unify quotes and dashes, for comparisons only."""
    return collapse(value.translate(_QUOTES))


def words(value: str) -> list[str]:
    """Case-folded words, quotes unified ("it's" stays one word)."""
    return _WORD.findall(value.translate(_QUOTES).casefold())


@dataclass
class PageSignals:
    """What the page says about itself, read once from the parsed tree."""

    title_tag: str | None = None
    og_title: str | None = None
    headline: str | None = None  # JSON-LD headline
    h1s: list[str] = field(default_factory=list)
    site_name: str | None = None
    description: str | None = None
    canonical: str | None = None
    language: str | None = None
    authors: list[str] = field(default_factory=list)  # JSON-LD author names, then author <meta> tags
    date_published: str | None = None
    article_body: str | None = None
    word_count: int | None = None
    accessible_for_free: bool | None = None
    tree: HtmlElement | None = field(default=None, repr=False, compare=False)
    _bylines: list[str] | None = field(default=None, repr=False, compare=False)
    _author_hint: bool = field(default=False, repr=False, compare=False)

    def _scan(self) -> None:
        """One pass over the elements' attributes for byline elements and author hints, only when needed."""
        self._bylines = []
        for element in self.tree.iter(etree.Element) if self.tree is not None else ():
            attrib = element.attrib
            if not self._author_hint:
                self._author_hint = element.tag == "author" or any(
                    _AUTHOR_HINT.search(value) for key in _HINT_ATTRIBUTES if (value := attrib.get(key))
                )
            if not attrib:
                continue
            if len(self._bylines) < _MAX_HEADINGS and (
                attrib.get("rel") == "author"
                or "author" in attrib.get("itemprop", "")
                or _BYLINE_CLASS.search(attrib.get("class", ""))
            ):
                text = collapse(element.text_content())
                if 2 <= len(text) <= 100:
                    self._bylines.append(text)

    @property
    def bylines(self) -> list[str]:
        """Texts of the page's byline/author elements (`rel=author`, `itemprop=author`, class "byline")."""
        if self._bylines is None:
            self._scan()
        return self._bylines or []

    @property
    def author_hint(self) -> bool:
        """Whether trafilatura's author XPaths could match anything on the page."""
        if self._bylines is None:
            self._scan()
        return self._author_hint


def _jsonld_objects(blocks: list[str]) -> list[dict[str, Any]]:
    """Every dict in every JSON-LD block, `@graph` expanded, in document order."""
    found: list[dict[str, Any]] = []

    def walk(node: Any, depth: int) -> None:
        if depth > 20:  # hostile nesting: metadata is never that deep
            return
        if isinstance(node, list):
            for item in node:
                walk(item, depth + 1)
        elif isinstance(node, dict):
            found.append(node)
            for key in ("@graph", "mainEntity", "mainEntityOfPage", "hasPart", "itemListElement"):
                if key in node:
                    walk(node[key], depth + 1)

    for block in blocks:
        raw = block.strip()
        if not raw or len(raw) > _MAX_JSONLD_CHARS:
            continue
        # common breakage: HTML comments or CDATA wrappers, trailing semicolons
        for candidate in (raw, _JSON_WRAPPERS.sub("", raw)):
            try:
                data = json.loads(candidate, strict=False)
                break
            except (ValueError, RecursionError):  # RecursionError: hostile nesting ([[[[...)
                continue
        else:
            continue
        walk(data, 0)
    return found


def _plain_body(body: str) -> str:
    """JSON-LD articleBody as plain text, one paragraph a line: some sites put (even escaped) HTML in it."""
    body = html.unescape(body)
    if "<" in body and ">" in body:
        fragment = load_html(f"<html><body><div>{body}</div></body></html>")
        if fragment is not None:
            for element in fragment.iter("br", "p", "div", "li", "h2", "h3", "h4", "blockquote"):
                element.tail = "\n" + (element.tail or "")
            body = fragment.text_content()
    lines = (collapse(line) for line in body.splitlines())
    return "\n".join(line for line in lines if line)


def _types(obj: dict[str, Any]) -> list[str]:
    value = obj.get("@type", [])
    return [str(t) for t in value] if isinstance(value, list) else [str(value)]


def _names(value: Any, by_id: dict[str, dict[str, Any]]) -> list[str]:
    """Author names from a JSON-LD author value: string, Person, list, or an `@id` reference."""
    if isinstance(value, list):
        return [name for item in value for name in _names(item, by_id)]
    if isinstance(value, dict):
        if "name" not in value and isinstance(value.get("@id"), str):
            value = by_id.get(value["@id"], value)
        name = value.get("name")
        return _names(name, by_id) if name is not None else []
    if isinstance(value, str):
        text = collapse(html.unescape(value))
        if text and "://" not in text and len(text) < 120:
            return [text]
    return []


def _to_bool(value: Any) -> bool | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
        return value.strip().lower() == "true"
    return None


def _read_jsonld(blocks: list[str], signals: PageSignals) -> None:
    objects = _jsonld_objects(blocks)
    by_id = {obj["@id"]: obj for obj in objects if isinstance(obj.get("@id"), str)}
    articles = [obj for obj in objects if any(_ARTICLE_TYPE.search(t) for t in _types(obj))]
    # a WebPage may carry the paywall flag or the dates when the article object is missing
    pages = [obj for obj in objects if any(t.endswith("WebPage") for t in _types(obj))]
    for obj in articles + pages:
        if signals.headline is None and isinstance(obj.get("headline"), str):
            signals.headline = collapse(html.unescape(obj["headline"])) or None
        if not signals.authors and "author" in obj:
            signals.authors = _names(obj["author"], by_id)
        if signals.date_published is None and isinstance(obj.get("datePublished"), str):
            signals.date_published = obj["datePublished"].strip() or None
        if signals.article_body is None and isinstance(obj.get("articleBody"), str):
            signals.article_body = _plain_body(obj["articleBody"]) or None
        if signals.word_count is None and str(obj.get("wordCount", "")).strip().isdigit():
            signals.word_count = int(str(obj["wordCount"]).strip())
        if signals.accessible_for_free is None and "isAccessibleForFree" in obj:
            signals.accessible_for_free = _to_bool(obj["isAccessibleForFree"])
        if signals.language is None and isinstance(obj.get("inLanguage"), str):
            signals.language = obj["inLanguage"]
        publisher = obj.get("publisher")
        if signals.site_name is None and isinstance(publisher, dict) and isinstance(publisher.get("name"), str):
            signals.site_name = collapse(publisher["name"]) or None


def read_signals(tree: HtmlElement) -> PageSignals:
    """Read JSON-LD, OpenGraph, `<meta>`, `<link rel=canonical>`, `<html lang>`, `<title>` and `<h1>` headings."""
    signals = PageSignals(tree=tree)
    metas: dict[str, list[str]] = {}
    jsonld: list[str] = []
    # one pass over the few element types that matter, instead of one XPath traversal per field
    for element in tree.iter("meta", "link", "script", "title", "h1"):
        tag = element.tag
        if tag == "meta":
            key = (element.get("property") or element.get("name") or element.get("itemprop") or "").strip().lower()
            key = key or (element.get("http-equiv") or "").strip().lower()
            content = element.get("content")
            if key and content and (value := collapse(html.unescape(content))):
                metas.setdefault(key, []).append(value)
        elif tag == "link":
            if "canonical" in (element.get("rel") or "").lower() and element.get("href"):
                metas.setdefault("canonical", []).append(element.get("href", "").strip())
        elif tag == "script":
            if "ld+json" in (element.get("type") or "").lower() and element.text:
                jsonld.append(element.text)
        elif tag == "title":
            if signals.title_tag is None and (title := collapse(element.text_content())):
                signals.title_tag = title
        elif len(signals.h1s) < _MAX_HEADINGS and 3 <= len(text := collapse(element.text_content())) <= 300:
            signals.h1s.append(text)

    def meta(*keys: str) -> str | None:
        return next((metas[key][0] for key in keys if key in metas), None)

    signals.og_title = meta("og:title")
    signals.description = meta("description", "og:description")
    signals.canonical = meta("canonical", "og:url")
    _read_jsonld(jsonld, signals)
    signals.site_name = meta("og:site_name") or signals.site_name
    signals.language = (
        tree.get("lang") or tree.get("xml:lang") or meta("content-language", "og:locale") or signals.language
    )
    # JSON-LD names first, then author <meta> tags: both are candidates, and spellings to restore names from
    values = [value for key in _META_AUTHORS for value in metas.get(key, []) if "://" not in value]
    signals.authors = list(dict.fromkeys(signals.authors + values))[: 2 * _MAX_HEADINGS]
    signals.date_published = signals.date_published or meta("article:published_time", "datepublished")
    return signals


def language_code(value: str | None) -> str | None:
    """`en-US`, `en_GB` or `EN` -> `en`; anything that is not a language tag -> None."""
    if not value:
        return None
    primary = re.split(r"[-_]", value.strip())[0].lower()
    return primary if re.fullmatch(r"[a-z]{2,3}", primary) else None
