"""Implications on invented fixture articles: forward-looking sentences from the article, with evidence."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.brief.implications import cue_score, find_implications
from bot.brief.keypoints import rank_key_points
from bot.brief.sentences import split_sentences
from bot.models import Implication

ARTICLES = Path(__file__).parent / "fixtures" / "articles"
FIXTURES = sorted(path.stem for path in ARTICLES.glob("*.txt"))
LIBRARY_NOISE = ("Subscribe", "shows plans", "Share this", "Advertisement", "Read more", "bookmobile?", "Click here")


def load(name: str) -> str:
    return (ARTICLES / f"{name}.txt").read_text(encoding="utf-8")


def implications_for(text: str, **kwargs) -> tuple[list[Implication], set[tuple[int, int]]]:
    sentences = split_sentences(text)
    used = {span for kp in rank_key_points(text, sentences) for span in kp.evidence}
    return find_implications(text, sentences, exclude=used, **kwargs), used


@pytest.mark.parametrize("name", FIXTURES)
def test_two_to_four_items_with_exact_evidence_in_article_order(name: str) -> None:
    text = load(name)
    items, _ = implications_for(text)
    assert 2 <= len(items) <= 4
    starts = [item.evidence[0][0] for item in items]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)
    for item in items:
        assert len(item.evidence) == 1
        start, end = item.evidence[0]
        assert item.text[0].lower() == text[start].lower() and item.text[1:] == text[start + 1 : end]


@pytest.mark.parametrize("name", FIXTURES)
def test_items_are_forward_looking_and_not_key_points(name: str) -> None:
    items, used = implications_for(load(name))
    for item in items:
        assert cue_score(item.text) >= 1.0, item.text
        start, end = item.evidence[0]
        assert not any(s < end and start < e for s, e in used), f"repeats a key point: {item.text}"


def test_politics_points_at_the_next_steps_and_the_stakes() -> None:
    texts = [item.text for item in implications_for(load("politics_groundwater_bill"))[0]]
    assert any("expected to hold a hearing on the bill next week" in t for t in texts), texts
    assert any("could lose a $90 million federal grant" in t for t in texts), texts
    # Settled history and color are not implications.
    assert not any(t.startswith(("State geologists reported", "Okafor told reporters")) for t in texts), texts


def test_science_and_business_name_what_comes_next() -> None:
    science = [item.text for item in implications_for(load("science_sleep_study"))[0]]
    assert any("plans to start a trial next year" in t for t in science), science
    business = [item.text for item in implications_for(load("business_quarterly_results"))[0]]
    assert any("plans to close its bakery plants" in t for t in business), business
    assert not any(t.startswith("Shares of Halvorsen rose") for t in business), business


def test_noise_lines_are_never_implications() -> None:
    text = load("local_library_with_noise")
    items, _ = implications_for(text)
    for item in items:
        assert not any(marker in item.text for marker in LIBRARY_NOISE), item.text
        assert "covers Millbrook" not in item.text and "©" not in item.text
    assert any("expected to start in September" in item.text for item in items)


def test_cue_score_prefers_future_and_consequences_over_past_narrative() -> None:
    assert cue_score("The committee is expected to vote next week on the proposal.") >= 2.5
    assert cue_score("Such a move would carry serious consequences for the region.") >= 3.0
    assert cue_score("The mayor spoke for twenty minutes and thanked the volunteers.") == 0.0
    past = "Neighbors had been evicted so that owners could list their homes."
    future = "Owners will list their homes so that they can pay the new tax."
    assert cue_score(past) < cue_score(future)
    # Modal perfect is speculation about the past, not a forward-looking statement.
    assert cue_score("Economists said the weather may have played a part.") == 0.0
    assert cue_score("Economists said the rule would not have helped.") == 0.0
    assert cue_score("The ruling would not take effect for weeks.") > 1.0
    assert cue_score("The rule must be in place by 2030.") > cue_score("The rule was in place by 2010.")


def test_an_article_without_forward_looking_language_still_gets_two_items_from_the_article() -> None:
    text = (
        "The old mill on Front Street burned on Saturday night.\n\n"
        "Firefighters from three towns fought the blaze for six hours before it was out.\n\n"
        "Nobody was inside the building, which had been empty since the 1990s.\n\n"
        "Neighbors gathered on the riverbank and watched the roof collapse shortly after midnight."
    )
    sentences = split_sentences(text)
    items = find_implications(text, sentences)
    assert len(items) == 2
    for item in items:
        start, end = item.evidence[0]
        assert text[start:end] == item.text


def test_excluded_sentences_are_only_reused_to_reach_two() -> None:
    text = (
        "The council will vote next week on a plan to close two fire stations.\n\n"
        "Union leaders warned the closures could put lives at risk.\n\n"
        "The fire chief said response times would rise by two minutes if the plan passes.\n\n"
        "The stations were built in 1958 and 1961."
    )
    sentences = split_sentences(text)
    first = {(sentences[0].start, sentences[0].end)}
    items = find_implications(text, sentences, exclude=first)
    assert [item.text[:13] for item in items] == ["Union leaders", "The fire chie"]
    everything = {(s.start, s.end) for s in sentences}
    items = find_implications(text, sentences, exclude=everything)
    assert len(items) == 2
    assert not any(item.text.startswith("The stations were built") for item in items)


def test_max_items_short_and_empty_articles() -> None:
    text = load("politics_groundwater_bill")
    assert len(find_implications(text, split_sentences(text), max_items=2)) == 2
    one = "The bridge will reopen on Friday after three weeks of repairs."
    assert [item.text for item in find_implications(one, split_sentences(one))] == [one]
    assert find_implications("", []) == []


@pytest.mark.parametrize("name", FIXTURES)
def test_deterministic_across_fresh_copies(name: str) -> None:
    text = load(name)
    assert implications_for(text) == implications_for("".join(list(text)))


def test_sentences_are_returned_whole_or_trimmed_only_at_the_start() -> None:
    text = load("science_sleep_study") + "\n\nBut the team will publish its full data set next year."
    items, _ = implications_for(text)
    for item in items:
        source = [s.text for s in split_sentences(text) if s.text.endswith(item.text[1:])]
        assert source, item.text
        assert len(source[0][: len(source[0]) - len(item.text)].split()) <= 1  # at most a leading "But"
    assert any(item.text == "The team will publish its full data set next year." for item in items)
