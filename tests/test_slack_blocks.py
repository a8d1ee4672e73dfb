"""Block Kit rendering: escaping, Slack's limits, and splitting that never breaks links, emoji or code fences."""

from __future__ import annotations

import json
import re

import pytest

from bot.adapters.slack_blocks import (
    BLOCKS_PER_MESSAGE,
    HEADER_LIMIT,
    SECTION_LIMIT,
    escape,
    link,
    render_answer,
    render_briefing,
    render_notice,
    split_mrkdwn,
)
from bot.brief.answer import Answer
from bot.models import Briefing, Implication, KeyPoint, Quote, SourceInfo

HOSTILE = "<!channel> <!here> <!everyone> <@U024BE7LH> <!subteam^S1|@eng> <https://evil.example/x|click> @here"
LIVE = re.compile(r"<!|<@|<#|<https://evil|\|click>")


def briefing(**changes: object) -> Briefing:
    base = Briefing(
        tldr="The bridge closes for repairs.",
        key_points=[KeyPoint(text="Repairs cost $186 million.")],
        quotes=[
            Quote(speaker="Ana Ruiz", speaker_role="mayor", text="We had no choice", kind="direct", start=0, end=1),
            Quote(speaker="Ana Ruiz", text="traffic will be diverted", kind="indirect", cue="said", start=5, end=6),
        ],
        implications=[Implication(text="Commutes will lengthen.")],
        source=SourceInfo(url="https://news.example/bridge", title="Bridge closes", site_name="News"),
        engine="extractive",
    )
    return base.model_copy(update=changes)


def everything(messages: list) -> str:
    return json.dumps([{"text": m.text, "blocks": m.blocks} for m in messages], ensure_ascii=False)


def test_escape_makes_slack_control_sequences_inert() -> None:
    assert escape("a < b & c > d <!channel>") == "a &lt; b &amp; c &gt; d &lt;!channel&gt;"


def test_hostile_text_in_every_field_posts_nothing_live() -> None:
    hostile = briefing(
        tldr=f"Summary {HOSTILE}",
        key_points=[KeyPoint(text=f"Point {HOSTILE}")],
        quotes=[
            Quote(
                speaker=f"Eve {HOSTILE}", speaker_role=HOSTILE, text=HOSTILE + " words", kind="direct", start=0, end=1
            )
        ],
        implications=[Implication(text=f"So {HOSTILE}")],
        warnings=[f"careful {HOSTILE}"],
        source=SourceInfo(url="https://evil.example/canonical", title=f"Title {HOSTILE}", byline=HOSTILE),
    )
    rendered = everything(render_briefing(hostile))
    assert LIVE.findall(rendered) == []
    assert "evil.example" not in rendered  # the page's own (claimed) URL is not linked when no link was shared


def test_plain_angle_brackets_and_ampersands_are_escaped_not_dropped() -> None:
    messages = render_briefing(briefing(tldr="Profits < costs & rising > 5%"))
    assert "Profits &lt; costs &amp; rising &gt; 5%" in everything(messages)


def test_structure_header_sections_context_and_fallback() -> None:
    (message,) = render_briefing(briefing(), link_url="https://news.example/bridge?a=1&b=2")
    kinds = [block["type"] for block in message.blocks]
    assert kinds[0] == "header" and kinds[-1] == "context"
    text = everything([message])
    assert (
        "*Ana Ruiz* _(mayor)_" in text and "> “We had no choice” _(unverified)_" in text and "> said: traffic" in text
    )
    assert "<https://news.example/bridge?a=1&amp;b=2>" in text  # the shared link, escaped inside <...>, no label
    assert message.text.startswith("Bridge closes: The bridge closes")
    assert all(b["text"]["verbatim"] for b in message.blocks if b["type"] == "section")


def test_header_is_cut_to_150_characters_without_breaking_an_entity() -> None:
    title = "Q&A " * 60
    (message,) = render_briefing(briefing(source=SourceInfo(title=title)))
    header = message.blocks[0]["text"]["text"]
    assert len(header) <= HEADER_LIMIT and header.endswith("…")
    assert re.search(r"&(?!amp;)", header) is None


def test_many_speakers_continue_in_further_messages_within_the_limits() -> None:
    quotes = [Quote(speaker=f"P{i}", text="word " * 200, kind="direct", start=i, end=i + 1) for i in range(120)]
    messages = render_briefing(briefing(quotes=quotes))
    assert len(messages) > 1
    for message in messages:
        assert message.text and 0 < len(message.blocks) <= BLOCKS_PER_MESSAGE
        for block in message.blocks:
            if block["type"] == "section":
                assert len(block["text"]["text"]) <= SECTION_LIMIT
    assert messages[1].text.endswith("(continued)")
    assert all(f"*P{i}*" in everything(messages) for i in range(120))


def test_a_long_key_point_list_is_split_into_sections() -> None:
    points = [KeyPoint(text=f"Point {i}: " + "detail " * 60) for i in range(30)]
    messages = render_briefing(briefing(key_points=points))
    sections = [b["text"]["text"] for m in messages for b in m.blocks if b["type"] == "section"]
    assert all(len(s) <= SECTION_LIMIT for s in sections)
    joined = "\n".join(sections)
    assert all(f"Point {i}:" in joined for i in range(30))


def test_link_only_for_plain_http_urls() -> None:
    assert link("https://a.example/x?y=1&z=2") == "<https://a.example/x?y=1&amp;z=2>"
    for bad in ("javascript:alert(1)", "https://a.example/x|label", "https://a.example/a b", None, "ftp://a.example/"):
        assert link(bad) is None


def test_answers_and_refusals() -> None:
    cited = render_answer(Answer(text="It costs $186 million <!here>.", citations=[(10, 40)]))
    text = everything([cited])
    assert "$186 million" in text and "characters 10–40" in text and "<!here>" not in text
    refused = render_answer(Answer(text="", refused=True, reason="The article doesn't say."))
    assert refused.text == "The article doesn't say."


def test_a_refusal_shows_its_closest_passage_inert() -> None:
    closest = "Tolls rise to $9 <!channel> on <https://evil.example|the site>."
    refused = render_answer(
        Answer(text="", refused=True, reason="The article doesn't say.", closest=closest, closest_citations=[(5, 61)])
    )
    assert refused.text == "The article doesn't say."  # the notification says only the refusal
    text = everything([refused])
    assert "The closest it comes:" in text and "&gt; Tolls rise to $9" in text and "characters 5–61" in text
    assert "<!channel>" not in text and "<https://evil.example" not in text


def test_notices_are_escaped() -> None:
    notice = render_notice("Bad link <@U1> & more", emoji=":warning:")
    assert notice.blocks[0]["text"]["text"] == ":warning: Bad link &lt;@U1&gt; &amp; more"


# --- splitting -----------------------------------------------------------------------------------------------------

ATOMS = [
    "<https://news.example/a/very/long/path?with=query&amp;more=1>",
    ":white_check_mark:",
    "👨‍👩‍👧‍👦",
    "🇫🇷",
    "e\u0301\u0301",
    "👍🏽",
]


@pytest.mark.parametrize("atom", ATOMS)
def test_split_never_cuts_inside_a_link_an_emoji_or_a_glyph(atom: str) -> None:
    for offset in range(0, 60):
        text = "x" * offset + atom + "y" * 80
        assert all(len(piece) <= 70 for piece in split_mrkdwn(text, 70))
        pieces = split_mrkdwn(text, 70)
        assert any(atom in piece for piece in pieces), (offset, pieces)  # whole, in one piece
        assert "".join(pieces) == text  # and nothing lost


def test_split_prefers_line_then_word_breaks() -> None:
    text = "\n".join(f"line {i} " + "w " * 20 for i in range(50))
    pieces = split_mrkdwn(text, 300)
    assert all(len(p) <= 300 for p in pieces)
    assert all(p.startswith("line ") for p in pieces)


def test_split_closes_and_reopens_code_fences() -> None:
    text = "Before\n```\n" + "\n".join(f"code line {i}" for i in range(200)) + "\n```\nAfter"
    pieces = split_mrkdwn(text, 500)
    assert len(pieces) > 2
    for piece in pieces:
        assert len(piece) <= 500 and piece.count("```") % 2 == 0
    assert pieces[1].startswith("```\n")
    body = "".join(pieces)
    assert all(f"code line {i}" in body for i in range(200)) and body.endswith("After")


def test_split_short_text_is_untouched_and_a_huge_word_still_fits() -> None:
    assert split_mrkdwn("short", 3000) == ["short"]
    pieces = split_mrkdwn("a" * 10_000, 3000)
    assert all(len(p) <= 3000 for p in pieces) and sum(map(len, pieces)) == 10_000
