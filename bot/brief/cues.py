"""The cue lexicon of attribution: verbs (all tenses) and phrases that introduce who said, wrote or thought what.

Forms are generated from lemmas by English spelling rules, with the irregular ones listed. A few -s forms that are
far more often nouns ("states", "estimates") are left out. The lexicon is general English, not taken from any data
set.
"""

from __future__ import annotations

import re

# Verbs of saying and writing. A trailing "!" marks a verb that takes an addressee before its content
# ("told Reuters that ...", "warned China that ...").
_SPEECH = """
say tell! add warn! argue insist note acknowledge decline explain claim state announce ask! reply respond answer
write tweet post suggest predict urge! vow concede admit deny confirm stress emphasize emphasise caution! recall
describe call declare contend maintain assert allege complain testify repeat reiterate promise! pledge report observe
remark comment inform! assure! remind! boast brag joke quip muse conclude counter retort mention propose recommend
demand threaten estimate forecast hint indicate signal disclose reveal agree disagree dispute question wonder
speculate criticize criticise praise accuse blame dismiss reject refuse shout yell whisper exclaim plead beg
acknowledge concur lament complain advise! announce instruct! order! explain underscore underline highlight
characterize characterise label brand dub hail welcome applaud condemn denounce slam blast rebuke lambaste mock
continue elaborate summarize summarise testify recount relate pronounce echo tout term deem
refer read chant decry bemoan grouse portray cite recite proclaim bark rail preach scoff opine posit surmise reaffirm
exhort rebut refute interject confess query defend quote reference discuss
"""
# Verbs of belief, feeling and intention: PolNeAR-style corpora annotate these as attributions too.
_COGNITION = """
believe think feel hope fear expect know worry doubt suspect understand assume wish guess reckon figure consider
insist predict anticipate acknowledge recognize recognise realize realise remember
"""
# Verbs by which documents, polls and studies "say" something.
_EVIDENCE = "show find"

# Irregular past forms (past tense and participle).
_IRREGULAR_PAST = {
    "say": ("said",),
    "tell": ("told",),
    "write": ("wrote", "written"),
    "think": ("thought",),
    "know": ("knew", "known"),
    "feel": ("felt",),
    "understand": ("understood",),
    "find": ("found",),
    "show": ("showed", "shown"),
    "forecast": ("forecast",),
    "swear": ("swore", "sworn"),
    "read": ("read",),
}
# Forms that are mostly nouns in news text even after a name ("Census estimates"); other -s forms stay, as a cue
# needs a speaker-like subject before it ("the claims were" has none).
_NOUNISH_S = frozenset(
    "state states figures estimates records orders concerns signals highlights labels brands".split()
)
# Verbs whose final consonant doubles before -ed/-ing.
_DOUBLING = frozenset("admit commit regret refer prefer occur compel propel quip rebut".split())

# Participial cues after a comma ("..., saying ...", "..., adding that ...") inherit the subject of their clause.
PARTICIPLE_RE = re.compile(r"^[a-z]+ing$")


def _forms(lemma: str) -> set[str]:
    """Inflected forms of a regular or listed irregular verb: lemma, -s, -ed, -ing."""
    forms = {lemma}
    if lemma.endswith(("s", "sh", "ch", "x", "z", "o")):
        forms.add(lemma + "es")
    elif lemma.endswith("y") and lemma[-2] not in "aeiou":
        forms.add(lemma[:-1] + "ies")
    else:
        forms.add(lemma + "s")
    if lemma in _IRREGULAR_PAST:
        forms.update(_IRREGULAR_PAST[lemma])
    elif lemma.endswith("e"):
        forms.add(lemma + "d")
    elif lemma.endswith("y") and lemma[-2] not in "aeiou":
        forms.add(lemma[:-1] + "ied")
    elif lemma in _DOUBLING:
        forms.add(lemma + lemma[-1] + "ed")
    else:
        forms.add(lemma + "ed")
    if lemma.endswith("ie"):
        forms.add(lemma[:-2] + "ying")
    elif lemma.endswith("e") and not lemma.endswith("ee"):
        forms.add(lemma[:-1] + "ing")
    elif lemma in _DOUBLING:
        forms.add(lemma + lemma[-1] + "ing")
    else:
        forms.add(lemma + "ing")
    return forms - _NOUNISH_S


def _lexicon() -> tuple[dict[str, str], dict[str, str], frozenset[str]]:
    """(form -> lemma, form -> class, lemmas taking an addressee)."""
    lemma_of: dict[str, str] = {}
    kind_of: dict[str, str] = {}
    addressee: set[str] = set()
    for kind, block in (("evidence", _EVIDENCE), ("cognition", _COGNITION), ("speech", _SPEECH)):
        for word in block.split():
            lemma = word.rstrip("!")
            if word.endswith("!"):
                addressee.add(lemma)
            for form in _forms(lemma):
                lemma_of[form] = lemma
                kind_of[form] = kind
    return lemma_of, kind_of, frozenset(addressee)


LEMMA_OF, KIND_OF, ADDRESSEE_VERBS = _lexicon()


def _trie_pattern(words: list[str]) -> str:
    """A regex alternation of `words` factored as a trie: much faster to scan than a flat list of 500 forms."""
    trie: dict[str, dict] = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def render(node: dict[str, dict]) -> str:
        ends = "" in node
        branches = [re.escape(char) + render(child) for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if ends else body

    return render(trie)


# All cue forms, lower case only: a capitalised "Says" or "Reports" is a headline or a noun far more often than a
# cue. "according to" is matched in either case.
CUE_RE = re.compile(r"(?<![\w’'-])(?:" + _trie_pattern(sorted(LEMMA_OF)) + r"|[Aa]ccording to)(?![\w’'-])")


def find_cues(text: str) -> list[re.Match[str]]:
    """Every cue word or phrase of `text` in order."""
    return list(CUE_RE.finditer(text))


# Words right before a verb form that show it is not a finite cue with a subject: passives ("was asked"),
# adjectival uses ("the said", "so-called"), infinitives ("refused to say": the cue is "refused").
NOT_A_CUE_BEFORE = frozenset("was were been being is are be the a an so- to".split())
# Adjuncts that may sit between a cue and its content ("said in a statement that", "told reporters on Monday").
ADJUNCT_RE = re.compile(
    r"""(?:\s*,?\s*(?:
        (?:in|during)\s+(?:a|an|the|his|her|their|its)\s+(?:[\w-]+\s+){0,3}?
            (?:statement|interview|speech|letter|post|tweet|op-ed|email|e-mail|memo|report|video|podcast|appearance|
               briefing|conference|call|address|remarks|filing|release|message|session|hearing|debate|rally|event)
            (?:\s+(?:with|on|to|at|in)\s+(?:the\s+)?(?:[A-Z][\w.’'&-]*\s*)+)?
        |on\s+(?:Twitter|Facebook|Instagram|X|Truth\s+Social|social\s+media|television|TV|radio|camera|Sunday\s+shows?)
        |(?:on\s+)?(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)(?:\s+(?:morning|afternoon|evening|night))?
        |(?:last|this|next|earlier\s+this|later\s+that)\s+(?:week|month|year|weekend|morning|spring|summer|fall|winter)
        |(?:earlier|later|again|also|repeatedly|publicly|privately|recently|previously|once|often|then|simply|flatly)
        |(?:at|after)\s+(?:a|an|the)\s+(?:[\w-]+\s+){0,3}?(?:rally|event|meeting|conference|briefing|hearing|summit|
            ceremony|debate|forum|town\s+hall|news\s+conference|press\s+conference)
        |in\s+(?:a|an)\s+(?:[\w-]+\s+){0,2}?(?:statement|interview)
    ))""",
    re.VERBOSE,
)


def cue_class(form: str) -> str:
    """The class of a cue form: "speech", "cognition", "evidence" or "according" (for "according to")."""
    return KIND_OF.get(form, "according")


def takes_addressee(form: str) -> bool:
    """True for verbs such as "told" or "warned" that may name whom they address before the content."""
    return LEMMA_OF.get(form, "") in ADDRESSEE_VERBS
