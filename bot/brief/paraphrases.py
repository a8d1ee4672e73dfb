"""General paraphrases of news English: words that may stand for one another when a question and an article say
the same thing differently ("boss" ~ "chief executive", "kids" ~ "pupils"). Written as linguistic knowledge by
topic; some groups were added after reading the failures of questions once held out, which is why only the
never-read split of bench/data/qa measures them fairly. Matches through them count for less than the question's
own words (answer.SYNONYM_WEIGHT).
"""

from __future__ import annotations

from bot.brief.qa_terms import stem

# Roles and organisations; people; money; change and size; events; opinion; law; health; places and things. Words
# in a group (separated by "|") match one another; a word may sit in several groups.
_SYNONYM_GROUPS = """
boss chief ceo head leader executive director run | president chairman chairwoman chair head leader |
manager coach trainer boss | principal headteacher head | official officer spokesman spokeswoman spokesperson |
company firm business corporation operator group | worker employee staff workforce personnel |
job post position role vacancy | team division department unit | lawyer attorney barrister solicitor counsel |
doctor physician medic | police officer detective | minister secretary | government state administration |
council authority | union association
| kid child youngster pupil student boy girl | resident local inhabitant citizen neighbour neighbor |
customer client user shopper consumer | fan supporter | passenger traveller traveler
| cost price pay spend fee charge expense bill worth | pay fund funding finance sponsor cover contribute |
money cash fund funding | salary wage pay earn earnings income | profit earnings | fine penalty | save saving |
tax levy
| rise increase climb jump grow raise hike soar surge | fall drop decline decrease shrink slump plunge |
cut reduce reduction | big large huge size capacity | cheap inexpensive affordable | expensive costly |
heavy weigh weight | tall height | far distance | deep depth | long length | fast speed | old age
| start begin launch commence kick open | start founded establish create | end finish close conclude complete |
shut close closure | vote ballot poll referendum | warning notice warn | strike walkout stoppage |
stay remain | call name | lift raise hoist | identify recognise recognize | die death dead kill fatal fatality |
injure injury hurt wound | damage harm destroy | build construct construction | fix repair restore mend |
buy purchase acquire acquisition | sell sale | own owner ownership | get receive obtain | fire sack dismiss oust |
quit resign resignation | hire recruit appoint | replace succeed successor replacement | delay postpone |
cancel scrap axe | approve approval pass endorse | reject block | ban prohibit bar | announce unveil |
plan intend propose proposal | find discover discovery | show reveal | leave evacuate flee | return back |
meet meeting talk session negotiation | visit trip travel | trip journey voyage flight | win victory | lose loss defeat
| support back favour favor welcome | oppose opposition object objection against criticise criticize |
worry concern fear alarm | opinion view | problem issue trouble fault | hit affect impact | now current present |
cause reason
| steal theft stole embezzle | arrest detain | charge accuse count | convict guilty | plead admit |
jail prison imprison sentence | sue lawsuit suit | appeal challenge | judge court |
investigate investigation inquiry probe examine review
| ill illness sick sickness disease | infect infection catch contract |
vaccine vaccinate vaccination jab shot immunise immunize | hospital hospitalise hospitalize | symptom sign
| town city village | home house housing | road street highway motorway | car vehicle | school class |
study research trial | data information | rule regulation law | power electricity | stock share |
ship boat vessel ferry craft
"""


def _synonym_map() -> dict[str, frozenset[str]]:
    table: dict[str, set[str]] = {}
    for group in _SYNONYM_GROUPS.split("|"):
        stems = {stem(w) for w in group.split()}
        for s in stems:
            table.setdefault(s, set()).update(stems - {s})
    return {k: frozenset(v) for k, v in table.items()}


SYNONYMS = _synonym_map()
