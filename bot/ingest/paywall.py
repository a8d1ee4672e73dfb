"""Paywall and teaser detection: is the text we extracted the whole article?

Evidence, strongest first: a subscribe-to-continue notice inside the extracted text; the page's own JSON-LD saying
`isAccessibleForFree: false`; a body much shorter than the page's JSON-LD `articleBody` or `wordCount`, or than its
own meta description; a paywall notice elsewhere on a page whose body is short. Each piece of evidence yields one
user-facing reason; any reason makes the Article `partial`.
"""

from __future__ import annotations

import re

from lxml import etree
from lxml.html import HtmlElement

from bot.ingest.metadata import PageSignals

# Notices that only appear when the reader is being asked to pay or register to read on. Written to be specific:
# a story that merely mentions "subscribers" or "subscriptions" must not match.
PAYWALL_NOTICE = re.compile(
    r"\bsubscribe (?:now |today )?(?:to|and) (?:continue|keep|read|unlock)\b"
    r"|\b(?:subscribe|sign in|log in|register|become a (?:member|subscriber))\b"
    r"[^.!?]{0,40}\bto (?:continue|keep) reading\b"
    r"|\bto (?:continue|keep) reading\b[^.!?]{0,40}\b(?:subscribe|subscription|sign in|log in|register)\b"
    r"|\bthis (?:article|story|content|post|piece) is (?:only |exclusively )?(?:available |reserved )?"
    r"(?:for|to) (?:our )?(?:paid |paying |premium |digital )?(?:subscribers|members)\b"
    r"|\b(?:for|to) (?:paid |paying |premium )?subscribers only\b"
    r"|\bsubscriber[- ]only (?:article|story|content)\b"
    r"|\byou(?:'ve| have) (?:reached|used) (?:your|all (?:of )?your|the) (?:limit of |monthly )?"
    r"free (?:articles|stories)\b"
    r"|\byou(?:'ve| have) reached your (?:free )?(?:article|monthly|reading) limit\b"
    r"|\bunlock (?:this|the full|full) (?:article|story)\b"
    r"|\bthe rest of this (?:article|story) is (?:only )?(?:available|reserved) (?:to|for)\b"
    r"|\bto (?:view|read|see|access) (?:the|this) (?:full|complete|entire|rest of the) (?:story|article)\b"
    r"[^.!?]{0,60}\b(?:subscribe|subscription|sign in|log in|register)"
    r"|\b(?:subscribe|sign in|log in|register)\b[^.!?]{0,60}\b(?:for|to read|to view) the (?:full|complete|entire) "
    r"(?:story|article)\b"
    r"|\balready (?:a )?(?:subscriber|member)\b[^.!]{0,40}(?:\?|\b(?:log|sign) in\b)",
    re.IGNORECASE,
)
# Every notice above contains one of these: a cheap test before the regex, which runs on every paragraph.
_NOTICE_WORDS = ("subscri", "reading", "member", "free", "unlock", "rest of", "full", "already", "limit")
# A notice is a short paragraph; a long one that contains such words is story text (or a quote of one).
_NOTICE_MAX_CHARS = 400
_TAIL_PARAGRAPHS = 4
# Page-level notices count only when the body is short: metered paywalls show their notice on every page.
_SHORT_BODY_CHARS = 1500
_INVISIBLE = {"script", "style", "noscript", "template"}
# Coverage thresholds against what the page says about itself.
_BODY_SHARE = 0.5  # fewer than half the words of JSON-LD articleBody / wordCount: partial
_COMPLETE_SHARE = 0.8  # at least this share: complete, whatever isAccessibleForFree says


def is_notice(text: str) -> bool:
    """A short subscribe-to-continue notice."""
    if len(text) > _NOTICE_MAX_CHARS:
        return False
    lowered = text.lower()
    return any(word in lowered for word in _NOTICE_WORDS) and PAYWALL_NOTICE.search(text) is not None


def strip_notices(paragraphs: list[str]) -> tuple[list[str], bool]:
    """Drop short paywall notices from the end (and anywhere, if short); report whether any was found."""
    kept: list[str] = []
    found = False
    tail_start = max(0, len(paragraphs) - _TAIL_PARAGRAPHS)
    for index, paragraph in enumerate(paragraphs):
        if is_notice(paragraph) and (index >= tail_start or len(paragraph) < 200):
            found = True
            continue
        kept.append(paragraph)
    return kept, found


def _page_has_notice(tree: HtmlElement) -> bool:
    # visible wording only: paywall class names ("paywall", "subscriber-only") ship on free pages too
    for element in tree.iter(etree.Element):
        if element.tag in _INVISIBLE:
            continue
        if any(text and is_notice(text) for text in (element.text, element.tail)):
            return True
    return False


def paywall_reasons(
    text: str, signals: PageSignals, tree: HtmlElement | None, *, notice_in_text: bool, from_article_body: bool
) -> list[str]:
    """Reasons to believe `text` is only part of the article; empty when it looks complete."""
    reasons: list[str] = []
    words = len(text.split())
    if notice_in_text:
        reasons.append("The page asks readers to subscribe or sign in to continue, so only the free part was read.")
    body_words = len(signals.article_body.split()) if signals.article_body else 0
    expected = max(body_words, signals.word_count or 0)
    covered = expected > 0 and words >= _COMPLETE_SHARE * expected
    if signals.accessible_for_free is False and not covered and not from_article_body:
        reasons.append("The page marks this article as subscriber-only; the text may be only the free part.")
    if expected and words < _BODY_SHARE * expected:
        reasons.append(
            f"The page describes a longer article (about {expected} words) than could be read ({words} words)."
        )
    description = signals.description or ""
    if len(description) >= 80 and len(text) < 1.1 * len(description) and not covered:
        reasons.append("Only a teaser could be read: the text is no longer than the page's own summary.")
    if not reasons and not covered and len(text) < _SHORT_BODY_CHARS and tree is not None and _page_has_notice(tree):
        reasons.append("The page shows a subscription notice and only a short text could be read.")
    return reasons
