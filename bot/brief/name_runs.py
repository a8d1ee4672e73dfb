"""Capitalised runs of an article as tokens: where a name may start and end ("NATO’s Jens Stoltenberg" is two)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.brief import speaker_lexicon as lex

ABBREVIATIONS = frozenset(
    "mr mrs ms dr sen rep gov gen lt col maj sgt capt cmdr adm rev fr hon prof st jr sr inc corp co ltd".split()
)
_CAP = r"[A-ZÀ-ÖØ-Þ][\w’'&.\-]*"
# A run of capitalised words joined by single spaces and name particles; split further by `breaks_after`.
_JOINERS = "|".join(sorted(lex.NAME_PARTICLES | {"of"}))
NAME_RUN = re.compile(rf"(?<![\w’'.\-]){_CAP}(?: (?:(?:{_JOINERS}) )*{_CAP})*")


@dataclass(slots=True)
class Token:
    """One word of a capitalised run, with its offsets in the article."""

    start: int
    end: int
    text: str
    low: str  # lower case, without a final period or possessive
    final: bool  # a sentence-ending period was stripped from it


def run_tokens(start: int, run: str) -> list[Token]:
    """Tokens of a capitalised run (words joined by single spaces, see `NAME_RUN`), without a regex pass."""
    tokens = []
    pos = start
    for word in run.split(" "):
        end = pos + len(word)
        t_end, final = end, False
        if word.endswith(".") and len(word) > 2 and "." not in word[:-1] and word[:-1].lower() not in ABBREVIATIONS:
            word, t_end, final = word[:-1], end - 1, True
        elif word.endswith(("’", "'", "-")):
            word, t_end = word[:-1], end - 1
        if word:
            tokens.append(Token(pos, t_end, word, lower_bare(word), final))
        pos = end + 1
    return tokens


def lower_bare(word: str) -> str:
    """Lower case, without a possessive ending or a final period: "NATO’s" -> "nato", "Sen." -> "sen"."""
    low = word.lower()
    if low.endswith(("’s", "'s")):
        low = low[:-2]
    elif low.endswith(("’", "'")):
        low = low[:-1]
    return low.rstrip(".")


def is_cap(token: Token) -> bool:
    """Whether the word starts with a capital."""
    return token.text[0].isupper()


def breaks_after(prev: Token, token: Token) -> bool:
    """A name ends after a sentence-final period or a possessive ("NATO’s Jens ..."), around a day or month, and
    before a capitalised function word (title-case headlines: "Outreach Undone By Trump")."""
    return (
        prev.final
        or prev.text.endswith(("’s", "'s"))
        or token.low in lex.DAYS_MONTHS
        or prev.low in lex.DAYS_MONTHS
        or (is_cap(token) and token.low in lex.STOP_CAPS and token.low not in lex.HONORIFICS)
    )
