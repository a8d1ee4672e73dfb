"""Discord rendering on its own: inert text, Discord's limits, splitting, nonces."""

from __future__ import annotations

import re

import discord
import pytest

from bot.adapters.discord_embeds import (
    CONTENT_LIMIT,
    MESSAGE_EMBED_TOTAL,
    digest_nonce,
    neutralize,
    render_answer,
    render_briefing,
    render_digest,
    render_notice,
    safe,
    size,
    split_text,
    thread_name,
)
from bot.brief.answer import Answer
from bot.models import Briefing, Implication, KeyPoint, Quote, SourceInfo

LIVE_MENTION = re.compile(r"@(everyone|here)|<[@#][!&]?\d+>|</\w+:\d+>")


def briefing(**changes: object) -> Briefing:
    base = Briefing(
        tldr="The library goes solar.",
        key_points=[KeyPoint(text="420 panels in March.")],
        quotes=[Quote(speaker="Mara Lindqvist", text="Every dollar goes to books.", kind="direct", start=0, end=1)],
        implications=[Implication(text="Lower bills.")],
        source=SourceInfo(url="https://news.example/library", title="Library goes solar", site_name="news.example"),
        engine="extractive",
    )
    return base.model_copy(update=changes)


def embed_total(embed: discord.Embed) -> int:
    return len(embed)  # discord.py's own count: title, description, fields, footer, author


@pytest.mark.parametrize(
    "raw",
    [
        "@everyone look",
        "@here look",
        "<@123456789012345678> look",
        "<@!123456789012345678> look",
        "<@&123456789012345678> look",
        "<#123456789012345678> look",
        "</brief:123456789012345678> look",
    ],
)
def test_neutralize_breaks_every_mention_form(raw: str) -> None:
    out = neutralize(raw)
    assert not LIVE_MENTION.search(out)
    assert out.replace("\u200b", "") == raw  # reads the same


def test_safe_escapes_masked_links_and_markdown() -> None:
    out = safe("[official notice](https://evil.example/x) and **bold** @everyone")
    assert "\\[official notice]" in out  # no longer a masked link
    assert "\\*\\*bold\\*\\*" in out
    assert not LIVE_MENTION.search(out)


def test_briefing_text_from_the_article_is_sanitised_and_inert() -> None:
    hostile = briefing(
        tldr="@everyone <@&123456789012345678> ferry ends, see https://evil.example/x",
        key_points=[KeyPoint(text="Ping <@123456789012345678> in <#123456789012345678>")],
        source=SourceInfo(url="https://news.example/f", title="@here Night ferry <@&123456789012345678>"),
    )
    [post] = render_briefing(hostile)
    text = str([e.to_dict() for e in post.embeds])
    assert not LIVE_MENTION.search(text)
    assert "evil.example" not in text
    assert not LIVE_MENTION.search(thread_name(hostile))


def test_a_short_briefing_is_one_message() -> None:
    [post] = render_briefing(briefing(), link="https://news.example/library?ref=chat")
    head = post.embeds[0]
    assert head.title == "Library goes solar"
    assert head.url == "https://news.example/library?ref=chat"
    assert post.embeds[1].fields[0].name == "Mara Lindqvist"
    assert post.embeds[1].fields[0].value == "> “Every dollar goes to books.” *(unverified)*"
    assert "engine: extractive" in (post.embeds[-1].footer.text or "")


def test_a_huge_briefing_respects_every_limit() -> None:
    big = briefing(
        tldr="T " * 3000,
        key_points=[KeyPoint(text=f"Point {i} " + "x" * 1500) for i in range(12)],
        quotes=[
            Quote(speaker=f"Speaker {i}" + " long" * 80, text="words " * 400, kind="direct", start=0, end=1)
            for i in range(40)
        ],
        implications=[Implication(text="y " * 2500)],
        warnings=["w " * 3000],
    )
    posts = render_briefing(big)
    assert len(posts) > 3
    shown = 0
    for post in posts:
        assert 1 <= len(post.embeds) <= 10
        assert sum(embed_total(e) for e in post.embeds) <= MESSAGE_EMBED_TOTAL
        for embed in post.embeds:
            assert len(embed.title or "") <= 256 and len(embed.description or "") <= 4096
            assert len(embed.fields) <= 25
            assert all(len(f.name or "") <= 256 and len(f.value or "") <= 1024 for f in embed.fields)
            assert len(embed.footer.text or "") <= 2048
            shown += embed_total(embed)
    assert shown > 60_000
    titles = [e.title for p in posts for e in p.embeds]
    assert "Who said what (continued)" in titles


def test_split_text_cuts_at_breaks_and_keeps_tokens_and_glyphs_whole() -> None:
    family = "👩\u200d👩\u200d👧"
    text = ("word " * 300 + "<@\u200b123456789012345678> " + family + " ") * 8
    pieces = split_text(text, 500)
    assert all(size(p) <= 500 for p in pieces)
    assert "".join(p.replace(" ", "") for p in pieces) == text.replace(" ", "")  # nothing lost
    for piece in pieces:
        assert piece.count("<") == piece.count(">")  # no token cut in half
        assert not piece.startswith("\u200d") and not piece.endswith("\u200d")


def test_split_text_counts_utf16_units() -> None:
    pieces = split_text("😀" * 1500, CONTENT_LIMIT)
    assert all(size(p) <= CONTENT_LIMIT for p in pieces) and len(pieces) == 2


def test_thread_name_is_cut_to_100() -> None:
    name = thread_name(briefing(source=SourceInfo(title="Solar " * 40)))
    assert len(name) <= 100 and name.endswith("…")
    assert thread_name(briefing(source=SourceInfo())) == "Briefing"


def test_answers_are_plain_text_without_previews() -> None:
    [post] = render_answer(Answer(text="It costs $1.2 million.", citations=[(10, 40)]))
    options = post.kwargs()
    assert options["suppress_embeds"] is True
    assert options["allowed_mentions"].to_dict() == {"parse": []}
    assert options["content"].startswith("It costs $1.2 million.\n")
    assert "-# cited from the article, characters 10–40" in options["content"]
    [linked] = render_answer(Answer(text="Details: https://elsewhere.example/solar"))
    assert "elsewhere.example" not in (linked.content or "")  # model output links nowhere
    [refusal] = render_answer(Answer(text="", refused=True, reason="The article doesn't say."))
    assert refusal.content == "The article doesn't say."
    closest = "Tolls rise to $9, @everyone, see https://evil.example/x"
    [near] = render_answer(
        Answer(text="", refused=True, reason="The article doesn't say.", closest=closest, closest_citations=[(5, 60)])
    )
    lines = (near.content or "").splitlines()
    assert lines[:2] == ["The article doesn't say.", "The closest it comes:"]
    assert lines[2].startswith("> Tolls rise to $9") and lines[3] == "-# article characters 5–60"
    assert "@everyone" not in lines[2] and "evil.example" not in (near.content or "")


def test_every_post_carries_no_mentions() -> None:
    posts = [*render_briefing(briefing()), *render_notice("hi @everyone"), *render_digest("d", key="k")]
    for post in posts:
        assert post.kwargs()["allowed_mentions"].to_dict() == {"parse": []}
    assert render_notice("hi @everyone")[0].content == "hi @\u200beveryone"


def test_embed_posts_are_not_suppressed() -> None:
    # SUPPRESS_EMBEDS would hide our own embeds too: it is only set on plain text.
    options = render_briefing(briefing())[0].kwargs()
    assert "suppress_embeds" not in options and options["embeds"]


def test_digest_nonces_are_stable_short_and_distinct() -> None:
    text = "\n".join(f"- story {i} https://news.example/{i}" for i in range(200))
    posts = render_digest(text, key="sub-7:2026-11-30")
    again = render_digest(text, key="sub-7:2026-11-30")
    assert [p.nonce for p in posts] == [p.nonce for p in again]
    assert len({p.nonce for p in posts}) == len(posts) > 1
    assert all(p.nonce and len(p.nonce) <= 25 for p in posts)
    assert all(size(p.content) <= CONTENT_LIMIT for p in posts)
    assert digest_nonce("a") != digest_nonce("b")
