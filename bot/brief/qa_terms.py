"""The words of follow-up questions: terms, a light stemmer, idioms, and what a question asks for (the paraphrase
groups are in paraphrases.py).

Everything here is rules and small hand-written tables of general English (no downloadable models). The stemmer
is deliberately light: it conflates inflections ("closing", "closed", "close"; "cities", "city") and a few
derivations ("evacuation", "evacuate") but never cuts "-er" or "-ment", which would merge unrelated news words
("water"/"wat"). A question is read by word order, without a tagger: its answer
type ("when" wants a date), the noun it asks about ("how many *flights*"), its nouns and its verbs.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

STOPWORDS = frozenset(
    """
    a about above after again all also am an and any are as at be because been before being below between
    both but by can could did do does doing down during each few for from further had has have having he her here hers
    herself him himself his how i if in into is it its itself just me more most my myself no nor not of off on
    once only or other our ours out over own same she should so some such than that the their theirs them then there
    these they this those through to too under until up very was we were what when where which while who whom whose
    why will with would you your yours us let lets s t don ll re ve d m o may might must shall
    across along around toward towards within without inside outside onto upon among beside behind beyond near via per
    every
    instead everyone everybody anyone anybody someone somebody
    say says said saying tell tells told mention mentions mentioned article story piece reported
    according happen happens happened happening know going getting really actually exactly still ever
    thing things anything something way much many
    """.split()
)

# Everyday words: the commonest verbs, nouns and adjectives of English, which questions use loosely ("how did the
# trial *work*", "what's *next*"). They stay in the query at a lower weight, never become its key term, and one
# the article lacks never makes the bot refuse.
GENERIC = frozenset(
    """
    take part work well lead next new old big small little good bad great high low long short make use want need give
    keep put set look find show try call ask feel become leave turn move live play run hold bring begin seem help
    talk start end stop change plan expect include continue follow provide allow add grow meet stay remain decide
    happen think believe consider appear go come see hear let mean like last first second other same different
    important main whole able sure clear likely real true large early late recent now today currently
    time way person people thing part place case point number fact kind lot side area back matter reason result
    effect idea information info detail details example react respond reaction response extra additional previous
    former earlier later latest one ones do does did done get gets got receive also even overall
    stuff situation supposed basically affect involve regard relate base bit total exact report year month week day
    afterwards afterward meanwhile top fewer less
    """.split()
)
# Shell nouns: "the project", "the plan", "the deal" point back at the story's subject as "it" does, so they are
# everyday words that call in the main subject (retrieval.ArticleIndex.query).
SHELL_NOUNS = frozenset(
    "project plan scheme programme program proposal initiative move decision deal measure policy effort process".split()
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
    oldest:old worse:bad worst:bad best:good better:good fewer:few news:news series:series caught:catch
    thought:think fought:fight taught:teach sought:seek struck:strike stole:steal stolen:steal hid:hide
    hidden:hide spoke:speak spoken:speak knew:know known:know saw:see seen:see flew:fly flown:fly threw:throw
    thrown:throw drew:draw drawn:draw broke:break broken:break froze:freeze frozen:freeze sank:sink sunk:sink
    fled:flee fed:feed dealt:deal meant:mean felt:feel slept:sleep lent:lend hung:hang dug:dig stuck:stick
    stood:stand understood:understand withdrew:withdraw withdrawn:withdraw arose:arise arisen:arise
    became:become ate:eat eaten:eat sat:sit shook:shake shaken:shake swore:swear sworn:swear tore:tear torn:tear
    woke:wake woken:wake wore:wear worn:wear rode:ride ridden:ride beaten:beat forgot:forget forgotten:forget
    bore:bear borne:bear laid:lay overtook:overtake undertook:undertake mice:mouse feet:foot teeth:tooth
    suing:sue lying:lie tying:tie vying:vie
    """.split()
)
_IRREGULAR_NOUNS = frozenset("children kids men women people lives news series mice feet teeth".split())

_WORD = re.compile(r"[^\W_]+(?:[.,]\d+)*(?:['’][^\W_]+)?")
_VOWEL = re.compile(r"[aeiouy]")
# Abbreviations expanded before tokenising, so "US workers" meets "United States" (and "us" is no stop word).
_ABBREVIATIONS = [
    (re.compile(pattern), expansion)
    for pattern, expansion in (
        (r"\bU\.S\.(?:A\.)?|\bUSA?\b", " United States "),
        (r"\bU\.K\.|\bUK\b", " United Kingdom "),
        (r"\bE\.U\.|\bEU\b", " European Union "),
        (r"\bU\.N\.|\bUN\b", " United Nations "),
        (r"\bMPs\b", " members of Parliament "),
        (r"\bMP\b", " member of Parliament "),
    )
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


def _token(raw: str) -> str:
    raw = fold(raw).replace("’", "'")
    token = raw.split("'")[0] if raw.endswith(("'s", "'")) else raw
    return token.replace(",", "") if token[:1].isdigit() else token  # "23,000" -> "23000"


def words(text: str) -> list[str]:
    """Folded word tokens of `text`, possessives cut, thousands separators dropped from numbers ("23,000")."""
    return [_token(raw) for raw in _WORD.findall(expand_abbreviations(text))]


def word_offsets(text: str) -> list[tuple[str, int]]:
    """(stem, character offset) of every word of `text`, stop words included: for word-distance checks."""
    return [(stem(_token(m.group(0))), m.start()) for m in _WORD.finditer(text)]


def _is_content(word: str) -> bool:
    # Negated auxiliaries ("won't", "can't") carry no topic, and "won" would pass for the verb "win".
    return word not in STOPWORDS and (len(word) > 1 or word.isdigit()) and not word.endswith("'t")


def content_terms(text: str) -> list[str]:
    """Stemmed content terms of `text`, stop words dropped, in order (with repeats)."""
    return [stem(w) for w in words(text) if _is_content(w)]


# The adjective of "how big/far/heavy..." says what kind of number is wanted more than what the question is about.
TYPE_ADJECTIVES = frozenset(stem(w) for w in "big large high heavy tall far old deep wide fast often thick".split())
# Words that, in a "how much" question, restate the answer type more than the topic ("how much did NASA pay").
MONEY_WORDS = frozenset(stem(w) for w in "cost price pay spend worth money expense fee charge".split())
GENERIC_STEMS = frozenset(stem(w) for w in GENERIC | SHELL_NOUNS)
SHELL_STEMS = frozenset(stem(w) for w in SHELL_NOUNS)

# ---- what a question asks for --------------------------------------------------------------------------------

_MONEY_CUE = (
    r"(?=.*\b(?:cost|pay|paid|spend|spent|price|worth|budget|fund|money|charge|fine|fee|earn|salary|offer|bid|raise"
    r"|sell for|sold for)\w*)"
)
_CHANGE = (
    r"(?=.*\b(?:ris(?:e|en|ing)|rose|f[ae]ll(?:en|ing)?|(?:in|de)creas(?:e|ed|ing)|drop(?:ped)?|climb(?:ed)?"
    r"|jump(?:ed)?|gr[eo]wn?|shr[iau]nk)\b)"
)
# Question phrases -> (required answer type or None, bonus types). The matched words leave the question's terms:
# "how many" says what kind of answer is wanted, not what it is about. Adjectives stay terms ("how heavy" finds
# "weighs"; "how long is the ship" finds "28 metres long").
_QUESTION_TYPES: list[tuple[re.Pattern[str], str | None, tuple[str, ...]]] = [
    (re.compile(pattern), required, bonus)
    for pattern, required, bonus in (
        (rf"\bhow much\b{_CHANGE}", "QUANTITY", ("PERCENT",)),  # "how much have costs gone up": often a share
        (rf"\bhow (?:many|much)\b{_MONEY_CUE}", "MONEY", ()),
        (r"\bhow(?= (?:cheap|expensive)\b)", "MONEY", ()),
        (r"\bhow (?:many|much)\b|\bwhat (?:number|amount)\b", "QUANTITY", ()),
        (r"\bwhat (?:share|percentage|proportion|percent|fraction)\b", "NUM", ("PERCENT",)),
        (r"\bhow(?= long\b)", "DURATION", ("DURATION",)),
        (r"\bhow(?= heavy\b)", "WEIGHT", ()),
        (r"\bhow(?= (?:tall|far|deep|wide|thick)\b)", "LENGTH", ()),
        (r"\bhow(?= high\b)", "QUANTITY", ("LENGTH",)),
        (r"\bhow(?= fast\b)", "SPEED", ()),
        (r"\bhow(?= (?:warm|hot|cold|cool)\b)", "TEMPERATURE", ()),
        (r"\bhow(?= (?:big|large|old|often)\b)", "QUANTITY", ()),
        (r"\bwhat (?:time|times|hours)\b", "TIME", ()),
        (r"\bwhat (?:year|date|day|days|month)\b|\bwhen\b|\bhow soon\b", "DATE", ()),
        (r"\bwho(?:m|se|'s)?\b", "PERSON", ()),
        # "Which company / town": a name, not "the company" (ENTITY). The noun stays a term ("which *company* got").
        (r"^\s*(?:and |so )?which\b(?! (?:is|are|was|were|of)\b)", "ENTITY", ()),
        (r"\bwhere\b", "PLACE", ()),
        (r"^\s*what(?:'s| is| was| will)\b(?=.*\b(?:called|named)\b)", "NAMED", ()),  # "what's the lander called"
        (r"\bhow (?:well|effective|successful)\b", None, ("PERCENT", "NUM")),
        (
            r"\bwhy\b|\bhow come\b|\bwhat(?:'s| is| was) (?:behind|causing)\b|\bwhat (?:caused|led to)\b",
            None,
            ("REASON",),
        ),
        # "What did the mayor say about trucks?": something said, a quote or reported speech.
        (r"\bwhat (?:did|does|do|has|have) .+ (?:say|said|think|thought|feel)\b", "QUOTE", ()),
        (r"\bhow did .+ react\b", None, ("QUOTE",)),
    )
]
_DURATION_VERBS = re.compile(r"\b(?:last|lasted|lasts|take|takes|took|taken)\b")
# Phrasal verbs and idioms that questions use and articles rarely do, as the word an article would use:
# "forms of the verb; what follows; replacement".
_PHRASES = [
    (re.compile(rf"\b(?:{forms.replace(' ', '|')}) {after}\b" if forms else rf"\b{after}\b"), replacement)
    for forms, after, replacement in (
        line.strip().split(";")
        for line in """
        go goes going went gone;up;rise
        go goes going went gone;down;fall
        take takes took taking;part;participate
        lay lays laid laying;off;layoff
        step steps stepped stepping;down;resign
        set sets setting;up;create
        call calls called calling;off;cancel
        pay pays paid paying;back;repay
        find finds found;out;discover
        work works worked figure figured;out;identify
        ;money back;refund
        lose loses losing lost;(?:their |his |her |your |my |our )?jobs?;job cut
        people persons staff;(?:work|works|working);worker
        pay pays paid paying;for;fund
        is are was were be been being put left;in charge(?: of)?;head
        walk walks walked walking;off(?: the job)?;walkout
        put puts putting;up (?:the |any |their )?(?:money|cash|funds?);fund
        break breaks broke breaking;ground;construction start
        put puts putting;(?:on|forward) the table;offer
        ;sit-downs?;meeting
        take takes took taken taking;over;replace
        """.strip().splitlines()
    )
]
_PHRASE_VERBS = frozenset("rise fall participate resign create cancel repay discover identify replace fund".split())
_DETERMINERS = frozenset(
    "the a an this that these those his her its their our my your some any each every no other another".split()
)
_SUBJECTS = frozenset("i you he she it we they".split())
_NOUN_MARKERS = _DETERMINERS | frozenset("of many much which what whose".split())
_DO_MODALS = frozenset("do does did will would can could should".split())


@dataclass(frozen=True)
class QuestionForm:
    """What a question asks for, and the roles of its words."""

    required: str | None  # the answer type the question needs ("DATE" for "when"), if any
    bonus: tuple[str, ...]  # answer types that make a sentence a likelier answer
    rest: str  # the folded question minus the words that only stated the type
    focus: frozenset[str]  # stems of the noun the question counts or names ("how many *flights*", "which *road*")
    nominal: frozenset[str]  # stems of words in a noun phrase ("the new *goalkeeper*"): the things asked about


def question_type(question: str) -> tuple[str | None, tuple[str, ...], str]:
    """The answer type a question requires (or None), the types that earn a bonus, and the question minus the
    words that only stated the type."""
    form = analyse(question)
    return form.required, form.bonus, form.rest


@lru_cache(maxsize=4096)
def analyse(question: str) -> QuestionForm:
    """The question's answer type, the noun it asks about and its nouns (by word order: no tagger)."""
    lowered = fold(expand_abbreviations(question)).replace("’", "'")
    for pattern, replacement in _PHRASES:
        lowered = pattern.sub(replacement, lowered)
    required: str | None = None
    bonus: tuple[str, ...] = ()
    rest = lowered
    opening = re.match(r"\s*(?:and |so )?(?:what|which)\b", lowered)
    focus_from = opening.end() if opening else -1
    for pattern, required, bonus in _QUESTION_TYPES:
        match = pattern.search(lowered)
        if match:
            if required not in (None, "QUOTE") or bonus == ("REASON",):  # a quote's speaker stays a term
                rest = lowered[: match.start()] + " " + lowered[match.end() :]
                # A noun follows "how many", "which", "what": not "who" or "when", which a verb follows.
                focus_from = match.end() if required in ("QUANTITY", "MONEY", "NUM", "ENTITY") else focus_from
            if required == "DURATION":
                rest = _DURATION_VERBS.sub(" ", rest)  # "how long did the trial last": "last" asks, it is no topic
            break
    else:
        required, bonus = None, ()
    tokens = words(rest)
    verbal = {stem(w) for i, w in enumerate(tokens) if _is_content(w) and _looks_verbal(tokens, i)}
    verbal |= _do_support_verb(tokens)
    nominal = {stem(w) for i, w in enumerate(tokens) if _is_content(w) and _looks_nominal(tokens, i)}
    # The head of the noun phrase right after the question phrase: "how many teaching *jobs*", "what *rocket*" (none
    # in "what did ...", "how many were ..."). A verb or a plural ends the phrase.
    run: list[str] = []
    after = words(lowered[focus_from:]) if focus_from >= 0 else []
    for i, w in enumerate(after[:4]):
        if not _is_content(w) or w.isdigit() or (run and _looks_verbal(after, i)):
            break
        run.append(w)
        if stem(w) != w and not w.endswith(("ed", "ing")):  # a plural heads the phrase: "how many trucks | go"
            break
    focus = {stem(run[-1])} - verbal if run else set()
    return QuestionForm(required, bonus, rest, frozenset(focus), frozenset((nominal | focus) - verbal))


def _looks_verbal(tokens: list[str], i: int) -> bool:
    """Whether token `i` is used as a verb: after a subject pronoun or "to" ("did he *plead*", "going to *appeal*"),
    an irregular past ("who *caught* him"), an "-ed"/"-ing" form not after a determiner, or a word before its object
    ("*spend* the money"). After an inverted auxiliary comes the subject ("have *costs* risen"), not a verb."""
    word, before = tokens[i], tokens[i - 1] if i else ""
    after = tokens[i + 1] if i + 1 < len(tokens) else ""
    if before in _DETERMINERS:
        return False
    return (
        word in _PHRASE_VERBS
        or before in _SUBJECTS
        or before == "to"
        or (word in _IRREGULAR and word not in _IRREGULAR_NOUNS)
        or (word.endswith(("ed", "ing")) and len(word) > 5)
        or (after in _DETERMINERS and after not in ("that", "this"))
    )


def _do_support_verb(tokens: list[str]) -> set[str]:
    """The main verb of a question with do-support or a modal: "how much did a ticket *cost*", "will the cuts
    *save*": the last of the content words after the auxiliary, when a subject comes before it."""
    aux = next((i for i, w in enumerate(tokens) if w in _DO_MODALS), None)
    run: list[str] = []
    for w in tokens[aux + 1 :] if aux is not None else ():
        if _is_content(w):
            run.append(w)
        elif run or w not in _DETERMINERS:
            break
    return {stem(run[-1])} if len(run) >= 2 and not run[-1][:1].isdigit() else set()


def _looks_nominal(tokens: list[str], i: int) -> bool:
    """Whether token `i` sits in a noun phrase: at most two words after a determiner, "of", "how many", "which"
    ("the new *goalkeeper*", "which *journal*"), not after a verb ("did the evacuees in Pina *sleep*")."""
    j, steps = i - 1, 0
    while j >= 0 and _is_content(tokens[j]) and steps < 2:
        j, steps = j - 1, steps + 1
    return j >= 0 and tokens[j] in _NOUN_MARKERS


_NAME = re.compile(r"(?<=[\s(\"“'‘])(?:[A-Z][\w'’-]*|\d[\d,.]*\w*)")
MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?"
    r"|nov(?:ember)?|dec(?:ember)?)"
)
_CALENDAR = re.compile(rf"{MONTH}\.?|(?:mon|tues|wednes|thurs|fri|satur|sun)day", re.IGNORECASE)


def name_terms(text: str) -> list[str]:
    """Stemmed terms of the names and numbers `text` mentions (capitalised words after its first word): "the 1961
    flood", "Canvasly Studio". A question about a name the passage lacks is not about that passage."""
    found = []
    for match in _NAME.finditer(text):
        if not _CALENDAR.fullmatch(match.group(0)):
            found.extend(content_terms(match.group(0)))
    return found
