"""Pasted-text clean-up: every story paragraph kept exactly once, the noise people paste along with it dropped."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import ExtractionError
from bot.ingest.clean import article_from_text, clean_pasted_text, noise_reason

FIXTURES = Path(__file__).parent / "fixtures" / "text"

# The story paragraphs of tests/fixtures/text/pasted_blank_lines.txt, in order.
LAKE_STORY = [
    "More than three hundred volunteers spent the weekend pulling abandoned nets",
    "“We expected old line and a few crab pots,” said Hollis Verne",
    "Divers from the county rescue team marked the heaviest tangles",
    "Lost fishing gear keeps catching fish and birds long after it is abandoned",
    "The county has promised to pay for a drop-off point at the north marina",
    "Organizers plan a second cleanup in September",
    "“Every net we lift is one less trap on the bottom,” Verne said.",
]
LAKE_NOISE = [
    "Subscribe",
    "Volunteers haul nets",  # the caption printed twice, once with its credit
    "(Marren Lake Trust)",
    "A diver surfaces beside a marker buoy",  # the second caption pair
    "Advertisement",
    "Share this article",
    "Read more:",
    "Getty Images",
    "author picture",
    "Lena covers",
    "Sign Up for Daily Headlines",
    "Sign up to receive",
    "Sign Up Now",
]


def _read(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def _paragraphs(text: str) -> list[str]:
    return text.split("\n\n")


def test_blank_line_paste_keeps_each_story_paragraph_once_in_order() -> None:
    cleaned = clean_pasted_text(_read("pasted_blank_lines.txt"))
    paragraphs = _paragraphs(cleaned.text)
    assert len(paragraphs) == len(LAKE_STORY)
    for paragraph, opening in zip(paragraphs, LAKE_STORY, strict=True):
        assert paragraph.startswith(opening)
    for noise in LAKE_NOISE:
        assert noise not in cleaned.text, noise


def test_a_repeated_caption_loses_every_copy_and_each_removal_has_a_reason() -> None:
    cleaned = clean_pasted_text(_read("pasted_blank_lines.txt"))
    captions = [entry for entry in cleaned.removed if entry.startswith("repeated paragraph")]
    assert len(captions) == 4  # two captions, each printed twice
    assert sum("(Marren Lake Trust)" in entry for entry in captions) == 2
    reasons = {entry.split(":", 1)[0] for entry in cleaned.removed}
    assert {"author bio", "image credit", "share/ad line", "related link", "subscribe/sign-up call"} <= reasons
    assert len(cleaned.removed) == 14


def test_line_based_paste_drops_menu_byline_timestamp_credit_and_share_lines() -> None:
    cleaned = clean_pasted_text(_read("pasted_lines.txt"))
    paragraphs = _paragraphs(cleaned.text)
    assert paragraphs[0] == "Bakery co-op opens in former bank branch"
    assert [p.split()[0] for p in paragraphs[1:]] == ["A", "The", '"People', "The"]
    for noise in ("Home", "Local", "Business", "By Priya", "Published June", "AP Photo", "Click here", "Tweet"):
        assert noise not in cleaned.text, noise
    assert cleaned.byline == "Priya Nair"


@pytest.mark.parametrize(
    "story",
    [
        "The utility said about 40,000 subscribers were still without power on Tuesday night",
        "Subscribers to the utility's text alerts were told to expect repairs",
        "Share prices of the utility's parent company fell three percent",
        "Sign-ups for the county's emergency shelter program doubled overnight",
        "Insurance covers most of the damage to homes",
        "Ortiz covers the night shift at the county's only trauma center",
        "Click, the county's new outage map, crashed twice",
        "Kim covers the cost of her mother's oxygen generator herself",
    ],
)
def test_story_paragraphs_that_only_look_like_noise_are_kept(story: str) -> None:
    cleaned = clean_pasted_text(_read("near_misses.txt"))
    assert cleaned.removed == []
    assert sum(p.startswith(story) for p in _paragraphs(cleaned.text)) == 1


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("Sign up to get the best stories of the week in your inbox", "subscribe/sign-up call"),
        ("Never miss a story: get our newsletter", "subscribe/sign-up call"),
        ("The Harbor Weekly Newsletter", "subscribe/sign-up call"),
        ("Story continues below advertisement", "share/ad line"),
        ("Follow The Ledger on Twitter and Instagram", "share/ad line"),
        ("Photograph: Ivo Lamm/Reuters", "image credit"),
        ("Dancers rehearse before the parade. (AP Photo/Dee Ruiz)", "image credit"),
        ("Related: Five towns that rebuilt after the flood", "related link"),
        ("© 2024 Harbor Media Group. All rights reserved.", "copyright line"),
        ("Sign Up for Daily Headlines", "subscribe/sign-up call"),
        ("Subscribe now", "subscribe/sign-up call"),
        ("Updated: 12/03/2024 at 5:40 p.m.", "timestamp"),
        ("Posted 3 hours ago", "timestamp"),
        ("- Share on Facebook", "share/ad line"),
        ("The bridge reopened on Friday after three weeks of repairs, the city said.", None),
        ("Sign-up rates for the county's program doubled, officials said.", None),
        ("Get-out-the-vote volunteers sent e-mails to 3,000 residents on Sunday.", None),
        ("Updated figures released Tuesday show 40% more riders on the ferry.", None),
        ("Readers who subscribe to the print edition will get the supplement on Sunday, the editor said.", None),
    ],
)
def test_noise_reason(line: str, reason: str | None) -> None:
    assert noise_reason(line) == reason


def test_whitespace_is_normalised_and_hard_wrapped_lines_are_rejoined() -> None:
    raw = (
        "The ferry\u00a0service  will resume on\tMonday after the harbor\r\n"
        "authorities finished dredging the channel, the operator said.\r\n\r\n"
        "Tickets\u200b bought for the cancelled crossings will be refunded automatically.\r\n"
    )
    cleaned = clean_pasted_text(raw)
    assert cleaned.text == (
        "The ferry service will resume on Monday after the harbor authorities finished dredging the channel, "
        "the operator said.\n\nTickets bought for the cancelled crossings will be refunded automatically."
    )


def test_an_author_bio_is_only_dropped_at_the_end() -> None:
    bio = (
        "Noor writes about courts and prisons for the Gazette. Based in Albany, she previously worked as a "
        "paralegal and is a graduate of Hudson State."
    )
    story = "The appeals court ruled on Monday that the county must reopen the jail's law library."
    assert clean_pasted_text(f"{story}\n\n{bio}\n\nSign Up Now").text == story
    # the same words in the middle of a story are story text
    after = "Inmates had sued after the library closed during renovations two years ago."
    middle = clean_pasted_text(f"{story}\n\n{bio}\n\n{after}")
    assert bio in middle.text


def test_hostile_input_finishes_and_keeps_its_text() -> None:
    # long runs that make careless regexes backtrack forever
    for junk in ("(" + "A" * 20_000, "By " + "Aa " * 5_000, "Photo " * 5_000):
        cleaned = clean_pasted_text(f"{junk}\n{junk}x\nThe council met on Monday to vote on the budget for next year.")
        assert cleaned.text.endswith("vote on the budget for next year.")


def test_article_from_text_guesses_title_and_byline() -> None:
    article = article_from_text(_read("pasted_lines.txt"))
    assert article.extractor == "pasted-text"
    assert article.title == "Bakery co-op opens in former bank branch"
    assert article.byline == "Priya Nair"
    assert article.text.startswith("Bakery co-op opens")  # the headline stays, as on the web page
    assert article.word_count == len(article.text.split())
    assert article.url is None


def test_article_from_text_takes_no_title_from_a_sentence_and_honours_a_given_title() -> None:
    text = _read("pasted_blank_lines.txt")
    assert article_from_text(text).title is None  # first kept paragraph is a sentence, not a headline
    assert article_from_text(text, title="Lake cleanup").title == "Lake cleanup"


@pytest.mark.parametrize("text", ["", "   \n\n", "Subscribe\nShare this article\nAdvertisement", "Home\nNews"])
def test_no_article_text_raises(text: str) -> None:
    with pytest.raises(ExtractionError, match="No article text"):
        article_from_text(text)


def test_inbox_teaser_after_the_bio_is_noise_so_the_bio_goes_too() -> None:
    text = (
        "The council approved the budget on Monday by a vote of 7 to 2, ending a month of debate.\n\n"
        "Lena Park covers city hall for the Riverside Courier. She previously reported in Nevada "
        "and is a graduate of Reed College.\n\n"
        "Get the week's best local stories in your inbox every Friday."
    )
    cleaned = clean_pasted_text(text)
    assert cleaned.text == "The council approved the budget on Monday by a vote of 7 to 2, ending a month of debate."
