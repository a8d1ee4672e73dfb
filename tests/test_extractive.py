"""The offline engine as a whole: who said what in the briefing, and a lead that describes before it names."""

from __future__ import annotations

from pathlib import Path

from bot.brief.extractive import ExtractiveBriefer, select_quotes, summarise
from bot.brief.keypoints import rank_key_points
from bot.brief.quotes import extract_quotes
from bot.brief.sentences import split_sentences
from bot.models import Article

# An invented story: the lead describes the speaker ("the port's top official") before the article names her.
STORY = """The port's top official on Monday warned shipping lines against raising fees, saying such a move would hurt \
every importer in the region.

"Nobody wins a price war in a harbor this small," Port of Calder director Mina Osei said after meeting carriers.

"We will publish every fee we charge, line by line," Osei said. "Carriers should do the same."

"Our costs have gone up, and fees follow costs," said Tomas Lind, who speaks for the carriers' association.

"The carriers have not shown us a single invoice," Osei said later.

"This is about fuel, not greed," Lind said.

Shop owners said higher fees would be passed on to shoppers.

Osei said the port would review its own charges in March."""


def test_a_lead_description_resolves_to_the_person_named_later() -> None:
    quotes = extract_quotes(STORY)
    lead = [q for q in quotes if q.start < STORY.index("\n")]
    assert lead, "the lead's warning is an attribution"
    assert {q.speaker for q in lead} == {"Mina Osei"}


def test_every_speaker_gets_a_turn_before_anyone_gets_a_second() -> None:
    quotes = extract_quotes(STORY)
    chosen = select_quotes(quotes, limit=4)
    speakers = [q.speaker for q in chosen]
    assert {"Mina Osei", "Tomas Lind", "Shop owners"} <= set(speakers)
    assert [q.start for q in chosen] == sorted(q.start for q in chosen)  # back in article order


def test_briefing_groups_quotes_by_speaker_with_roles() -> None:
    briefing = ExtractiveBriefer().brief_sync(Article(text=STORY, word_count=len(STORY.split())))
    groups = {speaker: role for speaker, role, _ in briefing.quotes_by_speaker()}
    assert "Mina Osei" in groups and "Tomas Lind" in groups
    assert groups["Mina Osei"] and "director" in groups["Mina Osei"].lower()
    assert all(q.verified for q in briefing.quotes if q.kind == "direct")
    for quote in briefing.quotes:
        assert quote.text == STORY[quote.start : quote.end]


def _fixture_texts() -> list[str]:
    folder = Path(__file__).parent / "fixtures" / "articles"
    return [p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.txt"))] + [STORY]


def test_the_key_points_never_repeat_the_tldr() -> None:
    for text in _fixture_texts():
        briefing = ExtractiveBriefer().brief_sync(Article(text=text))
        _, _, (start, end) = summarise(text, split_sentences(text))  # type: ignore[misc]
        assert briefing.key_points, text[:60]
        assert briefing.tldr.rstrip(".")[5:40] in text[start:end]  # the TL;DR is drawn from that sentence
        for point in briefing.key_points:
            assert all(e <= start or s >= end for s, e in point.evidence), point.text


def test_the_tldr_counts_as_one_of_the_statements() -> None:
    # Up to ~1,000 words a briefing gives three statements: the TL;DR and two key points (before, the first key
    # point was the TL;DR's sentence again).
    sentences = split_sentences(STORY)
    _, points, source = summarise(STORY, sentences)
    assert source is not None and len(points) == 2
    assert len(rank_key_points(STORY, sentences)) == 3  # on its own, the ranking still gives three


CLINIC = """Valley clinic may close as county funding runs out

ORTON — The Orton Valley clinic, the only doctor's office for 30 miles, may close by the end of the year after the \
county cut its grant by half, its director said on Tuesday.

"If the county does not restore the money, we will have to close our doors in December and 4,000 patients will have \
nowhere to go," said director Lena Park.

The county board is expected to vote on next year's budget in March.

"We could lose the whole valley's trust in one winter," Park said.

Patients would have to drive to Harlow, where waiting times could double, according to a report by the regional \
health authority.

The clinic opened in 1987 and employs 14 people.

County commissioner Ray Dunn said the board would look for savings elsewhere but made no promise.
"""


def test_implications_do_not_repeat_the_quotes_shown() -> None:
    # A forward-looking statement is already under "who said what", direct or reported; implications say more.
    for text in _fixture_texts()[:-1]:  # the real-length fixture articles
        briefing = ExtractiveBriefer().brief_sync(Article(text=text))
        shown = [(q.start, q.end) for q in briefing.quotes]
        assert shown and len(briefing.implications) >= 2, text[:60]
        for item in briefing.implications:
            (start, end) = item.evidence[0]
            assert not any(s < end and start < e for s, e in shown), item.text
    # A short, quote-led story: its best forward-looking quote is not repeated while a plain sentence can say it.
    implications = [i.text for i in ExtractiveBriefer().brief_sync(Article(text=CLINIC)).implications]
    assert "The county board is expected to vote on next year's budget in March." in implications
    assert not any("whole valley's trust" in text for text in implications)


def test_key_points_state_facts_the_quotes_do_not_repeat() -> None:
    # A sentence quoted word for word under "who said what" is not a key point as well.
    for text in [*_fixture_texts(), CLINIC]:
        briefing = ExtractiveBriefer().brief_sync(Article(text=text))
        shown = [(q.start, q.end) for q in briefing.quotes if q.kind == "direct"]
        for point in briefing.key_points:
            (start, end) = point.evidence[0]
            assert not any(s < end and start < e for s, e in shown), point.text


def test_a_headline_line_is_not_a_key_point() -> None:
    # "Valley clinic may close as county funding runs out" restates the lead in fragments.
    briefing = ExtractiveBriefer().brief_sync(Article(text=CLINIC))
    headline = CLINIC.splitlines()[0]
    assert all(point.text != headline for point in briefing.key_points)
    assert briefing.tldr.startswith("The Orton Valley clinic")
