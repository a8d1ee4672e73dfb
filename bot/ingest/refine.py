"""Metadata for an extracted page: trafilatura's, then refined with the page's own signals.

`page_metadata` runs trafilatura's metadata steps that briefbot uses; `refine_title`, `refine_author` and
`refine_date` improve its answers with `PageSignals` (the visible `<h1>`, JSON-LD and `<meta>` spellings). They are
pure functions of their arguments.
"""

from __future__ import annotations

import contextlib
import re
from datetime import datetime

from htmldate import find_date
from lxml.html import HtmlElement
from trafilatura.metadata import examine_meta, extract_author, extract_meta_json, extract_sitename, extract_title
from trafilatura.settings import Document, set_date_params

from bot.ingest.metadata import PageSignals, collapse, norm_text, words

# Separators between a headline and a site or section name in <title> and og:title.
_SEP = r"\s+(?:[|·•»]{1,2}|[-–—]{1,2}|::)\s+"
_TITLE_SEP = re.compile(_SEP)
_TITLE_SEP_END = re.compile(_SEP + "$")
# Byline boilerplate around an author's name (WordPress "View all posts by", "By", "Written by"...).
_AUTHOR_PREFIX = re.compile(r"^(?:(?:.{0,40}?\s)?by|author:|written by:)\s+", re.IGNORECASE)
# Values some sites put in the author field that name nobody.
_NO_AUTHOR = re.compile(r"^(?:no author|unknown|admin|administrator|anonymous|none|null)$", re.I)
# Academic and professional credentials, which trafilatura may split off as if they were a co-author.
_CREDENTIAL = re.compile(r"^(?:ph\.?\s?d|m\.?d|mba|ma|ms|msc|bsc|rd|rn|dr|mph|jd|cpa|esq)\.?$", re.IGNORECASE)


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
    # trafilatura's JSON-LD reader has bugs of its own: on one, its fields just stay empty
    with contextlib.suppress(Exception):
        metadata = extract_meta_json(tree, metadata)
    metadata.title = metadata.title or extract_title(tree)
    if not metadata.author:
        metadata.author = _byline_name(signals) or (extract_author(tree) if signals.author_hint else None)
    metadata.url = metadata.url or url
    metadata.date = find_date(tree, **{**set_date_params(True), "url": metadata.url})
    metadata.sitename = (metadata.sitename or extract_sitename(tree) or "").lstrip("@") or None
    metadata.clean_and_trim()
    return metadata


# --- title ------------------------------------------------------------------------------------------------------

# Function words carry no topic: two headlines sharing only "the" and "of" are not the same headline.
_FUNCTION_WORDS = frozenset("the a an and or of to in on for with at by from is are was be as it its this that".split())


def _content_words(value: str) -> set[str]:
    return {w for w in words(value) if w not in _FUNCTION_WORDS}


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
    return " ".join(words(value.replace(".", " ")))


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
    tokens = value.split()
    return 1 <= len(tokens) <= 5 and len(value) <= 60 and all(_NAME_TOKEN.match(t) for t in tokens)


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
    declared = signals.date_published or ""
    published = _parse_iso(declared) if declared else None
    if date is None:
        if published is None:
            return None
        # a declared day without a time stays a day: no invented midnight
        return published.isoformat() if ":" in declared else published.date().isoformat()
    if published is not None and published.date().isoformat() == date[:10] and published.tzinfo is not None:
        return published.isoformat()
    return date
