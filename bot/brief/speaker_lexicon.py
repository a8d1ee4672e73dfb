"""General English word lists for finding and resolving speakers: pronouns, honorifics, titles, group and
organisation nouns, and common first names with their usual gender.

These are general linguistic and demographic lexicons written for this module, not names taken from any corpus.
"""

from __future__ import annotations


def _words(block: str) -> frozenset[str]:
    return frozenset(block.split())


# Personal pronouns that can be the subject of a cue, with gender ("m", "f") or number ("p" plural, "n" neuter).
PRONOUN_FEATURES = {"he": "m", "she": "f", "they": "p", "it": "n", "we": "p", "i": "s", "you": "s", "who": "?"}

# Honorifics dropped from speaker names; the value is the gender they imply (or "").
HONORIFICS = {"mr": "m", "mrs": "f", "ms": "f", "miss": "f", "dr": "", "mx": "", "sir": "m", "dame": "f", "prof": ""}

# Title and role nouns: a run of them right before a name is the person's role ("NATO Secretary-General Jens
# Stoltenberg", "campaign manager Jane Doe"), and a description made of them ("the senator") refers to a person.
TITLE_WORDS = _words(
    """
    president president-elect vice-president premier chancellor mayor minister secretary secretary-general
    undersecretary sen senator rep representative congressman congresswoman congressmember delegate lawmaker
    legislator assemblyman assemblywoman councilman councilwoman councillor councilor gov governor lt-gov
    chief head leader chair chairman chairwoman chairperson director executive ceo cfo coo cto founder co-founder
    owner partner principal provost dean speaker whip ambassador envoy diplomat consul commissioner attorney
    prosecutor counsel lawyer judge justice magistrate sheriff marshal officer inspector superintendent detective
    general gen admiral adm colonel col lt lieutenant sgt sergeant capt captain maj major cmdr commander
    spokesman spokeswoman spokesperson press-secretary adviser advisor aide strategist consultant pollster manager
    analyst economist scientist researcher professor historian author editor columnist correspondent reporter
    activist organizer organiser operative official candidate nominee hopeful challenger incumbent frontrunner
    front-runner pope cardinal bishop archbishop pastor rabbi imam reverend rev king queen prince princess emir
    sheikh coach trustee treasurer comptroller auditor negotiator member fellow chancellor-elect
    boss mp mep steward engineer architect planner administrator physician surgeon doctor nurse teacher
    firefighter pilot administrator-general regulator
    """
)
# Modifiers that may sit inside a role before a name ("former", "deputy", "press", "campaign").
ROLE_MODIFIERS = _words(
    """
    former then acting interim deputy vice senior junior top chief executive general national deputy associate
    assistant presidential vice-presidential press campaign communications policy political state federal foreign
    defense defence security economic finance financial health education legal military party majority minority
    longtime veteran retired outgoing incoming current new independent republican democratic managing founding
    regional district county city house senate white-house of for the council board school town village public
    transportation transit police fire port hospital court university union city-council
    """
)
# Description heads that share a class with title words: "the NATO chief" refers to a "Secretary-General".
ROLE_CLASSES = {
    "leader": _words(
        "chief head leader boss president premier chancellor secretary-general chair chairman chairwoman "
        "chairperson director executive ceo founder minister mayor governor gov king queen pope"
    ),
    "legislator": _words(
        "senator sen lawmaker legislator congressman congresswoman congressmember rep representative delegate "
        "assemblyman assemblywoman councilman councilwoman councillor councilor mp mep"
    ),
    "spokesperson": _words("spokesman spokeswoman spokesperson press-secretary"),
    "candidate": _words("candidate nominee hopeful challenger frontrunner front-runner contender incumbent"),
    "military": _words("general gen admiral adm colonel col commander cmdr officer captain capt"),
    "legal": _words("attorney prosecutor lawyer counsel judge justice"),
    "expert": _words("analyst economist scientist researcher professor prof historian pollster strategist expert"),
    "aide": _words("aide adviser advisor consultant manager operative"),
}
# Quantifiers that are a speaker only on their own ("Some say", "Many believe", "Others argued").
QUANTIFIER_HEADS = _words("many some most few several both all others one another")
# Generic heads that may refer to anyone introduced with a role ("the official", "the host").
GENERIC_PERSON_HEADS = _words(
    """
    official diplomat politician veteran man woman executive host anchor moderator interviewer narrator
    commentator pundit blogger writer journalist novelist actor actress singer star comedian musician artist athlete
    player billionaire businessman businesswoman entrepreneur mogul tycoon magnate resident neighbor neighbour
    friend father mother son daughter wife husband brother sister widow victim survivor witness student teacher
    doctor nurse physician surgeon expert defendant plaintiff agent soldier protester protestor supporter opponent
    critic donor fan viewer reader caller user customer employee worker insider source person voter citizen
    owner landlord tenant farmer pilot driver passenger chef economist scholar lecturer priest minister staffer
    commenter ally
    """
)
# Role nouns that may stand before a name as a title ("Actress Jane Doe"); ambiguous ones are left out.
ROLE_NOUNS = TITLE_WORDS | (GENERIC_PERSON_HEADS - _words("man woman person source user star fan reader friend post"))
GENDERED_HEADS = {
    "spokeswoman": "f",
    "chairwoman": "f",
    "congresswoman": "f",
    "assemblywoman": "f",
    "councilwoman": "f",
    "woman": "f",
    "queen": "f",
    "princess": "f",
    "mrs": "f",
    "ms": "f",
    "spokesman": "m",
    "chairman": "m",
    "congressman": "m",
    "assemblyman": "m",
    "councilman": "m",
    "man": "m",
    "king": "m",
    "prince": "m",
    "mr": "m",
}

# Nouns that make an organisation out of a capitalised name ("the Justice Department", "Acme Corp.").
ORG_WORDS = _words(
    """
    house department ministry agency office bureau commission committee council board party campaign
    administration government senate congress parliament assembly court police army navy military
    company corporation corp inc co ltd llc plc group holdings bank fund foundation institute university college
    school association coalition alliance union league federation network channel newspaper times post news
    journal press media tribune herald daily center centre service services organization organisation
    authority embassy club team trust caucus pac
    """
)
# Heads of descriptions of organisations ("the company said"), resolved to the latest organisation.
ORG_HEADS = _words(
    "company firm group organization organisation agency campaign ministry department committee council party "
    "government administration commission board bank union network newspaper university institute foundation "
    "alliance coalition league team office bureau court police"
)
# Plural or collective speakers kept as they are ("U.S. officials", "critics", "a new poll").
GROUP_HEADS = _words(
    """
    officials authorities police prosecutors investigators analysts experts critics supporters opponents voters
    residents lawmakers legislators aides advisers advisors sources people economists scientists researchers
    doctors officers allies leaders members activists protesters protestors organizers observers diplomats
    insiders strategists pollsters historians witnesses employees workers parents students teachers campaigners
    spokespeople republicans democrats conservatives liberals progressives delegates donors operatives
    executives investors participants respondents americans citizens observers advocates groups countries
    nations governments officers staff staffers others
    poll polls survey surveys study studies report reports data document documents records statement
    memo letter filing complaint lawsuit ruling indictment analysis figures numbers estimates research
    release ad ads video tweet email post message note transcript article editorial column book website site
    paper documents agreement order decision verdict
    """
)
DETERMINERS = _words(
    "the a an this that these those his her its their our my your some many most several few both all two three "
    "four five one another other each every no any such"
)
# Capitalised words that start a sentence or a clause without being part of a name.
STOP_CAPS = _words(
    """
    the a an and but or so yet for nor in on at to of by with from as if when while after before since because
    although though however meanwhile still instead also then there here this that these those his her its their
    our my your he she it they we i you who what where why how which some many most other others another each
    every both all no not yes one two three asked according indeed now today yesterday last next earlier later
    just only even once again thus hence moreover furthermore despite during until unless whether like unlike
    nobody everybody somebody anybody everyone someone anyone nothing something everything
    mr mrs ms dr
    """
)
DAYS_MONTHS = _words(
    """
    monday tuesday wednesday thursday friday saturday sunday january february march april may june july august
    september october november december jan feb mar apr jun jul aug sep sept oct nov dec
    """
)
# First tokens that make a capitalised pair a place rather than a person ("North Carolina", "New York").
PLACE_FIRST = _words("north south east west new united saint st los las san santa fort mount lake port great el la")
# Last tokens that make a capitalised run a place ("Bexar County", "Harbor Street").
PLACE_LAST = _words(
    "county city state province region island islands river valley street avenue road square park airport bay coast "
    "sea ocean mountains hills heights beach village town republic kingdom"
)
# Name particles that may sit inside a name ("Ursula von der Leyen").
NAME_PARTICLES = _words("de van von der den da di du del della bin ibn al el la le ter")

# Common first names and their usual gender: enough for cheap he/she agreement, not a census.
MALE_NAMES = _words(
    """
    james john robert michael william david richard joseph thomas charles christopher daniel matthew anthony mark
    steven paul andrew joshua kenneth kevin brian george timothy ronald edward jason jeffrey ryan jacob
    gary nicholas eric jonathan stephen larry justin scott brandon benjamin samuel gregory frank alexander raymond
    patrick jack dennis jerry tyler aaron jose adam henry nathan douglas zachary peter kyle walter ethan jeremy
    harold keith christian roger noah gerald carl terry sean austin arthur lawrence jesse dylan bryan joe jordan
    billy bruce albert willie gabriel logan alan juan wayne roy ralph randy eugene vincent russell elijah louis
    bobby philip johnny mike bill tom jim bob dave steve chris ben tony hans klaus pierre francois luis carlos
    miguel pedro antonio giovanni luca ahmed mohammed muhammad ali omar hassan ivan sergei dmitry igor
    """
)
FEMALE_NAMES = _words(
    """
    mary patricia jennifer linda elizabeth barbara susan jessica sarah karen nancy lisa betty margaret sandra
    ashley kimberly emily donna michelle dorothy carol amanda melissa deborah stephanie rebecca sharon laura
    cynthia kathleen amy shirley angela helen anna brenda pamela nicole emma samantha katherine christine debra
    rachel catherine carolyn janet ruth maria heather diane virginia julie joyce victoria olivia kelly christina
    lauren joan evelyn judith megan cheryl andrea hannah martha jacqueline frances gloria ann teresa kathryn sara
    janice jean alice madison doris abigail julia judy grace denise amber marilyn beverly danielle theresa sophia
    marie diana brittany natalie isabella charlotte rose alexis kayla jane sophie claire anne ines ana lucia
    fatima aisha olga svetlana irina tatiana
    """
)
