"""Who is speaking: the people and organisations an article introduces, their roles, and the resolution of a speaker
mention ("he", "Stoltenberg", "the NATO chief") to the person the article named.

One pass over the capitalised runs of the text registers entities in article order: "NATO Secretary-General Jens
Stoltenberg" becomes the person "Jens Stoltenberg" with role "NATO Secretary-General", and a later "Stoltenberg" or
"Mr. Stoltenberg" is a mention of the same entity. Pronouns are resolved by a cheap Hobbs-style search (the previous
sentences, most recent first, each left to right so that the subject wins) with gender agreement; descriptions by
matching their head noun and capitalised words against the roles of the people introduced before them.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

from bot.brief import speaker_lexicon as lex
from bot.brief.cues import LEMMA_OF
from bot.brief.name_runs import ABBREVIATIONS, NAME_RUN, Token, breaks_after, is_cap, lower_bare, run_tokens
from bot.models import Span

_POSSESSIVE = re.compile(r"[’']s?$")
# "(D-Ore.)", "(R-Texas)": a party and state after a legislator's name.
_PARTY = re.compile(r"\s*\(([DRI]-[A-Z][\w. ]{0,14})\)")
# An appositive role after a name: ", NATO's secretary-general," or ", a spokeswoman for the campaign."
_APPOSITIVE = re.compile(r",\s+([^,.;:()“”\"\n]{2,120}?)(?=,|\.(?:\s|$)|;|\n|$)")
_ROLE_CUT = re.compile(r"\s+(?:who|which|that|whose|and|but|said|says|told)\b.*$")
# A description met before the person it describes is looked for among this many following mentions.
_CATAPHORA_MENTIONS = 12
_SENTENCE_LOOKBACK = 12
_NOT_NAMES = frozenset("maybe perhaps former late then".split())
_BUSINESS_WORDS = frozenset("inc corp co ltd llc plc group holdings corporation company bank airlines".split())
# "Doe's statement": the possessor speaks through a message (not through "Doe's campaign" or "Doe's spokesman").
_POSSESSED = re.compile(r"[’']s\s+(?:\w+\s+)?(?:statement|message|tweet|post|letter|e-?mail|response|reply|remarks)$")
_NEXT_WORD = re.compile(r" ([a-z]+)\b")
_TITLED_GAP = re.compile(r"\s*,\s*(?:[A-Z][\w.’'-]*\s+){0,3}")


@dataclass(eq=False)
class Entity:
    """A person, organisation or other named thing; mutable while the article is scanned (names merge)."""

    name: str
    kind: str  # "person", "org" or "unknown"
    role: str | None = None
    gender: str = ""  # "m", "f" or "" when unknown
    last: str = ""

    @property
    def tokens(self) -> set[str]:
        return {t.lower().rstrip(".") for t in self.name.split()}


@dataclass(frozen=True, slots=True)
class Speaker:
    """A resolved speaker: the name to show, the role if known, and the entity when one was found."""

    name: str
    role: str | None = None
    entity: Entity | None = None


def _is_title(low: str) -> bool:
    return low in lex.ROLE_NOUNS or any(part in lex.TITLE_WORDS for part in low.split("-") if part)


@dataclass
class SpeakerIndex:
    """The entities of one article and their mentions; resolves speaker mentions by position."""

    text: str
    sentence_starts: list[int]
    quotes: list[Span] = field(default_factory=list)
    mentions: list[tuple[int, int, Entity]] = field(default_factory=list, init=False)
    _by_last: dict[str, list[Entity]] = field(default_factory=dict, init=False)
    _orgs: dict[str, Entity] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        # Only the capitalised runs are tokenised: a full tokenisation of the article would cost more than the rest
        # of the extraction together.
        for match in NAME_RUN.finditer(self.text):
            word = match.group(0)
            if " " not in word and not self._single(word, match.start()):
                continue
            tokens = run_tokens(match.start(), word)
            i = 0
            for j in range(1, len(tokens) + 1):
                if j == len(tokens) or breaks_after(tokens[j - 1], tokens[j]):
                    self._register(tokens[i:j])
                    i = j
        self._starts = [m[0] for m in self.mentions]
        self._quote_starts = [q[0] for q in self.quotes]

    # -- scanning --------------------------------------------------------------------------------------------------

    def _single(self, word: str, start: int) -> bool:
        """Fast path for one-word runs, most of the runs of an article: True if it needs the full registration.

        A lone capitalised word is registered only as an acronym organisation ("NATO"), as the surname of a person
        already introduced, or as a new person when a cue or a title is next to it ("Doe said", "Sen. Doe");
        otherwise it is a sentence start, a place or a nationality, never the antecedent of a pronoun."""
        low = lower_bare(word)
        if low in lex.STOP_CAPS or low in lex.DAYS_MONTHS:
            return False
        bare = word.rstrip(".").removesuffix("’s").removesuffix("'s")
        end = start + len(bare)
        if bare.isupper() and len(bare) > 1 and "." not in bare:
            org = self._orgs.setdefault(low, Entity(bare, "org"))
            self.mentions.append((start, end, org))
            return False
        known = self._by_last.get(low)
        if known:
            self.mentions.append((start, end, known[-1]))
            return False
        next_word = _NEXT_WORD.match(self.text, end)
        if next_word and next_word.group(1) in LEMMA_OF:
            return True
        prev = self.text[max(0, start - 16) : start].rsplit(None, 1)[-1:] or [""]
        return (
            _is_title(_POSSESSIVE.sub("", prev[0].lower()).rstrip(".")) or prev[0].lower().rstrip(".") in lex.HONORIFICS
        )

    def _register(self, words: list[Token]) -> None:
        while words and not is_cap(words[-1]):
            words = words[:-1]
        while words and words[0].low in lex.STOP_CAPS and words[0].low not in lex.HONORIFICS:
            words = words[1:]
        if not words:
            return
        gender = ""
        title_at = max((k for k, t in enumerate(words[:-1]) if _is_title(t.low)), default=-1)
        name_from = title_at + 1
        if title_at >= 0 and words[name_from].low in {"of", "for"}:
            name_from += 1  # "Secretary of State Antony Blinken": the role takes one or more words after "of"
            while name_from < len(words) - 1 and (len(words) - name_from > 2 or name_from == title_at + 2):
                name_from += 1
        if words[name_from].low in lex.HONORIFICS:
            gender = lex.HONORIFICS[words[name_from].low]
            name_from += 1
        name_words = words[name_from:]
        if not name_words:
            return
        role_parts = [self.text[words[0].start : words[name_from - 1].end]] if title_at >= 0 else []
        prefix = self._role_prefix(words[0].start, bool(role_parts))
        if prefix:
            role_parts.insert(0, prefix)
        name = " ".join(t.text for t in name_words)
        low_words = [t.low for t in name_words]
        start, end = name_words[0].start, name_words[-1].end
        if len(name_words) > 3 and not role_parts and not any(t.low in lex.NAME_PARTICLES for t in name_words):
            return  # a title-case headline ("Bush Hits Marco Rubio On ..."), not a name
        if all(t.low in lex.ROLE_MODIFIERS or t.low in _NOT_NAMES for t in name_words):
            return  # "Former Democratic ...", "Maybe": modifiers before a lower-case role, not a name
        next_word = _NEXT_WORD.match(self.text, end)
        next_is_cue = bool(next_word) and next_word.group(1) in LEMMA_OF and not next_word.group(1).endswith("ing")
        entity = self._entity(name, low_words, gender, bool(role_parts or gender), next_is_cue)
        if entity.kind == "person":
            role = " ".join(role_parts) or self._appositive(end)
            party = _PARTY.match(self.text, end)
            if party:
                role = f"{role} ({party.group(1)})" if role else party.group(1)
            if role and not entity.role:
                entity.role = role
        self.mentions.append((start, end, entity))

    def _role_prefix(self, start: int, has_title: bool) -> str:
        """Role words right before a name run: "campaign manager", "Chinese leader", "former" (before a title)."""
        text = self.text
        first = last = start
        pos = start
        for _ in range(7):
            if pos < 2 or text[pos - 1] != " ":
                break
            word_start = max(text.rfind(" ", 0, pos - 1), text.rfind("\n", 0, pos - 1)) + 1
            word = text[word_start : pos - 1]
            low = _POSSESSIVE.sub("", word.lower())
            if not word or (
                not word[-1].isalnum() and not (word.endswith(".") and (low in ABBREVIATIONS or "." in word[:-1]))
            ):
                break
            cap = word[0].isupper()
            if not (low in lex.TITLE_WORDS or low in lex.ROLE_MODIFIERS or cap) or (cap and low in lex.STOP_CAPS):
                break
            if last == start:
                if not (has_title or _is_title(low)):
                    return ""
                last = pos - 1
            first, pos = word_start, word_start
        while first < last and text[first:last].split(" ", 1)[0].lower() in {"of", "for", "the"}:
            first = text.find(" ", first, last) + 1 or last
        return text[first:last] if first < last else ""

    def _appositive(self, end: int) -> str | None:
        """A role given after the name: "Jens Stoltenberg, NATO's secretary-general, said"."""
        match = _APPOSITIVE.match(self.text, end)
        if not match:
            return None
        role = _ROLE_CUT.sub("", match.group(1)).strip()
        words = role.split()
        if not words or len(words) > 14 or not any(_is_title(lower_bare(w)) for w in words[:7]):
            return None
        if words[0].lower() in {"a", "an", "the"}:
            role = role.split(" ", 1)[1] if len(words) > 1 else ""
        return role or None

    def _entity(self, name: str, low: list[str], gender: str, personal: bool, next_is_cue: bool) -> Entity:
        """The entity a name refers to: an earlier one with the same surname, or a new one."""
        last = low[-1]
        first_gender = "m" if low[0] in lex.MALE_NAMES else "f" if low[0] in lex.FEMALE_NAMES else ""
        is_org = (
            any(w in lex.ORG_WORDS for w in low[1:] + ([low[0]] if len(low) > 1 else []))
            or (len(low) == 1 and name.isupper() and len(name) > 1 and "." not in name)
            or (low[-1] in lex.PLACE_LAST and not (first_gender and len(low) > 1))  # "Linda Park" is a person
        )
        if is_org and not personal:
            return self._orgs.setdefault(" ".join(low), Entity(name, "org"))
        gender = gender or (first_gender if len(low) > 1 else "")
        for entity in reversed(self._by_last.get(last, [])):
            known = entity.name.split()
            if len(low) == 1 or len(known) == 1 or known[0].lower() == low[0]:
                if len(low) > len(known):
                    entity.name = name
                entity.gender = entity.gender or gender
                if entity.kind == "unknown" and (personal or len(low) > 1):
                    entity.kind = "person"
                return entity
        person = personal or next_is_cue or (len(low) > 1 and low[0] not in lex.PLACE_FIRST)
        entity = Entity(name, "person" if person else "unknown", gender=gender, last=last)
        self._by_last.setdefault(last, []).append(entity)
        return entity

    # -- resolution ------------------------------------------------------------------------------------------------

    def resolve(self, start: int, end: int, exclude: Span | None = None) -> Speaker:
        """The speaker a mention at text[start:end] refers to; `exclude` is the attribution's own content."""
        mention = self.text[start:end].strip()
        low = mention.lower()
        if low in lex.PRONOUN_FEATURES:
            entity = self._pronoun(start, lex.PRONOUN_FEATURES[low], exclude)
            return Speaker(entity.name, entity.role, entity) if entity else Speaker(mention)
        possessed = _POSSESSED.search(self.text, start, end)
        end = possessed.start() + 2 if possessed else end
        k = bisect.bisect_right(self._starts, end) - 1
        while k >= 0 and self.mentions[k][0] >= start:
            _m_start, m_end, entity = self.mentions[k]
            tail = self.text[m_end:end]
            if m_end <= end and (not tail.strip() or _PARTY.fullmatch(tail) or tail in ("’s", "'s")):
                if entity.kind == "unknown":
                    entity.kind = "person"
                return Speaker(entity.name, entity.role, entity)
            k -= 1
        words = [w.strip("’'").lower() for w in re.findall(r"[\w’'.\-]+", mention)]
        head = _POSSESSIVE.sub("", words[-1]).rstrip(".") if words else ""
        if mention.split()[-1].islower() and (named := self._named_next(end)):
            # "The company's chief executive, Harriet Cole, said": the description introduces the name after it.
            named.role = named.role or re.sub(r"^(?:the|a|an)\s+", "", mention, flags=re.I)
            return Speaker(named.name, named.role, named)
        if head in lex.TITLE_WORDS or head in lex.GENERIC_PERSON_HEADS or head in lex.ORG_HEADS:
            entity = self._description(start, mention, head)
            if entity:
                return Speaker(entity.name, entity.role, entity)
        return Speaker(_clean_group(mention))

    def _named_next(self, end: int) -> Entity | None:
        """The person named in commas right after a description ending at `end` (", Harriet Cole,"), if any."""
        k = bisect.bisect_left(self._starts, end)
        if k >= len(self.mentions):
            return None
        m_start, m_end, entity = self.mentions[k]
        # ", Harriet Cole," or, with the name's title before it, ", Agriculture Secretary Tom Vilsack,".
        if not _TITLED_GAP.fullmatch(self.text[end:m_start]) or not self.text[m_end:].lstrip().startswith(","):
            return None
        return entity if entity.kind != "org" and len(entity.name.split()) > 1 else None

    def add_mention(self, start: int, end: int, entity: Entity) -> None:
        """Record a resolved pronoun or description as a mention of `entity`: the next pronoun may refer to it."""
        k = bisect.bisect_left(self._starts, start)
        if k < len(self._starts) and self._starts[k] == start:
            return
        self._starts.insert(k, start)
        self.mentions.insert(k, (start, end, entity))

    def _quoted(self, pos: int) -> bool:
        k = bisect.bisect_right(self._quote_starts, pos) - 1
        return k >= 0 and self.quotes[k][0] <= pos < self.quotes[k][1]

    def _pronoun(self, pos: int, feature: str, exclude: Span | None) -> Entity | None:
        """Hobbs-style search: this sentence before `pos`, then earlier sentences, each from left to right."""
        if feature not in {"m", "f", "?"}:
            return None
        sent = bisect.bisect_right(self.sentence_starts, pos) - 1
        for s in range(sent, max(sent - _SENTENCE_LOOKBACK, 0) - 1, -1):
            s_start = self.sentence_starts[s] if s >= 0 else 0
            s_end = pos if s == sent else self.sentence_starts[s + 1]
            k = bisect.bisect_left(self._starts, s_start)
            while k < len(self.mentions) and self.mentions[k][0] < s_end:
                m_start, _m_end, entity = self.mentions[k]
                k += 1
                if entity.kind != "person" or self._quoted(m_start):
                    continue
                if exclude and exclude[0] <= m_start < exclude[1]:
                    continue
                if feature in "mf" and entity.gender and entity.gender != feature:
                    continue
                if feature in "mf" and not entity.gender:
                    entity.gender = feature  # learn it: later pronouns then agree with this one
                return entity
        return None

    def _description(self, pos: int, mention: str, head: str) -> Entity | None:
        """The entity a description such as "the NATO chief" or "the company" refers to: the best-matching earlier one,
        else (a lead that describes before it names: "NATO's top official warned ...") the first matching later one."""
        caps = {
            _POSSESSIVE.sub("", w.lower()).rstrip(".")
            for w in mention.split()
            if w[:1].isupper() and w.lower().strip("’'s") not in lex.STOP_CAPS
        }
        best: tuple[int, Entity] | None = None
        seen: set[int] = set()
        k = bisect.bisect_left(self._starts, pos) - 1
        while k >= 0 and len(seen) < 20:
            entity = self.mentions[k][2]
            k -= 1
            if id(entity) not in seen:
                seen.add(id(entity))
                score = self._match(entity, caps, head)
                if score >= 2 and (best is None or score > best[0]):
                    best = (score, entity)
        if best is not None:
            return best[1]
        # Forward, only a match its role confirms: a name ("NATO's top official") or a word ("the port's ...").
        words = caps or {
            _POSSESSIVE.sub("", w.lower()).strip(".,")
            for w in mention.split()[:-1]
            if w.lower() not in lex.STOP_CAPS and w.lower() not in {"the", "a", "an", "top", "senior", "chief"}
        }
        k = bisect.bisect_right(self._starts, pos)
        for _start, _end, entity in self.mentions[k : k + _CATAPHORA_MENTIONS]:
            if words and self._match(entity, words, head) >= 3:
                return entity
        return None

    def _match(self, entity: Entity, caps: set[str], head: str) -> int:
        """How well `entity` fits a description with head word `head` and capitalised words `caps` (2+: a match)."""
        want_org = head in lex.ORG_HEADS and head not in lex.TITLE_WORDS
        gender = lex.GENDERED_HEADS.get(head, "")
        if want_org != (entity.kind == "org") or (gender and entity.gender and entity.gender != gender):
            return 0
        role = {p.rstrip(".") for p in re.split(r"[\s\-]+", _POSSESSIVE.sub("", (entity.role or "").lower()))}
        role |= {_POSSESSIVE.sub("", w) for w in re.split(r"[\s’']+", (entity.role or "").lower())}
        score = 0
        if caps:
            if not caps & (role | entity.tokens):
                return 0
            score += 2
        head_class = next((c for c, words in lex.ROLE_CLASSES.items() if head in words), None)
        if want_org:
            # "the company" is the latest business ("... Inc."); "the union", "the ministry" name their own kind.
            kind_words = _BUSINESS_WORDS if head in {"company", "firm"} else {head}
            score += 2 if kind_words & entity.tokens else 0
        elif head in role or (head_class and role & lex.ROLE_CLASSES[head_class]):
            score += 2
        elif head in lex.GENERIC_PERSON_HEADS and entity.role:
            score += 1
        return score


def _clean_group(mention: str) -> str:
    """A group or unresolved description as a speaker: "The White House" -> "White House"; "the company" stays."""
    words = mention.split()
    if len(words) > 1 and words[0].lower() == "the" and all(w[:1].isupper() for w in words[1:]):
        return " ".join(words[1:])
    return mention
