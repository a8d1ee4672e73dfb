"""Page signals for extraction: JSON-LD, OpenGraph and `<meta>` tags, headings; and metadata refinement.

`read_signals` reads, in one cheap pass over a parsed page, everything the cascade and the paywall check compare the
extracted text against (JSON-LD `articleBody`, `wordCount`, `isAccessibleForFree`) and every metadata fallback.
The `refine_*` functions improve trafilatura's title, author and date with those signals; each is a pure function.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from htmldate import find_date
from lxml import etree
from lxml.html import HtmlElement
from trafilatura.metadata import examine_meta, extract_author, extract_meta_json, extract_sitename, extract_title
from trafilatura.settings import Document, set_date_params
from trafilatura.utils import load_html

# schema.org types whose properties describe the article itself (NewsArticle, BlogPosting, OpinionNewsArticle...).
_ARTICLE_TYPE = re.compile(r"(?:Article|BlogPosting|Posting|Report)$")
_MAX_JSONLD_CHARS = 2_000_000  # one JSON-LD block bigger than this is not metadata; skip rather than parse
_MAX_HEADINGS = 10
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
# Separators between a headline and a site or section name in <title> and og:title.
_SEP = r"\s+(?:[|·•»]{1,2}|[-–—]{1,2}|::)\s+"
_TITLE_SEP = re.compile(_SEP)
_TITLE_SEP_END = re.compile(_SEP + "$")
_WORD = re.compile(r"\w+(?:['’]\w+)*")

# Byline boilerplate around an author's name (WordPress "View all posts by", "By", "Written by"...).
_AUTHOR_PREFIX = re.compile(r"^(?:(?:.{0,40}?\s)?by|author:|written by:)\s+", re.IGNORECASE)
# Values some sites put in the author field that name nobody.
_NO_AUTHOR = re.compile(r"^(?:no author|unknown|admin|administrator|anonymous|none|null)$", re.I)
# Academic and professional credentials, which trafilatura may split off as if they were a co-author.
_CREDENTIAL = re.compile(r"^(?:ph\.?\s?d|m\.?d|mba|ma|ms|msc|bsc|rd|rn|dr|mph|jd|cpa|esq)\.?$", re.IGNORECASE)


def collapse(value: str) -> str:
    """Collapse runs of whitespace (non-breaking spaces included) into one space."""
    return _WS.sub(" ", value.replace("\xa0", " ")).strip()


def norm_text(value: str) -> str:
    """Collapse whitespace and unify quotes and dashes, for comparisons only."""
    return collapse(value.translate(_QUOTES))


def _words(value: str) -> list[str]:
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
            if not attrib:
                self._author_hint = self._author_hint or element.tag == "author"
                continue
            if not self._author_hint:
                self._author_hint = any(
                    _AUTHOR_HINT.search(value) for key in _HINT_ATTRIBUTES if (value := attrib.get(key))
                )
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
        try:
            data = json.loads(raw, strict=False)
        except ValueError:
            # common breakage: HTML comments or CDATA wrappers, trailing semicolons
            try:
                data = json.loads(re.sub(r"^\s*(?:<!--|/\*<!\[CDATA\[\*/)|(?:-->|/\*\]\]>\*/|;)\s*$", "", raw), strict=False)
            except ValueError:
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


def page_metadata(tree: HtmlElement, url: str | None, signals: PageSignals) -> Document:
    """trafilatura's `extract_metadata`, less what briefbot never shows (categories, tags, licence, hostname).

    Same steps in the same order (meta tags, JSON-LD, title, author heuristics, htmldate), except that the costly
    author search (a copy of the whole tree, then regex XPaths) runs only when no byline element names someone and
    the page has an attribute it could match. htmldate stays: its choice among the page's dates beats taking the
    declared datePublished as it is. The tree is not modified.
    """
    metadata = examine_meta(tree)
    if metadata.author and " " not in metadata.author:
        metadata.author = None  # trafilatura's rule: a single word in <meta name=author> is rarely a person
    try:
        metadata = extract_meta_json(tree, metadata)
    except Exception:  # noqa: BLE001 - trafilatura's JSON-LD reader has its own bugs; the fields stay empty
        pass
    metadata.title = metadata.title or extract_title(tree)
    if not metadata.author:
        metadata.author = _byline_name(signals) or (extract_author(tree) if signals.author_hint else None)
    metadata.url = metadata.url or url
    metadata.date = find_date(tree, **{**set_date_params(True), "url": metadata.url})
    metadata.sitename = (metadata.sitename or extract_sitename(tree) or "").lstrip("@") or None
    metadata.clean_and_trim()
    return metadata


def language_code(value: str | None) -> str | None:
    """`en-US`, `en_GB` or `EN` -> `en`; anything that is not a language tag -> None."""
    if not value:
        return None
    primary = re.split(r"[-_]", value.strip())[0].lower()
    return primary if re.fullmatch(r"[a-z]{2,3}", primary) else None


# --- title ------------------------------------------------------------------------------------------------------

# Function words carry no topic: two headlines sharing only "the" and "of" are not the same headline.
_FUNCTION_WORDS = frozenset("the a an and or of to in on for with at by from is are was be as it its this that".split())


def _content_words(value: str) -> set[str]:
    return {w for w in _words(value) if w not in _FUNCTION_WORDS}


def _overlap(a: str, b: str) -> tuple[int, float]:
    """Content words shared by two headlines, and their share of the shorter one."""
    wa, wb = _content_words(a), _content_words(b)
    if not wa or not wb:
        return 0, 0.0
    shared = len(wa & wb)
    return shared, shared / min(len(wa), len(wb))


def _strip_site(title: str, site_name: str | None) -> str:
    """Drop a leading or trailing segment that names the site (`Headline | Site`, `Site - Headline`)."""
    seps = list(_TITLE_SEP.finditer(title))
    if not seps or not site_name:
        return title
    site = norm_text(site_name).casefold()

    def names_site(segment: str) -> bool:
        segment = norm_text(segment).casefold()
        return bool(segment) and (segment in site or site in segment)

    if names_site(title[seps[-1].end() :]) and seps[-1].start() > 0:
        return title[: seps[-1].start()].strip()
    if names_site(title[: seps[0].start()]) and seps[0].end() < len(title):
        return title[seps[0].end() :].strip()
    return title


def refine_title(title: str | None, signals: PageSignals) -> str | None:
    """The article's visible headline when a `<h1>` agrees with the metadata title, else the title minus its site.

    `<title>`/og:title often carry a site suffix ("Headline | Site") or an SEO rewrite of the headline, while the
    `<h1>` is what readers see; a `<h1>` is trusted only when it is one side of the title's separator or clearly
    shares its words, so a logo or section `<h1>` is never taken for the headline.
    """
    base = title or signals.og_title or signals.headline or signals.title_tag
    if not base:
        return signals.h1s[0] if len(signals.h1s) == 1 else None
    site = norm_text(signals.site_name or "").casefold()
    core = _strip_site(base, signals.site_name)
    base_n = norm_text(base).casefold()
    parts: list[str] = []  # h1s that are one side of a separator in the title
    best, best_score = None, (0, 0.0)
    for h1 in signals.h1s:
        h1_n = norm_text(h1).casefold()
        if h1_n == base_n:
            return base
        if h1_n == site:
            continue  # the logo
        if (base_n.startswith(h1_n) and _TITLE_SEP.match(base_n, len(h1_n))) or (
            base_n.endswith(h1_n) and _TITLE_SEP_END.search(base_n[: len(base_n) - len(h1_n)])
        ):
            parts.append(h1)
            continue
        if h1_n.endswith(base_n) or h1_n.startswith(base_n):
            return base  # "Section | Headline" as the h1: the metadata title is the cleaner one
        shared, share = _overlap(h1, core)
        if shared >= 2 and share >= 0.5 and not _TITLE_SEP.search(h1) and (shared, share) > best_score:
            best, best_score = h1, (shared, share)
    if parts:
        return max(parts, key=len)
    return best or core


# --- author -----------------------------------------------------------------------------------------------------

_LOST_DOTS = re.compile(r"\b(?:[A-Z]|Jr|Sr)\b(?!\.)")
_NAME_TOKEN = re.compile(r"^(?:[A-Z][\w'’.-]*|[a-z]{1,3}|[A-Z]\.?)$")  # Capitalised, or a particle (de, van)


def _loose(value: str) -> str:
    """A name without punctuation or case: "Leah C. Stokes" and "Leah C Stokes" compare equal."""
    return " ".join(_words(value.replace(".", " ")))


def _restore(name: str, signals: PageSignals) -> str:
    """The page's own spelling of a name: trafilatura drops periods ("Perry Bacon Jr." -> "Perry Bacon Jr")."""
    tokens = _loose(name).split()
    if not tokens:
        return name
    # ends at a non-letter: bylines often carry a footnote digit ("Jane Q. Doe1")
    pattern = re.compile(r"\b" + r"[\s.]*".join(map(re.escape, tokens)) + r"(?![^\W\d_])\.?", re.IGNORECASE)
    sources = signals.authors
    if _LOST_DOTS.search(name):  # an initial or a suffix: worth reading the byline elements for its periods
        sources = sources + signals.bylines
    for source in sources:
        found = pattern.search(source)
        if found:
            spelled = found.group(0)
            # a shouted byline ("R.C. BAKER") keeps its punctuation but not its capitals
            return spelled.title() if spelled.isupper() and not name.isupper() else spelled
    return name


def _name_like(value: str) -> bool:
    words = value.split()
    return 1 <= len(words) <= 5 and len(value) <= 60 and all(_NAME_TOKEN.match(w) for w in words)


def _clean_part(part: str, site: str) -> str:
    part = _AUTHOR_PREFIX.sub("", collapse(part)).strip(" ,|")
    part = re.split(r"\s+(?:[|•·]|on)\s+", part)[0]  # "Jane Doe | March 3" / "Jane Doe on March 3"
    if site:
        # "Adam Aaronson PhillyVoice Staff": the site's name and what follows it are not the person's name
        cut = re.search(r"\s+" + r"\s*".join(map(re.escape, site.split())) + r"\b", part, re.IGNORECASE)
        if cut and len(part[: cut.start()].split()) >= 2:
            part = part[: cut.start()]
    return part.strip()


def _byline_name(signals: PageSignals) -> str | None:
    """The first byline element that reads as a person's name."""
    site = collapse(signals.site_name or "")
    return next((name for name in (_clean_part(b, site) for b in signals.bylines) if _name_like(name)), None)


def refine_author(author: str | None, signals: PageSignals) -> str | None:
    """Clean trafilatura's author (byline boilerplate, credentials, the site posing as co-author), else take the
    JSON-LD/meta authors or a name-like byline element. Several authors are joined with "; " as trafilatura does."""
    site = collapse(signals.site_name or "")
    if author:
        candidates = author.split(";")
    elif signals.authors:
        candidates = [part for name in signals.authors for part in name.split(";")]
    else:
        candidates = [name] if (name := _byline_name(signals)) else []
    names: list[str] = []
    for candidate in candidates:
        part = _clean_part(candidate, site)
        if not part or _NO_AUTHOR.match(part) or _CREDENTIAL.match(part) or "://" in part:
            continue
        part = _restore(part, signals)
        if _loose(part) not in {_loose(n) for n in names}:
            names.append(part)
    if len(names) > 1 and site:
        names = [n for n in names if _loose(n) != _loose(site)] or names
    if not names and author and (signals.authors or signals.bylines):
        return refine_author(None, signals)
    return "; ".join(names) or None


# --- date -------------------------------------------------------------------------------------------------------


def _parse_iso(value: str) -> datetime | None:
    text = value.strip().replace("Z", "+00:00")
    text = re.sub(r"([+-]\d\d)(\d\d)$", r"\1:\2", text)  # +0100 -> +01:00
    try:
        return datetime.fromisoformat(text.replace(" ", "T", 1) if "T" not in text else text)
    except ValueError:
        return None


def refine_date(date: str | None, signals: PageSignals) -> str | None:
    """trafilatura's date (YYYY-MM-DD), with the time of day when the page's datePublished agrees with it."""
    published = _parse_iso(signals.date_published) if signals.date_published else None
    if date is None:
        return published.isoformat() if published else None
    if published is not None and published.date().isoformat() == date[:10] and published.tzinfo is not None:
        return published.isoformat()
    return date
