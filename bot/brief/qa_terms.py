"""The words of follow-up questions and article sentences: terms, a light stemmer, synonyms and answer types.

Everything here is rules and small hand-written tables (no downloadable models). The stemmer is deliberately light:
it conflates inflections ("closing", "closed", "close"; "cities", "city") and a few derivations ("evacuation",
"evacuate") but never cuts "-er" or "-ment", which would merge unrelated news words ("water"/"wat").
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

STOPWORDS = frozenset(
    """
    a about above after again all also am an and any are as at be because been before being below between
    both but by can could did do does doing down during each few for from further had has have having he her here hers
    herself him himself his how i if in into is it its itself just me more most my myself no nor not of off on
    once only or other our ours out over own same she should so some such than that the their theirs them then there
    these they this those through to too under until up very was we were what when where which while who whom whose
    why will with would you your yours us let lets s t don ll re ve d m o
    across along around toward towards within without onto upon among beside behind beyond near via per
    instead everyone everybody anyone anybody someone somebody
    say says said saying tell tells told mention mentions mentioned article story piece report reports reported
    according happen happens happened happening know going getting really actually exactly still ever
    thing things anything something way much many
    """.split()
)

# Everyday words that questions use loosely ("how did the trial *work*", "who *took part*", "what's *next*"): they
# stay in the query but weigh less, so an everyday word the article happens not to use does not sink a question
# whose specific words it does use, and it never becomes the question's key term.
GENERIC = frozenset(
    """
    take part work well lead next new old big small little good bad great high low long short make use want need give
    keep put set look find show try call ask feel become leave turn move live play run hold bring begin seem help
    talk start end stop change plan expect include continue follow provide allow add grow meet stay remain decide
    happen think believe consider appear go come see hear let mean like last first second other same different
    important main whole able sure clear likely real true big large early late next recent now today
    time way person people thing part place case point number fact
    kind lot side area home back matter reason result effect idea information detail details example
    fall rise react respond feel extra additional previous former earlier later latest one ones
    do does did done get gets got receive also even still just whole overall exactly really
    """.split()
)

# Irregular forms the suffix rules cannot reach, mapped to the form the rules give the base word.
_IRREGULAR = dict(
    pair.split(":")
    for pair in """
    bought:buy sold:sell paid:pay spent:spend built:build began:begin begun:begin won:win lost:lose rose:rise
    risen:rise fell:fall fallen:fall left:leave took:take taken:take gave:give given:give made:make went:go gone:go
    ran:run held:hold found:find grew:grow grown:grow chose:choose chosen:choose kept:keep led:lead met:meet
    sent:send brought:bring wrote:write written:write drove:drive driven:drive children:child kids:kid men:man
    women:woman people:person died:die dies:die dying:die lives:life cheaper:cheap cheapest:cheap bigger:big
    biggest:big larger:large largest:large higher:high highest:high longer:long lower:low lowest:low older:old
    oldest:old worse:bad worst:bad best:good better:good fewer:few news:news series:series
    """.split()
)

# Paraphrase groups common in questions about news ("how much will it cost" vs "price tag"). Words in a group
# match one another at a discount (see retrieval.SYNONYM_WEIGHT).
_SYNONYM_GROUPS = [
    "cost price pay spend budget fee worth expense money",
    "pay fund funding finance sponsor",
    "own owner ownership",
    "current now present",
    "die death dead kill fatal fatality",
    "start begin launch open commence kick release",
    "get receive obtain",
    "hit affect impact",
    "team division department unit",
    "lose lay layoff",
    "participate enrol enroll join",
    "job employ employee worker work staff",
    "charge count",
    "trip journey voyage travel flight",
    "work operate function",
    "hurt harm damage",
    "return back",
    "resident person citizen local",
    "end finish close conclude",
    "build construct construction",
    "worker employee staff workforce personnel",
    "job post position role vacancy employ",
    "boss chief executive ceo head lead leader director run president chairman principal",
    "company firm business corporation",
    "car vehicle traffic",
    "kid child student pupil",
    "fund funding finance grant",
    "rain rainfall downpour",
    "rise increase climb jump grow raise hike",
    "fall drop decline decrease shrink ease",
    "lose loss",
    "buy purchase",
    "sell sale",
    "quit resign",
    "lawyer attorney",
    "fix repair",
    "road street motorway highway",
    "problem issue wrong damage",
    "name call",
    "tall height high peak",
    "heavy weigh weight",
    "far distance",
    "home house housing",
    "leave evacuate",
    "stock share",
    "design architect",
    "study research trial",
    "town city village",
    "big large size capacity hold",
    "back support favor favour",
    "oppose against",
    "opinion think view",
    "worry concern fear",
    "doctor physician",
    "plan intend",
    "cheap cheaper inexpensive",
    "appeal challenge",
    "convict guilty",
    "stadium ground arena",
    "sleep night",
    "bill rate",
]

_WORD = re.compile(r"[^\W_]+(?:[.,]\d+)*(?:['’][^\W_]+)?")
_VOWEL = re.compile(r"[aeiouy]")
# Abbreviations expanded before tokenising, so "US workers" meets "United States" (and "us" is no stop word).
_ABBREVIATIONS = [
    (re.compile(r"\bU\.S\.(?:A\.)?|\bUSA?\b"), " United States "),
    (re.compile(r"\bU\.K\.|\bUK\b"), " United Kingdom "),
    (re.compile(r"\bE\.U\.|\bEU\b"), " European Union "),
    (re.compile(r"\bU\.N\.|\bUN\b"), " United Nations "),
]


def fold(text: str) -> str:
    """Lower-cased `text` without accents ("Alagón" -> "alagon"), so questions typed without them still match."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@lru_cache(maxsize=16384)
def stem(word: str) -> str:
    """A light stem of a lower-cased word (see the module docstring)."""
    word = _IRREGULAR.get(word, word)
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("sses"):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for suffix in ("ing", "ed", "ly"):
        base = word[: -len(suffix)]
        if word.endswith(suffix) and len(base) >= 3 and _VOWEL.search(base):
            # Undouble "running" -> "run", "planned" -> "plan", but keep "-ll"/"-ss" ("called", "passed").
            word = base[:-1] if len(base) > 3 and base[-1] == base[-2] and base[-1] not in "lsz" else base
            if word.endswith("i") and suffix == "ed":
                word = word[:-1] + "y"  # "worried" -> "worry"
            break
    if word.endswith("ious") and len(word) > 6:
        word = word[:-4]  # "cautious" -> "caut", as "caution" -> "caut"
    elif word.endswith(("ation", "ator")) and len(word) > 6:
        word = word[:-3] + "e"
    elif word.endswith("ion") and len(word) > 6 and word[-4] == "t":
        word = word[:-3]  # "inspection" -> "inspect", "construction" -> "construct"
    if word.endswith("e") and len(word) > 3 and not word.endswith("ee"):
        word = word[:-1]
    return word


def expand_abbreviations(text: str) -> str:
    """`text` with the few abbreviations that questions and articles spell differently written out."""
    for pattern, expansion in _ABBREVIATIONS:
        text = pattern.sub(expansion, text)
    return text


def words(text: str) -> list[str]:
    """Folded word tokens of `text`, possessives cut, thousands separators dropped from numbers ("23,000")."""
    text = expand_abbreviations(text)
    out = []
    for raw in _WORD.findall(fold(text).replace("’", "'")):
        token = raw.split("'")[0] if raw.endswith(("'s", "'")) else raw
        out.append(token.replace(",", "") if token[:1].isdigit() else token)
    return out


def content_terms(text: str) -> list[str]:
    """Stemmed content terms of `text`, stop words dropped, in order (with repeats)."""
    # Negated auxiliaries ("won't", "can't") carry no topic, and "won" would pass for the verb "win".
    return [stem(w) for w in words(text) if w not in STOPWORDS and (len(w) > 1 or w.isdigit()) and not w.endswith("'t")]


def _synonym_map() -> dict[str, frozenset[str]]:
    table: dict[str, set[str]] = {}
    for group in _SYNONYM_GROUPS:
        stems = {stem(w) for w in group.split()}
        for s in stems:
            table.setdefault(s, set()).update(stems - {s})
    return {k: frozenset(v) for k, v in table.items()}


SYNONYMS = _synonym_map()
# The adjective of "how big/far/heavy..." says what kind of number is wanted more than what the question is about.
TYPE_ADJECTIVES = frozenset(stem(w) for w in "big large high heavy tall far old deep wide fast often".split())
# Words that, in a "how much" question, restate the answer type more than the topic ("how much did NASA pay").
MONEY_WORDS = frozenset(stem(w) for w in "cost price pay spend worth money expense fee".split())
GENERIC_STEMS = frozenset(stem(w) for w in GENERIC)

# ---- answer types ------------------------------------------------------------------------------------------------

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?"
    r"|nov(?:ember)?|dec(?:ember)?)"
)
_NUMBER_WORDS = (
    r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|twenty|thirty"
    r"|forty|fifty|sixty|seventy|eighty|ninety|hundred|thousand|million|billion|dozens?|half|third|quarter|double)"
)
_UNITS = r"(?:years?|months?|weeks?|days?|hours?|minutes?|seconds?|decades?|centur(?:y|ies)|seasons?|nights?)"
# Each answer type is a pattern over a sentence's text. Capitalised names are matched on the raw text.
FEATURES: dict[str, re.Pattern[str]] = {
    "NUM": re.compile(rf"\d|\b{_NUMBER_WORDS}\b", re.IGNORECASE),
    "MONEY": re.compile(r"[$€£¥]\s?\d|\b\d[\d,.]*\s*(?:dollars|euros|pounds|cents|yen)\b", re.IGNORECASE),
    "PERCENT": re.compile(r"\d\s?%|\bper ?cent\b|\bhalf\b|\bthird\b|\bquarter\b", re.IGNORECASE),
    "DURATION": re.compile(
        rf"\b(?:\d[\d,.]*|{_NUMBER_WORDS}|several|few)[- ](?:(?!a |an |per )[a-z]+[- ])?{_UNITS}\b|\buntil\b",
        re.IGNORECASE,
    ),
    "DATE": re.compile(
        rf"\b{_MONTH}\b\.?|\b(?:mon|tues|wednes|thurs|fri|satur|sun)day\b|\b(?:1[89]|20)\d\d\b|\b\d{{1,2}}(?::\d\d)?\s?"
        r"[ap]\.?m\b|\b(?:today|tonight|tomorrow|yesterday|spring|summer|autumn|fall|winter|decade|ago|since|until)\b"
        r"|\b(?:next|last|this|early|late)\s+(?:week|month|year|season)\b",
        re.IGNORECASE,
    ),
    "PERSON": re.compile(
        r"(?<!^)(?<![.!?]\s)\b[A-Z][a-z'’]+(?:\s+(?:[A-Z]\.\s+)?[A-Z][a-z'’-]+)+"
        r"|\b(?:Mr|Mrs|Ms|Dr|Prof|Sen|Gov|Mayor|President|Minister|Judge)\.?\s+[A-Z]"
        r"|\b(?:company|firm|foundation|university|council|agency|group|team|students|researchers|scientists)\b"
    ),
    "PLACE": re.compile(
        r"\b(?:in|at|near|from|to|across|along|outside|inside|on)\s+(?:the\s+)?[A-Z][a-z]+"
        r"|\b(?:street|road|avenue|city|town|village|county|province|region|district|site|hall|station|river|pier)\b"
    ),
    "REASON": re.compile(
        r"\b(?:because|due to|after|since|so that|in an effort|in order|as a result|caused?|blamed?|driven by|amid"
        r"|thanks to|aims? to|designed to|fears? (?:of|that)|worr(?:y|ied) that|concerns? (?:about|over|that)"
        r"|to (?:attract|cut|help|avoid|reduce|protect|make))\b",
        re.IGNORECASE,
    ),
}

# Question openings -> (required answer type or None, bonus types). The matched words leave the question's terms:
# "how many" says what kind of answer is wanted, not what it is about.
_QUESTION_TYPES: list[tuple[re.Pattern[str], str | None, tuple[str, ...]]] = [
    (
        re.compile(r"\bhow (?:many|much)\b(?=.*\b(?:cost|pay|paid|spend|spent|price|worth|budget|fund|money)\w*)"),
        "MONEY",
        (),
    ),
    (re.compile(r"\bhow(?= (?:cheap|expensive)\b)"), "MONEY", ()),
    (re.compile(r"\bhow (?:many|much)\b|\bwhat (?:number|amount)\b"), "QUANTITY", ()),
    (re.compile(r"\bwhat (?:share|percentage|proportion|percent|fraction)\b"), "NUM", ("PERCENT",)),
    (re.compile(r"\bhow long\b"), "DURATION", ("NUM",)),
    # The adjective stays a term: "how big" finds "holds 18,500", "how heavy" finds "weighs" (qa_terms synonyms).
    (re.compile(r"\bhow(?= (?:big|large|high|heavy|tall|far|old|deep|wide|fast|often)\b)"), "QUANTITY", ()),
    (re.compile(r"\bwhat (?:time|year|date|day|month)\b|\bwhen\b|\bhow soon\b"), "DATE", ()),
    (re.compile(r"\bwho(?:m|se)?\b"), "PERSON", ()),
    # "Which company / town / journal": a name. The noun stays a term ("which *company* got the contract").
    (re.compile(r"^\s*(?:and |so )?which\b(?! (?:is|are|was|were|of)\b)"), "PERSON", ()),
    (re.compile(r"\bwhere\b"), "PLACE", ()),
    (re.compile(r"\bhow (?:well|effective|successful)\b"), None, ("PERCENT", "NUM")),
    (re.compile(r"\bwhy\b|\bwhat(?:'s| is) (?:behind|causing)\b"), None, ("REASON",)),
]


_DURATION_VERBS = re.compile(r"\b(?:last|lasted|lasts|take|takes|took|taken)\b")


# Phrasal verbs that questions use and articles rarely do, as the word an article would use.
_PHRASES = [
    (re.compile(r"\b(?:go|goes|going|went|gone) up\b"), "rise"),
    (re.compile(r"\b(?:go|goes|going|went|gone) down\b"), "fall"),
    (re.compile(r"\b(?:take|takes|took|taking) part\b"), "participate"),
    (re.compile(r"\b(?:lay|lays|laid|laying) off\b"), "layoff"),
]


def question_type(question: str) -> tuple[str | None, tuple[str, ...], str]:
    """The answer type a question requires (or None), the types that earn a bonus, and the question minus the
    words that only stated the type."""
    lowered = fold(expand_abbreviations(question)).replace("’", "'")
    for pattern, replacement in _PHRASES:
        lowered = pattern.sub(replacement, lowered)
    for pattern, required, bonus in _QUESTION_TYPES:
        match = pattern.search(lowered)
        if match:
            rest = lowered[: match.start()] + " " + lowered[match.end() :]
            if required == "DURATION":
                rest = _DURATION_VERBS.sub(" ", rest)  # "how long did the trial last": "last" asks, it is no topic
            return required, bonus, rest
    return None, (), lowered


_NAME = re.compile(r"(?<=[\s(\"“'‘])(?:[A-Z][\w'’-]*|\d[\d,.]*\w*)")


_CALENDAR = re.compile(rf"{_MONTH}\.?|(?:mon|tues|wednes|thurs|fri|satur|sun)day", re.IGNORECASE)


def name_terms(question: str) -> list[str]:
    """Stemmed terms of the names and numbers a question mentions (capitalised words after its first word):
    "the 1961 flood", "Canvasly Studio". A question about a name the passage lacks is not about that passage."""
    found = []
    for match in _NAME.finditer(question):
        if not _CALENDAR.fullmatch(match.group(0)):
            found.extend(content_terms(match.group(0)))
    return found


# A count or amount: a number that is not a year, a time of day, a day of the month or part of a name ("MVX-4",
# "R21", "AP-68"). "one" is left out: it is more often a pronoun ("one said") than a count.
_QUANTITY = re.compile(
    rf"(?<![\w:-])(?:[$€£¥]\s?)?\d(?:[\d,.]*\d)?(?![\w-]*[A-Za-z]{{2}})(?![:\d])(?!\s?[ap]\.?m\b)"
    rf"|\b{_NUMBER_WORDS.replace('one|', '')}\b",
    re.IGNORECASE,
)


def _has_quantity(text: str) -> bool:
    for match in _QUANTITY.finditer(text):
        token = match.group(0).strip("$€£¥ ")
        if re.fullmatch(r"(?:1[89]|20)\d\d", token):
            continue  # a year
        before = text[max(0, match.start() - 6) : match.start()]
        if re.search(rf"\b{_MONTH}\.?\s$", before, re.IGNORECASE):
            continue  # "March 3", "Sept. 18"
        return True
    return False


def sentence_features(text: str) -> frozenset[str]:
    """The answer types a sentence could answer (it mentions a number, a date, a name, a reason...)."""
    found = {name for name, pattern in FEATURES.items() if pattern.search(text)}
    if _has_quantity(text):
        found.add("QUANTITY")
    return frozenset(found)
