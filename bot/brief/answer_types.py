"""Answer types of sentences: where a sentence mentions a number, an amount, a date, a name, a reason...

A question's answer type (qa_terms.analyse: "how many" wants a QUANTITY) is met by a sentence that has an expression
of that type; `type_offsets` says where each starts, so retrieval can also ask whether it stands near a question word.
"""

from __future__ import annotations

import re

from bot.brief.qa_terms import MONTH

_NUMBER = (
    r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|twenty|thirty"
    r"|forty|fifty|sixty|seventy|eighty|ninety|hundred|thousand|million|billion|dozens?|half|third|quarter|double)"
)
_UNITS = r"(?:years?|months?|weeks?|days?|hours?|minutes?|seconds?|decades?|centur(?:y|ies)|seasons?|nights?)"
_WEIGHTS = r"(?:kilograms?|kg|tons?|tonnes?|pounds|lbs?|grams?)"
_LENGTHS = r"(?:miles?|kilomet(?:re|er)s?|km|met(?:re|er)s?|feet|foot|inch(?:es)?|yards?)"
_MEASURES = rf"(?:{_LENGTHS}|{_WEIGHTS}|degrees?|hectares?|acres?|lit(?:re|er)s?|gallons?|square)"
_AMOUNT = rf"\b(?:\d[\d,.]*|{_NUMBER})[- ]"
# Each answer type is a pattern over a sentence's text; capitalised names are matched on the raw text.
FEATURES: dict[str, re.Pattern[str]] = {
    name: re.compile(pattern, flags)
    for name, pattern, flags in (
        ("NUM", rf"\d|\b{_NUMBER}\b", re.I),
        ("MONEY", r"[$€£¥]\s?\d|\b\d[\d,.]*\s*(?:dollars|euros|pounds|pence|cents|yen)\b|\bfree\b", re.I),
        ("PERCENT", r"\d\s?%|\bper ?cent\b|\bhalf\b|\bthird\b|\bquarter\b", re.I),
        (
            "DURATION",
            rf"\b(?:\d[\d,.]*|{_NUMBER}|several|few)[- ](?:(?!a |an |per )[a-z]+[- ])?{_UNITS}\b|\buntil\b",
            re.I,
        ),
        ("MEASURE", rf"{_AMOUNT}{_MEASURES}\b", re.I),
        ("WEIGHT", rf"{_AMOUNT}{_WEIGHTS}\b", re.I),
        ("LENGTH", rf"\b(?:\d[\d,.]*|{_NUMBER}|an?)[- ]{_LENGTHS}\b", re.I),
        ("TEMPERATURE", r"\b-?\d[\d,.]*\s*(?:°\s*[CF]?|degrees?)", re.I),
        ("SPEED", r"\b\d[\d,.]*\s*(?:mph|km/h|kph|knots|(?:kilomet|met|mile)\w* (?:per|an|a) (?:hour|second))", re.I),
        (
            "DATE",
            rf"\b{MONTH}\b\.?|\b(?:mon|tues|wednes|thurs|fri|satur|sun)day\b|\b(?:1[6-9]|20)\d\d\b"
            r"|\b\d{1,2}(?::\d\d)?\s?[ap]\.?m\b|\b(?:today|tonight|tomorrow|yesterday|spring|summer|autumn|fall|winter"
            r"|decade|ago|since|until)\b|\b(?:next|last|this|early|late)\s+(?:week|month|year|season)\b"
            rf"|\b(?:within|in|after) (?:the next |about |another )?(?:\d+|{_NUMBER}|a few|several) {_UNITS}\b",
            re.I,
        ),
        ("TIME", r"\b\d{1,2}(?::\d\d)?\s?[ap]\.?m\b|\b(?:noon|midnight|morning|afternoon|evening|night)\b", re.I),
        (
            "PERSON",
            r"(?<!^)(?<![.!?]\s)\b[A-Z][a-z'’]+(?:\s+(?:[A-Z]\.\s+)?[A-Z][a-z'’-]+)+"
            r"|\b(?:Mr|Mrs|Ms|Dr|Prof|Sen|Gov|Mayor|President|Minister|Judge|Captain|Dame|Sir)\.?\s+[A-Z]"
            r"|\b(?:company|firm|foundation|university|council|agency|group|team|students|researchers|scientists"
            r"|government|ministry|department|authority|police|court|union|board|commission|regulator)\b",
            0,
        ),
        (
            "PLACE",
            r"\b(?:in|at|near|from|to|across|along|outside|inside|on)\s+(?:the\s+)?[A-Z][a-z]+|\b(?:street|road"
            r"|avenue|city|town|village|county|province|region|district|site|hall|station|river|pier)\b",
            0,
        ),
        (
            "REASON",
            r"\b(?:because|due to|after|since|so that|in an effort|in order|as a result|caused?|blamed?|blaming"
            r"|driven by|amid|thanks to|aims? to|designed to|fears? (?:of|that)|worr(?:y|ied) that"
            r"|concerns? (?:about|over|that)|to (?:attract|cut|help|avoid|reduce|protect|make))\b",
            re.I,
        ),
        ("NAMED", r"\b(?:called|named|renamed|dubbed|known as)\s+(?:the\s+)?[A-Z]", 0),  # "the lander, named Cormorant"
        ("QUOTE", r"[\"“”]|\b(?:said|says|told|argued|warned|added|wrote|described)\b", 0),
    )
}
# A "how long" answer is a time span or a length ("a 4.3-mile bypass"); a "how many/much" one, any amount; a
# "which" one, a name.
ACCEPTS = {"DURATION": ("DURATION", "MEASURE"), "QUANTITY": ("QUANTITY", "MEASURE"), "ENTITY": ("PERSON",)}
# A count or amount: a number that is not a year, a time of day, a day of the month or part of a name ("MVX-4",
# "AP-68"). "one" is left out: it is more often a pronoun ("one said") than a count.
_QUANTITY = re.compile(
    rf"(?<![\w:-])(?:[$€£¥]\s?)?\d(?:[\d,.]*\d)?(?![\w-]*[A-Za-z]{{2}})(?![:\d])(?!\s?[ap]\.?m\b)"
    rf"|\b{_NUMBER.replace('one|', '')}\b",
    re.I,
)
_DAY_OF_MONTH = re.compile(rf"\b{MONTH}\.?\s$", re.I)


_NUMBER_LED = frozenset(
    ("MEASURE", "WEIGHT", "SPEED", "TEMPERATURE")
)  # patterns that start with a number: skipped without one


def type_offsets(text: str) -> dict[str, tuple[int, ...]]:
    """Where in a sentence each answer type it could answer starts (character offsets)."""
    numeric = bool(FEATURES["NUM"].search(text))
    found = {
        name: tuple(m.start() for m in pattern.finditer(text))
        for name, pattern in FEATURES.items()
        if numeric or name not in _NUMBER_LED
    }
    found["QUANTITY"] = (
        ()
        if not numeric
        else tuple(
            m.start()
            for m in _QUANTITY.finditer(text)
            if not re.fullmatch(r"(?:1[89]|20)\d\d", m.group(0).strip("$€£¥ "))  # a year
            and not _DAY_OF_MONTH.search(text[max(0, m.start() - 6) : m.start()])  # "March 3", "Sept. 18"
        )
    )
    return {name: starts for name, starts in found.items() if starts}


def sentence_features(text: str) -> frozenset[str]:
    """The answer types a sentence could answer (it mentions a number, a date, a name, a reason...)."""
    return frozenset(type_offsets(text))
