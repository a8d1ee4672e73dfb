"""'What did X say (about Y)?' is answered from who said what in the article, and refused when X said nothing."""

from __future__ import annotations

import pytest

from bot.brief.answer import answer_offline
from bot.brief.retrieval import ArticleIndex
from bot.brief.said import matching_statements, person_for_role, read_said_question, read_who_is

ARTICLE = """\
Harwick votes to ban trucks from its high street

HARWICK — The Harwick town council voted 5-2 on Monday to ban heavy trucks from the high street from next spring, \
after years of complaints about noise and cracked pavements.

"The high street was never built for forty-tonne lorries," Mayor Ellen Drury said after the vote. "Our shops and \
our schoolchildren deserve better."

Drury said the 60 parking spaces lost to wider pavements would be replaced by a new car park behind the library.

Norvale Freight, the haulage company that runs most of the trucks, said the detour would add nine minutes to each \
delivery and cost it about £300,000 a year.

"We will comply, but our customers will pay for it," said Tom Reyes, the company's vice president of operations.

Shares in Norvale Freight fell 4 percent after the vote. The weather on Monday was cold and wet, and the council \
chamber was packed.
"""


def ask(question: str, history: tuple[str, ...] = ()) -> str:
    answer = answer_offline(ARTICLE, question, history=history)
    return "REFUSED" if answer.refused else answer.text


def test_a_speaker_named_by_role_gets_their_statement_on_the_topic() -> None:
    reply = ask("What did the mayor say about parking?")
    assert "60 parking spaces" in reply and "forty-tonne" not in reply


def test_without_a_topic_the_first_statement_is_quoted() -> None:
    assert "forty-tonne lorries" in ask("What did the mayor say?")


def test_a_company_named_by_apposition_is_a_speaker() -> None:
    assert "nine minutes" in ask("What did the haulage company say about the detour?")


def test_a_speaker_who_never_spoke_about_the_topic_is_refused() -> None:
    # The article mentions the weather, and the mayor, but the mayor says nothing about the weather.
    assert ask("What did the mayor say about the weather?") == "REFUSED"


def test_a_party_mentioned_but_never_quoted_is_refused() -> None:
    assert ask("What did the council say?") == "REFUSED"  # it voted; it said nothing
    assert ask("What did the police say about the ban?") == "REFUSED"  # never mentioned at all


def test_a_vice_president_is_not_the_president() -> None:
    assert ask("What did the president say about the ban?") == "REFUSED"
    assert "customers will pay" in ask("What did the vice president say?")  # asked for by the full title


def test_a_reaction_by_someone_who_made_no_statement_is_answered_as_any_question() -> None:
    assert "fell 4 percent" in ask("How did the shares react?")


def test_pronoun_speakers_are_left_to_the_thread() -> None:
    assert read_said_question("What did she say about parking?") is None
    assert "60 parking spaces" in ask("What did she say about parking?", history=("Who is the mayor?",))


def test_reading_the_question() -> None:
    asked = read_said_question("What did the mayor say about the new car park?")
    assert asked is not None and asked.speaker == {"mayor"} and asked.topic == "the new car park"
    assert read_said_question("How did the haulage firm respond?").reaction  # type: ignore[union-attr]
    assert read_said_question("What does the ban mean for shops?") is None  # not about anyone's words
    speakers = {
        a.speaker for _, a in matching_statements(ArticleIndex(ARTICLE), read_said_question("What did Drury say?"))
    }  # type: ignore[arg-type]
    assert speakers == {"Ellen Drury"}


@pytest.mark.parametrize("question", ["What did the mayor say about parking?", "What did the haulage company say?"])
def test_citations_slice_back_to_the_answer(question: str) -> None:
    answer = answer_offline(ARTICLE, question)
    assert not answer.refused
    assert " ".join(ARTICLE[s:e] for s, e in answer.citations) == answer.text


# --- "who is the mayor?" ------------------------------------------------------------------------------------------


def test_who_holds_a_role_is_the_sentence_that_introduces_them() -> None:
    assert "Mayor Ellen Drury said" in ask("Who is the mayor?")
    assert "said Tom Reyes, the company's vice president" in ask("Who is the company's vice president?")
    assert "Mayor Ellen Drury said" in ask("Who's Drury?")


def test_a_role_nobody_in_the_article_holds_is_not_answered_with_someone_else() -> None:
    assert "Ellen Drury" not in ask("Who is the deputy mayor?")  # a deputy is not the mayor
    # Nor is a vice president the president: no speaker holds that role (the general answerer takes the question).
    assert person_for_role(ArticleIndex(ARTICLE), "president", frozenset()) is None


def test_who_questions_about_deeds_are_not_role_questions() -> None:
    assert read_who_is("Who is paying for the detour?") is None
    assert read_who_is("Who voted against the ban?") is None
    assert read_who_is("Who is the new mayor of Harwick?") == ("mayor", frozenset())  # "new" is generic; "of ..." goes


def test_an_abbreviated_speaker_is_read_before_folding_case() -> None:
    text = "Talks ended on Friday.\n\nU.S. officials said the tariffs would stay until June."
    asked = read_said_question("What did the U.S. say about the tariffs?")
    assert asked is not None and asked.topic == "the tariffs"
    assert "would stay until June" in answer_offline(text, "What did the U.S. say about the tariffs?").text


def test_yes_no_forms_of_the_question_are_read_the_same_way() -> None:
    assert "60 parking spaces" in ask("Did the mayor say anything about parking?")
    assert ask("Has the council commented?") == "REFUSED"  # it voted; it said nothing
