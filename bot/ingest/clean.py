"""Clean-up of text people paste with an article: keep every story paragraph exactly once, drop the page's noise.

Noise comes in two kinds. Some paragraphs are noise on their own (`noise_reason`): subscribe and sign-up calls,
share and ad lines, image credits, "Read more:" and related-link lines, copyright lines. Those rules only fire on
short paragraphs written as calls to action or labels, so a story paragraph that mentions "subscribers" is kept.
Others are noise by position or repetition (`clean_pasted_text` only): a paragraph printed twice (a photo caption,
once plain and once with its credit: every copy goes), an author bio at the end, runs of short menu-like lines.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from bot.errors import ExtractionError
from bot.models import Article

_SPACES = re.compile(r"[ \t\f\v\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_INVISIBLE = re.compile(r"[\u200b-\u200d\u2060\ufeff]")
_TERMINAL = re.compile(r"[.!?:;,\"”’')\]…]$")

# Calls to action are imperatives: "Sign up for ...", "Subscribe now", "Get our free newsletter". The noun ("Sign-up
# rates doubled") and the reporting ("subscribers lost power") do not match.
_CALL_TO_ACTION = re.compile(
    r"^(?:sign(?:-| )?up|subscribe|register)(?:\s+(?:to|for|now|today|here|free|and|with)\b|\s*[:!.]?\s*$)"
    r"|^(?:join (?:now|today|free)|create (?:a|your) (?:free )?account)\b"
    r"|^(?:get|receive|join)\b.{0,60}\b(?:our|free|daily|weekly|breaking|latest)\b.{0,40}"
    r"\b(?:newsletters?|e-?mails?|inbox|alerts|updates)\b"
    r"|^(?:get|receive)\b.{0,80}\bin(?:to)? your (?:inbox|e-?mail)\b"
    r"|^(?:never miss|don'?t miss|stay (?:informed|up to date|in the know)|want (?:more|the latest))\b.{0,80}"
    r"\b(?:newsletters?|e-?mails?|inbox|alerts|sign(?:ing)?(?:-| )?up|subscribe|subscription)\b",
    re.IGNORECASE,
)
_NEWSLETTER_LABEL = re.compile(r"\bnewsletters?$", re.IGNORECASE)
_SHARE_OR_AD = re.compile(
    r"^(?:share(?: (?:this|the) (?:article|story|post|page))?(?: (?:on|via) \w+)?|advertisement|advertising|ad|"
    r"sponsored(?: content)?|story continues (?:below|after)(?: (?:this )?advertisement)?|"
    r"(?:article|story) continues below|continue reading(?: below)?|skip (?:ad|advertisement)|"
    r"tweet(?: this)?|e-?mail(?: this)?|print(?: this)?|copy (?:link|url)|save(?: (?:article|story))?|"
    r"(?:leave|add|view|show|read) (?:a |\d+ )?comments?|\d+ comments?|comments?)$"
    r"|^click here\b|^follow (?:us|\S+(?: \S+){0,3}) on (?:twitter|facebook|instagram|x|tiktok|linkedin|youtube)\b",
    re.IGNORECASE,
)
_CREDIT = re.compile(
    r"^(?:photo|image|picture|photograph|illustration|graphic|video|credit)s?(?: by| credit)?\s*[:©|]"
    r"|^(?:author|staff|profile|contributor) (?:picture|photo|image|headshot|avatar)$"
    r"|\((?:[\w.&-]+\s){0,4}photos?(?:/| by |: )[^)]{0,80}\)$"
    r"|(?:^|[\s/(])(?:getty images|shutterstock|istock(?:photo)?|afp via getty images)\)?$",
    re.IGNORECASE,
)
_READ_MORE = re.compile(
    r"^(?:read more|read also|also read|see also|more from|related(?: articles?| stories| coverage| content| links?)?|"
    r"recommended(?: for you)?|read next|up next|you may also like|more stories|more on this(?: story)?|"
    r"watch|listen)\s*(?::|\||–|—|-|>>|»)"
    r"|^(?:read more|related|see also|read next|more stories|recommended)$",
    re.IGNORECASE,
)
_COPYRIGHT = re.compile(r"^(?:©|copyright\b|\(c\)\s?\d{4})|\ball rights reserved\b", re.IGNORECASE)
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_WEEKDAY = r"(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?"
# "Published June 3, 2024", "Updated: 12/03/2024", "Posted 3 hours ago": the keyword, then a date right away.
_TIMESTAMP = re.compile(
    rf"^(?:published|updated|posted|last (?:updated|modified))(?: on| at)?:?\s+"
    rf"(?:{_MONTH}\s+\d|{_WEEKDAY}\s|\d{{1,4}}[-/.]\d|\d{{1,2}}\s+{_MONTH}|\d+\s+(?:minutes?|hours?|days?)\s+ago)",
    re.IGNORECASE,
)
_NAME = r"[A-Z][\w'’.-]*(?: [A-Z][\w'’.-]*){0,3}"
_BYLINE = re.compile(rf"^(?:[Bb]y|BY)\s+({_NAME}(?:(?:,| and| &) {_NAME}){{0,3}})$")

# An author bio opens with a name and what the person does, and says where they are based, worked or studied.
_BIO_OPENER = re.compile(
    r"^(?:[A-Z][\w'’.-]+ ){0,3}[A-Z][\w'’.-]+ "
    r"(?:covers|writes|reports|is an? |is the |has (?:been|covered|written|reported)|joined)"
)
_BIO_SIGNALS = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"\bbased in\b",
        r"\bpreviously\b",
        r"\b(?:a )?graduate of\b|\bgraduated from\b|\bholds an? [^.]{0,40}degree\b",
        r"\bjoined (?:the|[A-Z])",
        r"\bworked (?:for|at|as)\b",
        r"\b(?:reporter|correspondent|editor|journalist|columnist|contributor|staff writer)\b",
        r"\bfollow (?:him|her|them)\b|\bcan be reached\b|\breach (?:him|her|them) at\b|@\w{2,}",
        r"\bcovers\b|\bwrites about\b|\breports on\b",
    )
]
_MENU_WORDS = 3
_PROSE_WORDS = 6  # an article has at least one paragraph this long
_SHORT_NOISE_WORDS = 40  # the single-paragraph rules never judge a longer paragraph
_NEAR_REPEAT = 0.9
_FUZZY_MAX_CHARS = 1000
_TRAILING_CREDIT = re.compile(r"\s*(?:\([^()]{1,60}\)|(?:photo|image|credit)s?:[^.]{1,80})\s*$", re.IGNORECASE)


@dataclass
class CleanedText:
    """Pasted text without its noise; `removed` lists each dropped paragraph as "reason: paragraph"."""

    text: str
    removed: list[str] = field(default_factory=list)
    byline: str | None = None


def noise_reason(paragraph: str) -> str | None:
    """Why a paragraph is noise on its own (sign-up call, share/ad line, credit, related link), or None."""
    paragraph = paragraph.lstrip("-–•*· ")  # a list item ("- Share this article") is judged by its text
    words = len(paragraph.split())
    if words > _SHORT_NOISE_WORDS:
        return None
    if _CALL_TO_ACTION.search(paragraph) or (words <= 6 and _NEWSLETTER_LABEL.search(paragraph)):
        return "subscribe/sign-up call"
    if words <= 15 and _SHARE_OR_AD.search(paragraph):
        return "share/ad line"
    if words <= 25 and _CREDIT.search(paragraph):
        return "image credit"
    if words <= 25 and _READ_MORE.search(paragraph):
        return "related link"
    if words <= 30 and _COPYRIGHT.search(paragraph):
        return "copyright line"
    if words <= 12 and _TIMESTAMP.search(paragraph):
        return "timestamp"
    return None


def _is_bio(paragraph: str) -> bool:
    if not _BIO_OPENER.match(paragraph):
        return False
    return sum(bool(signal.search(paragraph)) for signal in _BIO_SIGNALS) >= 3


def _normalise(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _INVISIBLE.sub("", text)
    return "\n".join(_SPACES.sub(" ", line).strip() for line in text.split("\n"))


def _units(text: str) -> list[str]:
    """Paragraph candidates: every non-empty line, re-joining lines that were hard-wrapped mid-sentence."""
    blank_separated = "\n\n" in text
    units: list[str] = []
    previous_blank = True
    for line in text.split("\n"):
        if not line:
            previous_blank = True
            continue
        last = units[-1] if units else ""
        wrapped = (
            not previous_blank
            and last
            and not _TERMINAL.search(last)
            and (line[0].islower() or (blank_separated and len(last.rsplit("\n", 1)[-1]) >= 60))
        )
        if wrapped:
            units[-1] = f"{last} {line}"
        else:
            units.append(line)
        previous_blank = False
    return units


def _caption_key(paragraph: str) -> str:
    """A paragraph without a trailing credit, for spotting a caption printed twice."""
    return " ".join(_TRAILING_CREDIT.sub("", paragraph).casefold().split())


def _same(a: str, b: str) -> bool:
    if a == b:
        return True
    # difflib is quadratic: only captions-sized paragraphs of similar length get the fuzzy comparison
    if max(len(a), len(b)) > _FUZZY_MAX_CHARS or min(len(a), len(b)) < _NEAR_REPEAT * max(len(a), len(b)):
        return False
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    return matcher.real_quick_ratio() >= _NEAR_REPEAT and matcher.ratio() >= _NEAR_REPEAT


def _repeated(units: list[str]) -> set[int]:
    """Indexes of every copy of a paragraph that appears more than once (exactly, or but for a credit)."""
    keys = [_caption_key(u) for u in units]
    # near-repeats share their opening: compare only within those groups, so long pastes stay linear
    groups: dict[str, list[int]] = {}
    for index, key in enumerate(keys):
        if key:
            groups.setdefault(key[:20], []).append(index)
    repeated: set[int] = set()
    for members in groups.values():
        for position, i in enumerate(members):
            for j in members[position + 1 :]:
                if _same(keys[i], keys[j]):
                    repeated.update((i, j))
    return repeated


def _menu_like(unit: str) -> bool:
    return len(unit.split()) <= _MENU_WORDS and len(unit) <= 30 and not _TERMINAL.search(unit)


def clean_pasted_text(text: str) -> CleanedText:
    """Drop the noise pasted along with an article; paragraphs in the result are separated by a blank line."""
    units = _units(_normalise(text))
    reasons: dict[int, str] = {}
    byline = None
    for index, unit in enumerate(units):
        reason = noise_reason(unit)
        found = _BYLINE.match(unit)
        if reason is None and found and byline is None:
            byline, reason = found.group(1).strip(), "byline"
        if reason:
            reasons[index] = reason
    for index in _repeated(units):
        reasons.setdefault(index, "repeated paragraph (photo caption)")
    # runs of two or more short label-like lines (once other noise is set aside) are a menu, tags or a share bar
    run: list[int] = []
    for index in [i for i in range(len(units)) if i not in reasons] + [-1]:
        if index >= 0 and _menu_like(units[index]):
            run.append(index)
            continue
        if len(run) >= 2:
            reasons.update(dict.fromkeys(run, "menu-like line"))
        run = []
    # the author bio closes the story: only noise may follow it
    for index in range(len(units) - 1, -1, -1):
        if index in reasons:
            continue
        if _is_bio(units[index]):
            reasons[index] = "author bio"
            continue
        break
    kept = [unit for index, unit in enumerate(units) if index not in reasons]
    removed = [f"{reasons[index]}: {unit}" for index, unit in enumerate(units) if index in reasons]
    return CleanedText(text="\n\n".join(kept), removed=removed, byline=byline)


def _headline_like(paragraph: str) -> bool:
    words = paragraph.split()
    return 2 <= len(words) <= 20 and len(paragraph) <= 160 and not paragraph.endswith((".", ",", ";", ":"))


def article_from_text(text: str, *, title: str | None = None) -> Article:
    """Clean pasted text and build an Article; the title is guessed from a first headline-like line if not given.

    Raises `ExtractionError` when nothing that reads like a sentence is left.
    """
    cleaned = clean_pasted_text(text)
    paragraphs = cleaned.text.split("\n\n") if cleaned.text else []
    if not any(len(p.split()) >= _PROSE_WORDS for p in paragraphs):
        raise ExtractionError("No article text found in what was pasted.")
    # the headline stays in the text, as on a web page; it is also the title
    if title is None and len(paragraphs) >= 2 and _headline_like(paragraphs[0]):
        title = paragraphs[0]
    body = cleaned.text
    return Article(
        title=title,
        byline=cleaned.byline,
        text=body,
        word_count=len(body.split()),
        extractor="pasted-text",
    )
