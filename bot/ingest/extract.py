"""HTML -> Article: a cascade of extractors, each engaged only when the one before it under-delivers.

Guards, before anything else runs (the page must end within `cpu_budget` seconds of CPU):
  a. more than `MAX_HTML_CHARS` of input: refused (a 20 MB text node is not an article).
  b. the parse is libxml2's (C, linear). Without `huge_tree` it stops at 256 levels of nesting and drops what follows,
     so a tree that reaches that depth is incomplete: refused (50,000 nested `<div>`).
  c. the cost of stage 1 is estimated from the element count and text size. Over budget, only stage 3 runs (a
     linear paragraph scan); far over budget (x`HARD_LIMIT_FACTOR`), the page is refused.
  d. thread CPU time (`time.thread_time`, so it works in `asyncio.to_thread`; no signals) is checked between
     stages: optional stages are skipped once the budget is spent.

The cascade (the stage that produced the text is recorded in `Article.extractor`):
  1. "trafilatura": trafilatura's text extraction (`bare_extraction`), comments excluded. It carries its own
     safety nets (readability/jusText comparison, baseline rescue, recall escalation).
  2. Only when stage 1 returned nothing or too little: less than 60% of the page's JSON-LD `articleBody` or half its
     `wordCount`, no longer than its own meta description, or a short text on a page with much more visible text.
     Candidates, best first:
       a. "json-ld": the publisher's `articleBody`, when it is longer than stage 1's text;
       b. "justext": jusText's paragraphs (with the page language's stoplist), when clearly longer (x1.5).
  3. "baseline": when there is still no text, the page's `<p>`, `<blockquote>` and `<pre>` texts outside
     navigation, header, footer, aside and forms; then trafilatura's own baseline. Also the only stage run on a
     page whose estimated cost exceeds the budget (guard c).
A fallback stage adds a warning. Metadata is trafilatura's, refined and completed from JSON-LD, OpenGraph, `<meta>`
tags and the `<h1>` (see `bot.ingest.refine`); paywalls and teasers are flagged (see `bot.ingest.paywall`).
"""

from __future__ import annotations

import contextlib
import time
from copy import deepcopy
from functools import cache
from urllib.parse import urljoin

import trafilatura
from justext import core as jt
from justext.utils import get_stoplist, get_stoplists
from lxml import etree
from lxml.html import HtmlElement
from trafilatura.settings import JUSTEXT_LANGUAGES
from trafilatura.utils import load_html

from bot.errors import ExtractionError
from bot.ingest.clean import noise_reason
from bot.ingest.metadata import PageSignals, language_code, read_signals
from bot.ingest.paywall import paywall_reasons, strip_notices
from bot.ingest.refine import page_metadata, refine_author, refine_date, refine_title
from bot.models import Article

# --- guards: calibrated on a 2-core machine against trafilatura's worst measured cost per element and per character
MAX_HTML_CHARS = 5_000_000
ELEMENTS_PER_SECOND = 3_000  # deep or link-heavy markup: ~0.3 ms per element in trafilatura
TEXT_CHARS_PER_SECOND = 1_000_000  # one huge text node: ~0.5 s per MB
HARD_LIMIT_FACTOR = 20  # the paragraph scan is linear, but past this even it is not worth running
_LIBXML_MAX_DEPTH = 254  # libxml2 stops parsing at depth 256 when huge_tree is off

# --- cascade thresholds
_BODY_SHARE = 0.6  # stage 1 below this share of the JSON-LD articleBody: try stage 2
_WORDCOUNT_SHARE = 0.5
_SHORT_TEXT = 500  # stage 1 shorter than this (chars) is compared with the page's visible text...
_VISIBLE_FACTOR = 4  # ...and is "too little" when the page shows this many times more text
_JUSTEXT_GAIN = 1.5  # jusText must find this much more text than stage 1 to replace it
_MIN_PARAGRAPH = 30  # the baseline ignores shorter `<p>` (buttons, bylines, captions)
_MIN_PROSE_WORDS = 6  # an article has at least one paragraph this long; menus and labels do not

TOO_COMPLEX = "That page is too complex to read: {reason}. Try pasting the article text instead."
NO_TEXT = "No article text found on that page."
_BOILERPLATE_TAGS = ("nav", "header", "footer", "aside", "form", "script", "style", "noscript", "template", "button")
_WARNINGS = {
    "json-ld": "The main extractor found too little text; used the article text the page embeds for search engines.",
    "justext": "The main extractor found too little text; used a second extractor (jusText).",
    "baseline": "No clear article body was found; used every paragraph of the page, which may include clutter.",
}


class _Budget:
    """CPU seconds spent by this thread since the extraction started."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._start = time.thread_time()

    @property
    def exhausted(self) -> bool:
        return time.thread_time() - self._start > self.seconds


def _parse(html: bytes | str) -> HtmlElement:
    """Parse with trafilatura's loader (encoding detection, repairs), accepting bare fragments too."""
    if not html.strip():
        raise ExtractionError(NO_TEXT)
    tree = load_html(html)
    if tree is None:
        # trafilatura rejects a lone fragment ("<p>x</p>") as dubious; a wrapper makes it a document
        text = html.decode("utf-8", "replace") if isinstance(html, bytes) else html
        tree = load_html(f"<html><body><div>{text}</div></body></html>")
    if tree is None:
        raise ExtractionError(NO_TEXT)
    return tree


def _check_cost(tree: HtmlElement, cpu_budget: float) -> bool:
    """Refuse pages too complex to read; return True when stage 1 fits the budget (else only stage 3 runs)."""
    last = tree.xpath("(//*)[last()]")
    if last and sum(1 for _ in last[0].iterancestors()) >= _LIBXML_MAX_DEPTH:
        raise ExtractionError(TOO_COMPLEX.format(reason="its HTML is nested too deeply"))
    elements = int(tree.xpath("count(//*)"))
    chars = int(tree.xpath("string-length(string(/html/body))"))
    estimate = elements / ELEMENTS_PER_SECOND + chars / TEXT_CHARS_PER_SECOND
    if estimate > cpu_budget * HARD_LIMIT_FACTOR:
        raise ExtractionError(TOO_COMPLEX.format(reason=f"it has {elements:,} HTML elements"))
    return estimate <= cpu_budget


def _lines_to_paragraphs(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _has_prose(paragraphs: list[str]) -> bool:
    """At least one paragraph reads like a sentence rather than a menu item or a label."""
    return any(len(paragraph.split()) >= _MIN_PROSE_WORDS for paragraph in paragraphs)


# --- stage 2 -----------------------------------------------------------------------------------------------------


def _too_little(text: str, signals: PageSignals, tree: HtmlElement) -> bool:
    """Did stage 1 under-deliver, judged against what the page itself says it contains?"""
    if not text:
        return True
    if signals.article_body and len(text) < _BODY_SHARE * len(signals.article_body):
        return True
    if signals.word_count and len(text.split()) < _WORDCOUNT_SHARE * signals.word_count:
        return True
    if signals.description and len(text) <= len(signals.description):
        return True
    if len(text) < _SHORT_TEXT:
        visible = trafilatura.html2txt(tree)  # copies and cleans the tree: only worth it for short results
        return len(visible) >= _VISIBLE_FACTOR * max(len(text), 1) and len(visible) - len(text) > 1000
    return False


@cache
def _all_stopwords() -> frozenset[str]:
    """Union of jusText's stoplists, for pages whose language is unknown (built once, ~0.4 s)."""
    return frozenset(word for language in get_stoplists() for word in get_stoplist(language))


def _justext_paragraphs(tree: HtmlElement, language: str | None) -> list[str]:
    if language in JUSTEXT_LANGUAGES:
        stoplist = frozenset(get_stoplist(JUSTEXT_LANGUAGES[language]))
    else:
        stoplist = _all_stopwords()
    dom = jt.preprocessor(deepcopy(tree))  # jusText mutates the tree it cleans
    paragraphs = jt.ParagraphMaker.make_paragraphs(dom)
    jt.classify_paragraphs(paragraphs, stoplist)
    jt.revise_paragraph_classification(paragraphs)
    return [p.text.strip() for p in paragraphs if not p.is_boilerplate and p.text.strip()]


# --- stage 3 -----------------------------------------------------------------------------------------------------


def _baseline_paragraphs(tree: HtmlElement) -> list[str]:
    """Every paragraph-like block outside page furniture, deduplicated, in page order."""
    body = deepcopy(tree)
    etree.strip_elements(body, *_BOILERPLATE_TAGS, with_tail=False)
    seen: set[str] = set()
    paragraphs: list[str] = []
    for element in body.iter("p", "blockquote", "pre"):
        if any(ancestor.tag in {"p", "blockquote", "pre"} for ancestor in element.iterancestors()):
            continue  # already counted with its container
        text = " ".join(element.text_content().split())
        if len(text) >= _MIN_PARAGRAPH and text not in seen:
            seen.add(text)
            paragraphs.append(text)
    if not paragraphs:
        _, text, _ = trafilatura.baseline(tree)
        paragraphs = _lines_to_paragraphs(text)
    return paragraphs


# --- assembly ----------------------------------------------------------------------------------------------------


def _canonical(signals: PageSignals, url: str | None, found: str | None) -> str | None:
    for candidate in (signals.canonical, found):
        if candidate:
            absolute = urljoin(url or "", candidate)
            if absolute.startswith(("http://", "https://")):
                return absolute
    return None


def _cascade(tree: HtmlElement, signals: PageSignals, url: str | None, budget: _Budget) -> tuple[list[str], str]:
    """Stages 1 to 3 on a page that fits the budget: the paragraphs and the stage that produced them."""
    document = trafilatura.bare_extraction(tree, url=url, include_comments=False)
    paragraphs = _lines_to_paragraphs(document.text or "") if document is not None else []
    if not _has_prose(paragraphs):
        paragraphs = []  # a menu or a few labels (trafilatura's rescue can return those) is no article
    text = "\n\n".join(paragraphs)
    if budget.exhausted or not _too_little(text, signals, tree):
        return paragraphs, "trafilatura"
    if signals.article_body and len(signals.article_body) > len(text):
        return _lines_to_paragraphs(signals.article_body), "json-ld"
    if not budget.exhausted:
        candidate = _justext_paragraphs(tree, language_code(signals.language))
        if len("\n\n".join(candidate)) > _JUSTEXT_GAIN * max(len(text), 1):
            return candidate, "justext"
    if paragraphs:
        return paragraphs, "trafilatura"
    return _baseline_paragraphs(tree), "baseline"


def extract_html(html: bytes | str, url: str | None = None, *, cpu_budget: float = 5.0) -> Article:
    """Extract the article text and metadata from a web page (sync: run it in a worker thread).

    Raises `ExtractionError` when the page has no article text or is too complex to read within `cpu_budget`
    CPU seconds.
    """
    budget = _Budget(cpu_budget)
    if len(html) > MAX_HTML_CHARS:
        raise ExtractionError(TOO_COMPLEX.format(reason=f"it is over {MAX_HTML_CHARS // 1_000_000} MB of HTML"))
    tree = _parse(html)
    fits = _check_cost(tree, cpu_budget)
    signals = read_signals(tree)
    if fits:
        paragraphs, stage = _cascade(tree, signals, url, budget)
        warnings = [_WARNINGS[stage]] if stage in _WARNINGS else []
    else:
        paragraphs, stage = _baseline_paragraphs(tree), "baseline"
        warnings = ["This page is very large, so only a simple scan of its paragraphs was made."]
    paragraphs, notice = strip_notices(paragraphs)
    # sign-up calls, share lines, credits and "Read more:" links survive every extractor now and then
    paragraphs = [p for p in paragraphs if noise_reason(p) is None]
    if not _has_prose(paragraphs):
        raise ExtractionError(NO_TEXT)
    text = "\n\n".join(paragraphs)

    metadata = page_metadata(tree, url, signals) if fits and not budget.exhausted else None
    page = tree if not budget.exhausted else None
    reasons = paywall_reasons(text, signals, page, notice_in_text=notice, from_article_body=stage == "json-ld")
    return Article(
        url=url,
        canonical_url=_canonical(signals, url, getattr(metadata, "url", None)),
        title=refine_title(getattr(metadata, "title", None), signals),
        byline=refine_author(getattr(metadata, "author", None), signals),
        published=refine_date(getattr(metadata, "date", None), signals),
        site_name=getattr(metadata, "sitename", None) or signals.site_name,
        language=language_code(signals.language),
        description=getattr(metadata, "description", None) or signals.description,
        text=text,
        word_count=len(text.split()),
        partial=bool(reasons),
        warnings=warnings + reasons,
        extractor=stage,
    )


_WARM_UP_PAGE = (
    "<html><head><title>Warm-up</title></head><body><article><h1>Warm-up page</h1>"
    "<p>This page only exists to load the extraction libraries and their caches before the first real page.</p>"
    "</article><footer>Copyright 2010 Example Footer Company</footer></body></html>"
)


def warm_up() -> None:
    """Load the extractors' lazy caches (jusText stoplists, dateparser locales: seconds of CPU on first use).

    Call once at start-up, in a thread, so the first article a user shares is not charged for them.
    """
    extract_html(_WARM_UP_PAGE)
    _all_stopwords()
    with contextlib.suppress(Exception):  # an internal helper of htmldate: a missing one only costs the warm-up
        from htmldate.extractors import external_date_parser

        external_date_parser("Copyright 2010 Example Footer Company", "%Y-%m-%d")
