"""Sentence segmentation: the cases news text throws at a splitter, and offsets that slice back to the text."""

from __future__ import annotations

import pytest

from bot.brief.sentences import paragraph_spans, split_sentences


def texts(text: str) -> list[str]:
    sentences = split_sentences(text)
    for s in sentences:
        assert text[s.start : s.end] == s.text
    return [s.text for s in sentences]


@pytest.mark.parametrize(
    "text",
    [
        "Sen. Maria Ortiz of Calif. spoke first.",
        "Gen. Abe Holt met Lt. Col. Dana Fry on Jan. 4 at 9 a.m. in the capital.",
        "The economy grew 3.5% as J. R. Tolliver predicted.",
        "U.S. officials also have said such a step would have costs.",
        "The deal with Harbor Co. and Smith Inc. closed on Sept. 30.",
    ],
)
def test_abbreviations_initials_and_decimals_do_not_end_sentences(text: str) -> None:
    assert texts(text) == [text]


def test_acronym_at_the_end_of_a_sentence() -> None:
    assert texts("She moved to the U.S. The next year she returned.") == [
        "She moved to the U.S.",
        "The next year she returned.",
    ]


def test_a_quotation_of_several_sentences_stays_with_its_attribution() -> None:
    text = "“It was late. We were tired. Nobody listened,” the captain said. Rescue crews arrived at dawn."
    assert texts(text) == [
        "“It was late. We were tired. Nobody listened,” the captain said.",
        "Rescue crews arrived at dawn.",
    ]


def test_a_quotation_ending_with_its_own_period_ends_the_sentence() -> None:
    text = "Ruiz said, “The case was unusual.” He added, “It will not happen again.”"
    assert texts(text) == ["Ruiz said, “The case was unusual.”", "He added, “It will not happen again.”"]


def test_a_question_quoted_before_its_attribution() -> None:
    assert texts('"Why now?" Ortiz asked. Nobody answered.') == ['"Why now?" Ortiz asked.', "Nobody answered."]


def test_mixed_quotation_marks() -> None:
    text = '"I hoped for more,” Graham said. “So I was disappointed."'
    assert texts(text) == ['"I hoped for more,” Graham said.', '“So I was disappointed."']


def test_a_quotation_running_over_paragraphs_splits_normally() -> None:
    text = "“The first part. And more.\n\n“The second part,” she said."
    assert texts(text) == ["“The first part.", "And more.", "“The second part,” she said."]
    assert [s.paragraph for s in split_sentences(text)] == [0, 0, 1]


def test_paragraph_spans_skip_blank_lines() -> None:
    text = "First paragraph.\n\n  \nSecond one.\n"
    assert [text[a:b] for a, b in paragraph_spans(text)] == ["First paragraph.", "Second one."]
