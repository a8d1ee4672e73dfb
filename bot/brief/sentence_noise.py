"""Which sentences of a pasted or extracted article are not statements: photo captions and credits, boilerplate
(subscribe prompts, copyright lines), staff bios, questions and fragments. Key points, the TL;DR and implications
are drawn only from the rest.
"""

from __future__ import annotations

import re

# Captions and credits. A caption in one sentence makes its whole paragraph a caption (the sentence after a caption's
# date line reads like body text but only restates the story). Cheap substring tests gate the regexes: speed matters.
_CREDIT_END = re.compile(
    r"""\((?:AP|AFP|EPA|Reuters|Getty|Photo|Image|Credit|File|Courtesy|Pool)\b[^)]*\)\s*$
      | [.!?]["”’]?\s*\([^()]{1,60}\)\s*$""",
    re.VERBOSE | re.IGNORECASE,
)
_CREDIT_WORDS = re.compile(
    r"\b(?:AP|AFP|Reuters) Photo\b|\bGetty Images\b|\bShutterstock\b"
    r"|\b(?:Photo|Photograph|Image) (?:by|courtesy|credit)\b",
    re.IGNORECASE,
)
_CREDIT_HINTS = ("photo", "getty", "shutterstock", "image")
_CAPTION_LABEL = re.compile(
    r"(?:Photo|Photograph|Picture|Pictured|Image|Credit|Caption|Above|Below|Top|Main|Inset)(?: \w+)?:", re.IGNORECASE
)
_DATE_END = re.compile(r"\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.? \d{1,2}, \d{4}\.?$")
# "Jens Stoltenberg opens", "Firefighters battle": a name, or a plural, followed by a present-tense verb, as captions
# are written ("Residents voted on March 5, 2024." and "Officials said ..." are story sentences).
_PRESENT_AFTER_NAME = re.compile(
    r"\b[A-Z][\w'’-]+,? (?!is\b|was\b|has\b|its\b|this\b|as\b|us\b)[a-z]{2,}[^s\W]s\b"
    r"|\b[A-Z][a-z]+s (?!(?:are|were|have|had|said|told|did|and|of|in|at|on|for|from|to|with)\b)"
    r"(?![a-z]+ed\b)[a-z]{3,}\b"
)

_BOILER_START = re.compile(
    r"""(?:subscribe|sign\ up|log\ in|click|tap\ here|advertisement|sponsored|most\ read|trending\ now|view\ comments
         |share\ (?:this|on|via)|follow\ us|download\ (?:the|our)|(?:watch|listen|related|more|see\ also|read\ more
         |read\ next)\s*(?::|\bthe\ (?:video|full)\b|\bnow\b))""",
    re.VERBOSE | re.IGNORECASE,
)
_BOILER_WORDS = re.compile(
    r"""\bclick\ here\b | \ball\ rights\ reserved\b | © | \bcopyright\ (?:\d{4}|©) | \bauthor\ picture\b
      | \bcontributed\ (?:reporting\ )?to\ this\ (?:report|story)\b | \b(?:our|free|daily|weekly|morning)\ newsletter\b
      | \bthis\ (?:article|story)\ (?:originally|first)\ (?:appeared|ran)\b | \bfollow\ (?:us|me)\ on\b
      | \bfollow\ \w+\ on\ (?:twitter|x|instagram|facebook)\b""",
    re.VERBOSE | re.IGNORECASE,
)
_BOILER_HINTS = ("click", "rights", "©", "copyright", "contributed", "author", "newsletter", "first", "ran", "follow")
# A staff bio ("Jane covers city hall for the Courier.") marks its whole paragraph as boilerplate.
_BIO = re.compile(
    r"""[A-Z][\w.'’-]+(?:\ [A-Z][\w.'’-]+){0,2}\ (?:covers|reports\ on|writes\ about|is\ an?\ (?:staff\ |senior\ )?
        (?:reporter|writer|correspondent|editor|journalist|contributor))\b""",
    re.VERBOSE,
)
_VERBISH = re.compile(r"\b(?:is|are|was|were|be|been|has|have|had|will|would|can|could|may|might|must|should|"
                      r"did|does|do|said|says|told|\w+ed|\w{3,}s)\b", re.IGNORECASE)  # fmt: skip


def is_bio(body: str) -> bool:
    """Whether a paragraph-opening sentence is a staff bio ("Jane covers city hall for the Courier.")."""
    return bool(_BIO.match(body))


def reject_reason(raw: str, body: str, words: int) -> str | None:
    """Why a sentence (`raw`, `body` its trimmed span of `words` words) is no statement: "caption", "boilerplate",
    "question" or "fragment"; None for a usable sentence."""
    if _is_caption(raw):
        return "caption"
    if words < 30 and (_is_boilerplate(raw) or (len(body) != len(raw) and _is_boilerplate(body))):
        return "boilerplate"
    if body.rstrip("\"'”’)").endswith("?"):
        return "question"
    if words < 6 or (words < 12 and not _VERBISH.search(body)):
        return "fragment"
    return None


def _is_caption(raw: str) -> bool:
    tail = raw[-80:]
    if tail.endswith(")") and _CREDIT_END.search(tail):
        return True
    lowered = raw.lower()
    if any(hint in lowered for hint in _CREDIT_HINTS) and _CREDIT_WORDS.search(raw):
        return True
    if _CAPTION_LABEL.match(raw):
        return True
    if not (tail[-4:].isdigit() or tail[-5:-1].isdigit()):
        return False
    return bool(_DATE_END.search(tail)) and bool(_PRESENT_AFTER_NAME.search(raw))


def _is_boilerplate(body: str) -> bool:
    if _BOILER_START.match(body):
        return True
    lowered = body.lower()
    return any(hint in lowered for hint in _BOILER_HINTS) and bool(_BOILER_WORDS.search(body))
