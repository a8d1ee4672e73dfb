"""Rule-based quote extraction and speaker attribution, on invented articles (tests/fixtures/quotes/*.txt)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.brief.quotes import Attribution, extract_quotes, find_attributions, verify_quote
from bot.brief.sentences import split_sentences
from bot.models import Quote

FIXTURES = Path(__file__).parent / "fixtures" / "quotes"


def _load(name: str) -> tuple[str, list[Attribution]]:
    text = (FIXTURES / name).read_text(encoding="utf-8")
    return text, find_attributions(text)


def _one(attributions: list[Attribution], fragment: str) -> Attribution:
    """The single attribution whose text contains `fragment`."""
    found = [a for a in attributions if fragment in a.text]
    assert len(found) == 1, [a.text for a in attributions]
    return found[0]


def _check(text: str, a: Attribution, *, speaker: str, role: str | None, kind: str, cue: str | None) -> None:
    assert (a.speaker, a.speaker_role, a.kind, a.cue) == (speaker, role, kind, cue)
    assert text[a.start : a.end] == a.text
    assert a.speaker_start < a.speaker_end
    assert a.verified == (kind == "direct")


@pytest.fixture(scope="module")
def harbor() -> tuple[str, list[Attribution]]:
    return _load("harbor_strike.txt")


@pytest.fixture(scope="module")
def school() -> tuple[str, list[Attribution]]:
    return _load("school_board.txt")


@pytest.fixture(scope="module")
def pier() -> tuple[str, list[Attribution]]:
    return _load("pier_vote.txt")


# -- attribution forms -----------------------------------------------------------------------------------------------


def test_quote_then_surname_said_resolves_full_name_and_title_role(harbor) -> None:
    text, atts = harbor
    a = _one(atts, "We will not let one dispute")
    _check(text, a, speaker="Mara Quint", role="Harbor Authority Director-General", kind="direct", cue="said")
    assert a.text == "We will not let one dispute close the busiest port on the coast"
    assert text[a.speaker_start : a.speaker_end] == "Quint"


def test_second_quotation_of_the_sentence_continues_the_speaker(harbor) -> None:
    text, atts = harbor
    first, second = _one(atts, "We will not let"), _one(atts, "The ships waiting offshore")
    _check(text, second, speaker="Mara Quint", role="Harbor Authority Director-General", kind="direct", cue="said")
    assert second.cue_start == first.cue_start


def test_said_clause_is_indirect_content_to_the_end_of_the_sentence(harbor) -> None:
    text, atts = harbor
    a = _one(atts, "each idle day")
    _check(text, a, speaker="Oren Falk", role="authority's chief economist", kind="indirect", cue="said")
    assert a.text == "each idle day costs the region about $40 million"


def test_told_an_addressee_that(harbor) -> None:
    text, atts = harbor
    a = _one(atts, "appoint a mediator")
    _check(text, a, speaker="Ana Velasco", role="Transport Minister", kind="indirect", cue="told")
    assert a.text == "the government would appoint a mediator by Wednesday"


def test_told_a_news_agency_without_that() -> None:
    text = "Lawyer Ruth Kaplan represents the tenants. Kaplan told Reuters the appeal would be filed in May."
    a = _one(find_attributions(text), "appeal")
    _check(text, a, speaker="Ruth Kaplan", role="Lawyer", kind="indirect", cue="told")
    assert a.text == "the appeal would be filed in May"


def test_wrote_on_social_media_that() -> None:
    text = (
        "Dock steward Tomas Brandt spoke at noon.\n\nBrandt wrote on social media that the union would vote on Friday."
    )
    a = _one(find_attributions(text), "vote on Friday")
    _check(text, a, speaker="Tomas Brandt", role="Dock steward", kind="indirect", cue="wrote")
    assert a.text == "the union would vote on Friday"


def test_said_colon_quotation() -> None:
    text = 'The council met on Monday. Councilwoman Lena Ortiz said: "The budget is balanced for the first time."'
    a = _one(find_attributions(text), "budget")
    _check(text, a, speaker="Lena Ortiz", role="Councilwoman", kind="direct", cue="said")
    assert a.text == "The budget is balanced for the first time."


def test_inverted_said_name_with_appositive_role() -> None:
    text = '"We expected more from the city," said Ruth Kaplan, a lawyer for the residents.'
    a = _one(find_attributions(text), "expected more")
    _check(text, a, speaker="Ruth Kaplan", role="lawyer for the residents", kind="direct", cue="said")
    assert text[a.speaker_start : a.speaker_end] == "Ruth Kaplan"


def test_split_quotation_around_the_cue() -> None:
    text = 'Water Minister Emeka Okafor toured the plant. "The water is safe," Okafor said, "but the pipes are old."'
    atts = find_attributions(text)
    first, second = _one(atts, "water is safe"), _one(atts, "pipes are old")
    for a in (first, second):
        _check(text, a, speaker="Emeka Okafor", role="Water Minister", kind="direct", cue="said")
    assert second.text == "but the pipes are old."
    assert first.cue_start == second.cue_start


def test_according_to_before_the_clause(harbor) -> None:
    text, atts = harbor
    a = _one(atts, "2,400 workers")
    _check(text, a, speaker="the union", role=None, kind="indirect", cue="According to")
    assert a.text == "about 2,400 workers joined the walkout"


def test_according_to_after_the_clause(harbor) -> None:
    text, atts = harbor
    a = _one(atts, "longest since 2014")
    _check(text, a, speaker="port records", role=None, kind="indirect", cue="according to")
    assert a.text == "The stoppage was the longest since 2014"


def test_dash_attribution(school) -> None:
    text, atts = school
    a = _one(atts, "Read the numbers")
    _check(text, a, speaker="Nadia Haddad", role="board treasurer", kind="direct", cue=None)


def test_quote_followed_by_she_added_in_the_next_sentence() -> None:
    text = (
        "Union president Rosa Mendel addressed the rally.\n\n“We are not finished.” She added that the vote is Friday."
    )
    atts = find_attributions(text)
    a = _one(atts, "We are not finished")
    _check(text, a, speaker="Rosa Mendel", role="Union president", kind="direct", cue="added")
    assert text[a.speaker_start : a.speaker_end] == "She"


def test_guillemets_and_inverted_subject(school) -> None:
    text, atts = school
    a = _one(atts, "Nous allons payer")
    _check(text, a, speaker="Claire Dubois", role="deputy mayor", kind="direct", cue="said")


def test_partial_quotation_inside_a_sentence() -> None:
    text = 'Governor Sam Whitfield spoke after the vote. He called it "a historic mistake" on Tuesday.'
    a = _one(find_attributions(text), "historic")
    _check(text, a, speaker="Sam Whitfield", role="Governor", kind="direct", cue="called")
    assert a.text == "a historic mistake"


def test_partial_quotation_inside_an_indirect_clause_stays_with_the_clause(school) -> None:
    text, atts = school
    a = _one(atts, "fragile compromise")
    _check(text, a, speaker="Priya Nair", role="district's superintendent", kind="indirect", cue="called")
    assert a.text == "the budget “a fragile compromise.”"


def test_quotation_over_paragraphs_with_repeated_opening_marks(harbor) -> None:
    text, atts = harbor
    a = _one(atts, "We have waited three years")
    _check(text, a, speaker="Tomas Brandt", role="Dock steward", kind="direct", cue="said")
    assert a.text.endswith("Tell the board that")
    assert "\n\n“Every shift we work without one" in a.text
    assert verify_quote(text, "We have waited three years for a contract. We are not waiting any longer. Every shift")


def test_mismatched_closing_mark() -> None:
    text = (
        "Water Minister Emeka Okafor opened the dam.\n\n“This will help the river towns and their farms,’ Okafor said."
    )
    a = _one(find_attributions(text), "river towns")
    _check(text, a, speaker="Emeka Okafor", role="Water Minister", kind="direct", cue="said")
    assert a.text == "This will help the river towns and their farms"


def test_participle_saying_takes_the_subject_of_its_clause() -> None:
    text = "Water Minister Emeka Okafor warned the council against delays, saying the rains would come early."
    a = _one(find_attributions(text), "rains")
    _check(text, a, speaker="Emeka Okafor", role="Water Minister", kind="indirect", cue="saying")
    assert a.text == "the rains would come early"


def test_acronym_before_a_title_is_not_a_pronoun() -> None:
    text = '"The state is ready to vote," US Senator Jane Roe said as she opened the session.'
    a = _one(find_attributions(text), "ready to vote")
    _check(text, a, speaker="Jane Roe", role="US Senator", kind="direct", cue="said")
    assert text[a.speaker_start : a.speaker_end] == "US Senator Jane Roe"


def test_aside_ending_with_a_day_between_subject_and_cue() -> None:
    text = 'Professor Jane Roe, in a statement released on Thursday, said she "welcomes the review of the dam."'
    a = _one(find_attributions(text), "welcomes")
    _check(text, a, speaker="Jane Roe", role="Professor", kind="indirect", cue="said")


def test_coordinated_subject_after_a_quotation() -> None:
    text = '"The dam is safe," Professor Ruth Kaplan and Mayor Ann Holt said in a joint statement.'
    a = _one(find_attributions(text), "dam is safe")
    _check(text, a, speaker="Ann Holt", role="Mayor", kind="direct", cue="said")
    assert text[a.speaker_start : a.speaker_end] == "Professor Ruth Kaplan and Mayor Ann Holt"


def test_quoted_title_inside_the_subject_aside() -> None:
    text = 'Professor Ruth Kaplan, the author of "Rivers of Salt," said the dam was safe.'
    atts = find_attributions(text)
    assert [a.text for a in atts] == ["the dam was safe"]
    _check(text, atts[0], speaker="Ruth Kaplan", role="Professor", kind="indirect", cue="said")


def test_described_as_names_with_the_quotation() -> None:
    text = 'Mayor Ann Holt opposed the new tax, which she described as "a burden on every family in town."'
    a = _one(find_attributions(text), "burden")
    _check(text, a, speaker="Ann Holt", role="Mayor", kind="direct", cue="described")


def test_adjunct_before_that() -> None:
    text = 'Mayor Ann Holt said during a town hall meeting that the pier was "unsafe."'
    a = _one(find_attributions(text), "pier")
    assert a.text == 'the pier was "unsafe."'


def test_clause_with_its_own_subject_after_the_cue_is_the_content() -> None:
    text = "Professor Ruth Kaplan toured the dam. As for the spillway, she said she is not worried."
    a = _one(find_attributions(text), "worried")
    _check(text, a, speaker="Ruth Kaplan", role="Professor", kind="indirect", cue="said")
    assert a.text == "she is not worried"


def test_content_may_open_with_because() -> None:
    text = "Professor Ruth Kaplan said because the rains came early, the dam would open in May."
    a = _one(find_attributions(text), "dam would open")
    assert a.text == "because the rains came early, the dam would open in May"


def test_infinitive_cue_takes_the_subject_of_the_governing_verb(pier) -> None:
    text, atts = pier
    a = _one(atts, "engineers sign off")
    _check(text, a, speaker="Tom Reed", role="Council member", kind="direct", cue="say")
    assert text[a.speaker_start : a.speaker_end] == "Council member Tom Reed"


def test_infinitive_after_an_object_belongs_to_the_cue_before(pier) -> None:
    text, atts = pier
    a = _one(atts, "budget would hold")
    _check(text, a, speaker="Lena Ortiz", role=None, kind="indirect", cue="urged")
    assert a.text == "to say whether the budget would hold"


def test_infinitive_of_a_verb_that_is_not_saying_is_no_cue() -> None:
    assert find_attributions("Council members gathered on Friday to welcome the new harbor master.") == []


def test_participle_after_a_noun_of_a_message() -> None:
    text = "Mayor Ann Holt released a statement saying the pier would reopen in May."
    a = _one(find_attributions(text), "reopen")
    _check(text, a, speaker="Ann Holt", role="Mayor", kind="indirect", cue="saying")
    assert text[a.speaker_start : a.speaker_end] == "Mayor Ann Holt"
    assert a.text == "the pier would reopen in May"


def test_participle_after_a_clause_that_opens_with_an_adjunct(pier) -> None:
    text, atts = pier
    a = _one(atts, "needless delay")
    _check(text, a, speaker="Ann Holt", role="Mayor", kind="indirect", cue="calling")
    assert a.text == 'its plan "a needless delay."'


def test_chant_is_a_cue(pier) -> None:
    _text, atts = pier
    a = _one(atts, "Fix the pier now")
    assert (a.speaker, a.cue) == ("Protesters", "chanted")


def test_naming_cue_ends_with_the_quoted_name_before_another_verb() -> None:
    text = 'Mayor Ann Holt called the plan "a disgrace" and ranked it among the worst ideas "in the city\'s history."'
    a = _one(find_attributions(text), "disgrace")
    _check(text, a, speaker="Ann Holt", role="Mayor", kind="indirect", cue="called")
    assert a.text == 'the plan "a disgrace"'


def test_quotation_after_a_colon_belongs_to_the_cue_after_it() -> None:
    text = 'In her speech, Mayor Ann Holt declared the need for patience: "We will rebuild the pier," she said.'
    atts = find_attributions(text)
    declared, said = _one(atts, "patience"), _one(atts, "rebuild")
    _check(text, declared, speaker="Ann Holt", role="Mayor", kind="indirect", cue="declared")
    assert declared.text == "the need for patience"
    _check(text, said, speaker="Ann Holt", role="Mayor", kind="direct", cue="said")


def test_name_and_colon_after_an_adjunct() -> None:
    text = 'Mayor Ann Holt spoke on Monday. In a tweet, Holt: "We will rebuild the pier."'
    a = _one(find_attributions(text), "rebuild")
    _check(text, a, speaker="Ann Holt", role="Mayor", kind="direct", cue=None)


def test_source_named_after_the_clause_reports_the_whole_clause() -> None:
    text = 'Mayor Ann Holt acknowledged that the old pier was "badly built from the start," the Gazette reported.'
    a = _one(find_attributions(text), "badly built")
    _check(text, a, speaker="Gazette", role=None, kind="indirect", cue="reported")
    assert a.text == 'Mayor Ann Holt acknowledged that the old pier was "badly built from the start,"'


def test_possessor_of_a_statement_is_the_speaker(pier) -> None:
    text, atts = pier
    a = _one(atts, "fifty years")
    _check(text, a, speaker="Tom Reed", role="Council member", kind="direct", cue=None)
    assert text[a.speaker_start : a.speaker_end] == "Reed's statement"


def test_clause_is_not_taken_for_a_description_after_a_quotation() -> None:
    text = 'Lee Park, the engineer known as "Ghost," stated that he had access to the server.'
    assert all("access" not in text[a.speaker_start : a.speaker_end] for a in find_attributions(text))


# -- quotations without a cue ----------------------------------------------------------------------------------------


def test_quotation_after_a_colon_takes_the_subject_of_its_clause(pier) -> None:
    text, atts = pier
    a = _one(atts, "fishing families")
    _check(text, a, speaker="Ann Holt", role="Mayor", kind="direct", cue=None)
    assert text[a.speaker_start : a.speaker_end] == "Holt"


def test_long_quotation_without_a_cue_goes_to_the_person_named_last(pier) -> None:
    text, atts = pier
    a = _one(atts, "state grant")
    _check(text, a, speaker="Lena Ortiz", role=None, kind="direct", cue=None)


def test_headlines_and_short_quotations_stay_unattributed(pier) -> None:
    _text, atts = pier
    assert not [a for a in atts if "Another Season" in a.text or "done deal" in a.text]


# -- speaker resolution ----------------------------------------------------------------------------------------------


def test_pronoun_agrees_in_gender_with_its_antecedent(school) -> None:
    text, atts = school
    a = _one(atts, "new library")
    _check(text, a, speaker="Linda Park", role=None, kind="direct", cue="said")
    assert text[a.speaker_start : a.speaker_end] == "she"


def test_pronoun_speaker_keeps_the_role_of_the_person(harbor) -> None:
    text, atts = harbor
    for fragment in ("Talks begin tomorrow", "Nobody wants a long strike"):
        a = _one(atts, fragment)
        _check(text, a, speaker="Ana Velasco", role="Transport Minister", kind="direct", cue="said")
        assert text[a.speaker_start : a.speaker_end] == "she"


def test_description_resolves_to_the_person_with_that_role(harbor) -> None:
    text, atts = harbor
    a = _one(atts, "how long the port")
    _check(text, a, speaker="Mara Quint", role="Harbor Authority Director-General", kind="indirect", cue="declined")
    assert text[a.speaker_start : a.speaker_end] == "The Harbor Authority chief"
    assert a.text == "to say how long the port could stay shut"


def test_honorific_and_surname_resolve_to_the_full_name(school) -> None:
    text, atts = school
    a = _one(atts, "ignored the families")
    _check(text, a, speaker="Tom Reyes", role=None, kind="indirect", cue="said")
    assert text[a.speaker_start : a.speaker_end] == "Mr. Reyes"


def test_doctor_title_is_dropped_from_the_name(school) -> None:
    _text, atts = school
    assert _one(atts, "fragile compromise").speaker == "Priya Nair"


def test_senator_with_party_and_state(school) -> None:
    text, atts = school
    a = _one(atts, "cover the shortfall")
    _check(text, a, speaker="Maria Lindqvist", role="Sen. (D-Ore.)", kind="indirect", cue="said")


def test_the_company_resolves_to_the_business_named_before(school) -> None:
    text, atts = school
    a = _one(atts, "prices would not rise")
    _check(text, a, speaker="Brightline Foods Inc.", role=None, kind="indirect", cue="said")
    assert text[a.speaker_start : a.speaker_end] == "The company"


def test_organisation_speaker() -> None:
    text = "The Ministry of Water said in a statement that the reservoir was full."
    a = _one(find_attributions(text), "reservoir")
    _check(text, a, speaker="Ministry of Water", role=None, kind="indirect", cue="said")
    assert a.text == "the reservoir was full"


def test_group_speaker_in_a_second_clause() -> None:
    text = (
        "The minister declined to detail the penalties the mill could face, but U.S. officials also have said such a "
        "step would have costs."
    )
    atts = find_attributions(text)
    a = _one(atts, "such a step")
    _check(text, a, speaker="U.S. officials", role=None, kind="indirect", cue="said")
    assert a.text == "such a step would have costs"
    assert _one(atts, "penalties").text == "to detail the penalties the mill could face"


def test_group_speaker_union_leaders(harbor) -> None:
    text, atts = harbor
    a = _one(atts, "walkout could last a week")
    _check(text, a, speaker="union leaders", role=None, kind="indirect", cue="said")


# -- the whole output ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["harbor_strike.txt", "school_board.txt", "pier_vote.txt"])
def test_offsets_cues_and_order(name: str) -> None:
    text, atts = _load(name)
    assert atts
    assert [a.start for a in atts] == sorted(a.start for a in atts)
    for a in atts:
        assert text[a.start : a.end] == a.text
        if a.cue is not None:
            assert a.cue_start is not None and text[a.cue_start : a.cue_end] == a.cue
        if a.kind == "direct":
            assert verify_quote(text, a.text)


def test_extract_quotes_returns_briefing_quotes(school) -> None:
    text, atts = school
    quotes = extract_quotes(text, split_sentences(text))
    assert all(isinstance(q, Quote) for q in quotes)
    assert [(q.speaker, q.text, q.start) for q in quotes] == [(a.speaker, a.text, a.start) for a in atts]


def test_deterministic_and_empty() -> None:
    text = (FIXTURES / "harbor_strike.txt").read_text(encoding="utf-8")
    assert find_attributions(text) == find_attributions(text)
    assert find_attributions("") == []
    assert find_attributions("No one said anything worth quoting here") == []


# -- verification ----------------------------------------------------------------------------------------------------


def test_verify_quote_ignores_marks_spacing_and_case() -> None:
    article = "“We will not  back down,” she said.\n\n“Not now,’ she added."
    assert verify_quote(article, '"We will not back down"')
    assert verify_quote(article, "we will not back down.")
    assert verify_quote(article, "Not now")


def test_verify_quote_accepts_elisions_in_order_only() -> None:
    article = "The plan is bold, the minister said, and it is overdue."
    assert verify_quote(article, "The plan is bold … it is overdue")
    assert not verify_quote(article, "it is overdue ... The plan is bold")


def test_verify_quote_rejects_changed_words() -> None:
    article = "“We will not back down,” she said."
    assert not verify_quote(article, "We will never back down")
    assert not verify_quote(article, "")


@pytest.mark.parametrize(
    ("text", "speaker"),
    [
        ("Local importers said the tariffs would raise shelf prices by spring.", "Local importers"),
        ("Some dairy farmers told the committee that feed costs had doubled.", "Some dairy farmers"),
        ("Independent investors warned that the merger undervalued the company.", "Independent investors"),
    ],
)
def test_a_group_named_by_a_plural_agent_noun_is_a_speaker(text: str, speaker: str) -> None:
    # The lexicon cannot list every trade ("importers", "growers", "shippers"); a plural -ers/-ors noun is a group.
    [quote] = extract_quotes(text)
    assert quote.speaker == speaker and quote.kind == "indirect"


def test_a_thing_ending_in_ers_is_not_a_speaker() -> None:
    assert extract_quotes("Its papers said nothing new.") == []  # too short a noun to be an agent


@pytest.mark.parametrize(
    ("text", "speaker", "role"),
    [
        (
            "The company's chief executive, Harriet Cole, said the cuts were painful.",
            "Harriet Cole",
            "company's chief executive",
        ),
        (
            "The island's representative on the county board, Tomas Whitcombe, said the plan was a bandage.",
            "Tomas Whitcombe",
            "island's representative on the county board",
        ),
        # The name's own title wins over the description before it.
        (
            "Another ally, Agriculture Secretary Tom Vilsack, told reporters that the plan was fine.",
            "Tom Vilsack",
            "Agriculture Secretary",
        ),
    ],
)
def test_a_description_that_introduces_a_name_gives_the_name_and_the_role(text: str, speaker: str, role: str) -> None:
    [quote] = extract_quotes(text)
    assert (quote.speaker, quote.speaker_role) == (speaker, role)
