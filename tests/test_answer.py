"""Follow-up answers from the article: retrieval, extractive answers with citations, refusals, LLM context."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.brief.answer import (
    EMPTY_QUESTION,
    REFUSAL,
    Answer,
    ArticleIndex,
    answer_offline,
    index_for,
    retrieve,
    select_passages_for_llm,
)
from bot.brief.answer_types import sentence_features
from bot.brief.qa_terms import analyse, question_type, stem
from bot.brief.retrieval import appositions

FIXTURES = Path(__file__).parent / "fixtures" / "qa"


def load(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


BRIDGE = load("riverton-bridge")
VACCINE = load("malaria-vaccine-trial")
LAYOFFS = load("lumora-layoffs")
ARTICLES = [BRIDGE, VACCINE, LAYOFFS]


def norm(text: str) -> str:
    return " ".join(text.lower().split())


def cited(article: str, answer: Answer) -> str:
    return " ".join(article[start:end] for start, end in answer.citations)


# ---- citations ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("article", ARTICLES, ids=lambda a: a["id"])
def test_citations_slice_back_to_the_quoted_text(article: dict) -> None:
    for item in article["questions"]:
        answer = answer_offline(article["text"], item["q"])
        if answer.refused:
            assert answer.citations == [] and answer.reason == REFUSAL
            continue
        assert answer.citations, item["q"]
        assert cited(article["text"], answer) == answer.text
        starts = [start for start, _ in answer.citations]
        assert starts == sorted(starts)
        for start, end in answer.citations:
            # Whole sentences: a citation starts and ends on a sentence boundary, not mid-word.
            assert 0 <= start < end <= len(article["text"])
            assert not article["text"][start].isspace() and not article["text"][end - 1].isspace()


@pytest.mark.parametrize(
    ("article", "question", "expected"),
    [
        (BRIDGE, "Who voted against the relief fund?", "Ray Dominguez"),
        (BRIDGE, "Which company got the contract?", "Halvorsen Construction"),
        (BRIDGE, "When is the first public meeting?", "March 12"),
        (BRIDGE, "When does the bridge close?", "March 3"),
        (BRIDGE, "How many cars use the bridge every day?", "23,000"),
        (BRIDGE, "How much will the project cost?", "$38.5 million"),
        (BRIDGE, "How much can a business get from the relief fund?", "$10,000"),
        (VACCINE, "How many kids took part in the study?", "4,800"),
        (VACCINE, "What did the control group get?", "rabies vaccine"),
        (VACCINE, "Who paid for the trial?", "Gates Foundation"),
        (LAYOFFS, "Who runs Lumora?", "Priya Raman"),
        (LAYOFFS, "How much money will the cuts save?", "$210 million"),
        (LAYOFFS, "When will Canvasly Studio come out for everyone?", "September"),
        (LAYOFFS, "What did the analyst think of the plan?", "Cutting costs is the easy part"),
    ],
)
def test_the_answer_comes_from_the_right_passage(article: dict, question: str, expected: str) -> None:
    answer = answer_offline(article["text"], question)
    assert not answer.refused, question
    assert norm(expected) in norm(cited(article["text"], answer))
    assert answer.engine == "extractive" and answer.reason is None and answer.support > 0


@pytest.mark.parametrize(
    ("article", "question"),
    [
        (BRIDGE, "What is the speed limit on the detour?"),
        (BRIDGE, "Who designed the original bridge?"),
        (BRIDGE, "How many construction jobs will the project create?"),
        (BRIDGE, "When was the Grant Avenue Bridge last inspected?"),
        (VACCINE, "How many adults took part in the trial?"),
        (VACCINE, "Which pharmaceutical company will sell the vaccine in Asia?"),
        (VACCINE, "What is the budget for the phase 3 trial?"),
        (LAYOFFS, "How many of the laid-off workers are in Dublin?"),
        (LAYOFFS, "How much will Canvasly Studio cost?"),
        (LAYOFFS, "What is Lumora's market value?"),
        (LAYOFFS, "What did Starbucks say about the layoffs?"),
    ],
)
def test_unanswerable_questions_are_refused(article: dict, question: str) -> None:
    answer = answer_offline(article["text"], question)
    assert answer.refused
    assert answer.reason == REFUSAL == "The article doesn't say."
    assert answer.text == REFUSAL and answer.citations == [] and answer.doc_id is None


def test_fixture_questions_mostly_right() -> None:
    # A regression floor on the fixture subset (34/44 answered right and 17/18 refused when written): a change that
    # breaks ranking or refusal fails here. The floor was 0.8 when the synonym tables were fitted to these very
    # questions; the general method scores a little lower on them and much higher on unseen articles (bench).
    answerable = correct = unanswerable = refused = 0
    for article in ARTICLES:
        index = ArticleIndex(article["text"])
        for item in article["questions"]:
            answer = answer_offline(article["text"], item["q"], index=index)
            if item["answer"] is None:
                unanswerable += 1
                refused += answer.refused
            else:
                answerable += 1
                correct += not answer.refused and norm(item["answer"]) in norm(answer.text)
    assert correct / answerable >= 0.75
    assert refused / unanswerable >= 0.85


# ---- questions that are not questions ----------------------------------------------------------------------------


@pytest.mark.parametrize("question", ["", "   ", "\n\t"])
def test_empty_question(question: str) -> None:
    answer = answer_offline(BRIDGE["text"], question)
    assert answer.refused and answer.reason == EMPTY_QUESTION and answer.citations == []
    assert retrieve(BRIDGE["text"], question) == []


def test_question_of_stop_words_only_is_refused() -> None:
    answer = answer_offline(BRIDGE["text"], "What did they say about it?")
    assert answer.refused and answer.reason == REFUSAL


def test_what_is_this_about_quotes_the_lead() -> None:
    answer = answer_offline(BRIDGE["text"], "What is this about?")
    assert not answer.refused
    assert answer.text.startswith("RIVERTON — The Mill Street Bridge")  # the lead, not the headline line
    assert cited(BRIDGE["text"], answer) == answer.text


def test_empty_article_refuses() -> None:
    assert answer_offline("", "How much will it cost?").refused
    assert retrieve("", "How much will it cost?") == []


# ---- follow-ups and several articles ------------------------------------------------------------------------------


def test_history_resolves_a_pronoun_follow_up() -> None:
    question = "When is the first one?"
    assert answer_offline(BRIDGE["text"], question).refused
    history = ["How do I find out what's going on?", "Will there be public meetings?"]
    followed = answer_offline(BRIDGE["text"], question, history=history)
    assert not followed.refused and "March 12" in followed.text
    said = answer_offline(BRIDGE["text"], "What did she say?", history=["Who runs the bakery on Mill Street?"])
    assert not said.refused and "Maria Lutz" in said.text


def test_two_articles_in_one_thread() -> None:
    documents = [("bridge", BRIDGE["text"]), ("vaccine", VACCINE["text"])]
    texts = dict(documents)
    vaccine = answer_offline(documents, "How many kids took part in the study?")
    assert vaccine.doc_id == "vaccine" and "4,800" in vaccine.text
    assert cited(texts["vaccine"], vaccine) == vaccine.text
    bridge = answer_offline(documents, "Which company got the contract?")
    assert bridge.doc_id == "bridge" and "Halvorsen" in cited(texts["bridge"], bridge)
    assert answer_offline(documents, "What is the speed limit on the detour?").refused

    passages = retrieve(documents, "When does the trial or the closure start?", k=4)
    assert {p.doc_id for p in passages} <= {"bridge", "vaccine"}
    for p in passages:
        assert texts[p.doc_id][p.start : p.end] == p.text


def test_single_text_answers_carry_no_doc_id() -> None:
    answer = answer_offline(BRIDGE["text"], "When does the bridge close?")
    assert answer.doc_id is None and not answer.refused


# ---- retrieval -----------------------------------------------------------------------------------------------------


def test_retrieve_returns_ranked_non_overlapping_slices() -> None:
    passages = retrieve(BRIDGE["text"], "How much will the repairs cost and who pays?", k=5)
    assert 1 <= len(passages) <= 5
    assert [p.score for p in passages] == sorted((p.score for p in passages), reverse=True)
    for p in passages:
        assert BRIDGE["text"][p.start : p.end] == p.text
    spans = sorted((p.start, p.end) for p in passages)
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in itertools.pairwise(spans))
    assert "$38.5 million" in " ".join(p.text for p in passages)
    assert len(retrieve(BRIDGE["text"], "bridge", k=2)) == 2


def test_deterministic_and_cached() -> None:
    question = "How many doses did each child get?"
    first = answer_offline(VACCINE["text"], question)
    fresh = answer_offline(VACCINE["text"], question, index=ArticleIndex(VACCINE["text"]))
    assert first == fresh == answer_offline(VACCINE["text"], question)
    assert retrieve(VACCINE["text"], question) == retrieve(VACCINE["text"], question)
    assert index_for(VACCINE["text"]) is index_for(VACCINE["text"])
    assert index_for([("a", VACCINE["text"])]) is index_for((("a", VACCINE["text"]),))


def test_answer_is_frozen() -> None:
    answer = answer_offline(BRIDGE["text"], "When does the bridge close?")
    with pytest.raises(ValidationError):
        answer.text = "changed"  # type: ignore[misc]


# ---- LLM context -------------------------------------------------------------------------------------------------


def test_llm_passages_fit_the_budget_and_slice_back() -> None:
    passages = select_passages_for_llm(BRIDGE["text"], "How much will it cost?", [], budget_chars=900)
    assert passages
    assert sum(len(p.text) for p in passages) <= 900
    assert [p.start for p in passages] == sorted(p.start for p in passages)  # article order
    for p in passages:
        assert BRIDGE["text"][p.start : p.end] == p.text
    assert "$38.5 million" in " ".join(p.text for p in passages)


def test_an_article_that_fits_the_budget_is_sent_whole() -> None:
    # The model must not miss an answer the ranking missed: within budget, every sentence goes (in article order).
    text = BRIDGE["text"]
    passages = select_passages_for_llm(text, "Who will pay for the detour signs?", [], budget_chars=len(text) + 200)
    index = ArticleIndex(text)
    covered = [u for u in index.units if any(p.start <= u.start and u.end <= p.end for p in passages)]
    assert len(covered) == len(index.units)
    half = select_passages_for_llm(text, "Who will pay for the detour signs?", [], budget_chars=len(text) // 2)
    assert len(text) // 3 < sum(len(p.text) for p in half) <= len(text) // 2  # a smaller budget is used, not wasted


def test_llm_passages_follow_the_thread() -> None:
    history = ["What did the baker say about the closure?"]
    passages = select_passages_for_llm(BRIDGE["text"], "Is she getting any help?", history, budget_chars=1200)
    joined = " ".join(p.text for p in passages)
    assert "Maria Lutz" in joined


def test_llm_passages_over_two_articles_and_tiny_budgets() -> None:
    documents = [("bridge", BRIDGE["text"]), ("vaccine", VACCINE["text"])]
    passages = select_passages_for_llm(documents, "How many children were in the trial?", [], budget_chars=2000)
    assert any(p.doc_id == "vaccine" and "4,800" in p.text for p in passages)
    assert sum(len(p.text) for p in passages) <= 2000
    tiny = select_passages_for_llm(documents, "How many children were in the trial?", [], budget_chars=40)
    assert len(tiny) == 1 and len(tiny[0].text) <= 40
    assert select_passages_for_llm(documents, "anything", [], budget_chars=0) == []


# ---- the words of questions ----------------------------------------------------------------------------------------


def test_stemmer_and_question_types() -> None:
    assert stem("closing") == stem("closed") == stem("close")
    assert stem("evacuation") == stem("evacuated")
    assert stem("cities") == stem("city") and stem("worried") == stem("worry")
    assert question_type("How many people died?")[0] == "QUANTITY"
    assert question_type("How much will it cost?")[0] == "MONEY"
    assert question_type("When does it open?")[0] == "DATE"
    assert question_type("Who designed it?")[0] == "PERSON"
    assert question_type("How long will it take?")[0] == "DURATION"
    assert "MONEY" in sentence_features("The work will cost an estimated $38.5 million.")
    assert "QUANTITY" not in sentence_features("It opened on March 3, 1962.")


# ---- general techniques, on a small invented article -------------------------------------------------------------

# Written for these tests: every rule below is general (a pronoun means the main subject, a name given by apposition
# stands for its noun, an amount must belong to the thing asked about...), not tied to a bench question.
FERRY = """Harwick ferry to return in June after two-year refit

HARWICK — The Harwick ferry will return to service on June 14 after a two-year refit, the island council said on \
Monday. The vessel, named Seabright, was taken out of service in 2023 after inspectors found rust in its hull.

Seabright now weighs 820 tonnes and can carry 60 cars, up from 45 before the work. The refit cost £9.2 million, most \
of it paid by the national government.

Crossings will take 35 minutes. Tickets for foot passengers will go on sale next week. Parking at the harbour costs \
£6 a day. Fares rose by 10 percent last year. Fares will rise by a further 4 percent in July.

"People here have waited a long time for this boat," said Mayor Ellen Drew. "The old crossing was slow and the \
trucks queued for hours."

A first refit was scheduled to finish in 2022 but was delayed by a shortage of steel plate.
"""


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("When does it come back?", "June 14"),  # "it": the main subject, the ferry
        ("How heavy is the ferry?", "820 tonnes"),  # "Seabright" is the ferry by apposition; "heavy" wants a weight
        ("How many cars can the boat take?", "60 cars"),  # the count stands right before the counted noun
        ("How much did the refit cost?", "£9.2 million"),
        ("Who is paying for it?", "national government"),  # "pay for" reads as "fund" / "paid"
        ("What did the mayor say about trucks?", "trucks queued"),  # a "say" question wants something said
        ("How long is the crossing?", "35 minutes"),
        ("Why was it taken out of service?", "rust in its hull"),
    ],
)
def test_general_techniques_find_the_answer(question: str, expected: str) -> None:
    answer = answer_offline(FERRY, question)
    assert not answer.refused, question
    assert expected in answer.text and cited(FERRY, answer) == answer.text


@pytest.mark.parametrize(
    "question",
    [
        "How much does a ticket cost?",  # an amount is given, but for parking, not for tickets
        "What did the captain say about the refit?",  # nobody called the captain says anything
        "How much snow fell on the island?",  # a specific word the article never uses: a fact it doesn't give
        "Who will replace the mayor?",  # the question's verb, and any paraphrase of it, appears nowhere
        "How fast can the ferry go?",  # no speed is given
        "What did Stena say about the ferry?",  # a name the article never mentions
    ],
)
def test_plausible_but_unanswered_questions_are_refused(question: str) -> None:
    assert answer_offline(FERRY, question).refused, question


def test_question_reading() -> None:
    assert analyse("How many teaching jobs are unfilled?").focus == {"job"}  # the head of the noun phrase
    assert analyse("How much did a ticket cost?").nominal == {"ticket"}  # "cost" is the verb here
    assert analyse("What time did it land?").required == "TIME"
    assert analyse("What did the mayor say about trucks?").required == "QUOTE"
    assert analyse("How heavy is the ferry?").required == "WEIGHT"
    assert "resign" in analyse("Will she step down?").rest  # a phrasal verb as the word an article would use
    assert ("ferry", "seabright") in appositions("The ferry, named Seabright, sailed.")
    assert (stem("executive"), "lindgren") in appositions("said chief executive Maya Lindgren.")
    assert appositions("In Germany, the average price rose.") == []  # a place after a preposition, no apposition


def test_time_of_the_question_matters() -> None:
    # The same words in two sentences: the question's tense picks the one about the same time.
    index = ArticleIndex(FERRY)
    assert "4 percent" in answer_offline(FERRY, "How much will fares go up?", index=index).text
    assert "10 percent" in answer_offline(FERRY, "How much did fares go up?", index=index).text
