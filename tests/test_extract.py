"""HTML -> Article: the cascade, metadata refinement, paywall detection and the CPU-budget guards."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

import bot.ingest.extract as extract_module
from bot.errors import ExtractionError
from bot.ingest.extract import extract_html
from bot.ingest.metadata import PageSignals, language_code
from bot.ingest.refine import refine_author, refine_date, refine_title

FIXTURES = Path(__file__).parent / "fixtures" / "html"
URL = "https://ledger.example/news/harbor-town-seawall?utm_source=chat"


def _page(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def _story(paragraphs: int = 6, lead: str = "The harbor council") -> str:
    """An invented article body of `paragraphs` distinct <p> elements."""
    return "".join(
        f"<p>{lead} met for the {n}th time this spring to debate part {n} of the plan, which would move "
        f"the fish market to the old ferry pier and widen the quay by {n + 2} meters before the autumn storms "
        "arrive, so that the boats can unload in any weather and the traders are not left out in the rain.</p>"
        for n in range(1, paragraphs + 1)
    )


# --- a normal page ------------------------------------------------------------------------------------------------


def test_news_page_text_and_metadata() -> None:
    article = extract_html(_page("news_article.html"), URL)
    assert article.extractor == "trafilatura"
    assert article.url == URL
    assert article.canonical_url == "https://ledger.example/news/harbor-town-seawall"
    # the visible headline, not "<title> | Site" nor the logo <h1> nor the JSON-LD SEO headline
    assert article.title == "Harbor Town Votes to Rebuild Its Seawall"
    assert article.byline == "Maria T. Alvarez"
    assert article.published == "2024-03-14T09:30:00-04:00"
    assert article.site_name == "The Coastal Ledger"
    assert article.language == "en"
    assert article.description and article.description.startswith("After two winters of flooding")
    assert article.partial is False
    assert article.warnings == []


def test_news_page_keeps_paragraphs_and_drops_page_furniture() -> None:
    article = extract_html(_page("news_article.html"), URL)
    paragraphs = article.paragraphs
    assert "\n\n".join(paragraphs) == article.text
    assert any(p.startswith("After two winters in which the sea spilled") for p in paragraphs)
    assert paragraphs[-1].startswith("Work is scheduled to begin in the autumn")
    assert any(p.startswith('"Nobody wants a bigger tax bill') for p in paragraphs)  # the blockquote
    for furniture in (
        "My basement has flooded",  # reader comments
        "Who audits these contractors",
        "Read more:",
        "Sign up for our free morning newsletter",
        "Share this article",
        "School board picks",  # related links
        "All rights reserved",
        "Privacy policy",
    ):
        assert furniture not in article.text, furniture
    assert article.word_count == len(article.text.split())


def test_str_and_bytes_in_a_declared_legacy_encoding() -> None:
    html = (
        '<html><head><meta charset="windows-1252"><title>Caf\xe9 owners fight rent rise</title></head><body>'
        "<article><h1>Caf\xe9 owners fight rent rise</h1>"
        + _story(4, lead="The caf\xe9 owners\u2019 association")
        + "</article></body></html>"
    )
    from_bytes = extract_html(html.encode("cp1252"))
    from_str = extract_html(html)
    assert from_bytes.title == from_str.title == "Caf\xe9 owners fight rent rise"
    assert "The caf\xe9 owners\u2019 association met" in from_bytes.text
    assert from_bytes.text == from_str.text


# --- the cascade --------------------------------------------------------------------------------------------------


def test_teaser_page_falls_back_to_the_jsonld_article_body() -> None:
    article = extract_html(_page("teaser_with_jsonld_body.html"))
    assert article.extractor == "json-ld"
    assert len(article.paragraphs) == 7
    assert article.paragraphs[-1].startswith("The cooperative plans to sell the first late-season apples")
    assert any("used the article text the page embeds" in w for w in article.warnings)
    # the full body came from the page itself, so the subscriber-only flag does not make it partial
    assert article.partial is False
    assert article.byline == "Tomas Reyes"
    assert article.published == "2023-10-02"


def test_short_extraction_falls_back_to_justext(monkeypatch: pytest.MonkeyPatch) -> None:
    html = f"<html><head><title>Quay plan</title></head><body><div class='story'>{_story(6)}</div></body></html>"
    stub = SimpleNamespace(text="The harbor council met.")  # stage 1 under-delivers
    monkeypatch.setattr(extract_module.trafilatura, "bare_extraction", lambda *a, **k: stub)
    article = extract_html(html)
    assert article.extractor == "justext"
    assert len(article.paragraphs) == 6
    assert any("second extractor (jusText)" in w for w in article.warnings)


def test_empty_stages_fall_back_to_the_paragraph_baseline(monkeypatch: pytest.MonkeyPatch) -> None:
    html = f"<html><body><nav><p>Home, News, Sport and the Weather page</p></nav><div>{_story(3)}</div></body></html>"
    monkeypatch.setattr(extract_module.trafilatura, "bare_extraction", lambda *a, **k: None)
    monkeypatch.setattr(extract_module, "_justext_paragraphs", lambda *a, **k: [])
    article = extract_html(html)
    assert article.extractor == "baseline"
    assert len(article.paragraphs) == 3
    assert "Weather page" not in article.text  # <nav> is not article text
    assert any("used every paragraph of the page" in w for w in article.warnings)


def test_a_good_page_runs_no_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object, **kwargs: object) -> list[str]:
        raise AssertionError("fallback stage ran on a page stage 1 handled")

    monkeypatch.setattr(extract_module, "_justext_paragraphs", boom)
    monkeypatch.setattr(extract_module, "_baseline_paragraphs", boom)
    assert extract_html(_page("news_article.html"), URL).extractor == "trafilatura"


def test_optional_stages_are_skipped_once_the_budget_is_spent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(extract_module._Budget, "exhausted", property(lambda self: True))
    monkeypatch.setattr(extract_module, "_justext_paragraphs", lambda *a, **k: pytest.fail("stage 2 ran"))
    article = extract_html(_page("teaser_with_jsonld_body.html"))
    assert article.extractor == "trafilatura"  # the teaser, rather than more work past the budget
    assert article.title == "Orchard growers bet on late-blooming apples"  # from the page's own tags


def test_a_page_of_navigation_only_raises() -> None:
    with pytest.raises(ExtractionError) as info:
        extract_html(_page("no_article.html"))
    assert str(info.value) == "No article text found on that page."


@pytest.mark.parametrize("html", ["", b"   ", "<html><body><div></div></body></html>"])
def test_empty_input_raises(html: str | bytes) -> None:
    with pytest.raises(ExtractionError, match="No article text found"):
        extract_html(html)


def test_broken_and_hostile_jsonld_is_ignored() -> None:
    head = (
        '<script type="application/ld+json">{"@type": "NewsArticle", "headline": </script>'
        '<script type="application/ld+json">' + "[" * 100_000 + "</script>"
        '<script type="application/ld+json"><!-- {"@type": "NewsArticle", "author": {"name": "Ada Brook"}} --></script>'
    )
    article = extract_html(_page_with(head, _story(3)))
    assert article.byline == "Ada Brook"  # the block wrapped in an HTML comment still counts
    assert len(article.paragraphs) == 3


# --- paywalls and teasers -----------------------------------------------------------------------------------------


def test_subscriber_only_page_is_partial_and_the_notice_is_dropped() -> None:
    article = extract_html(_page("paywalled.html"))
    assert article.partial is True
    assert any("subscribe or sign in to continue" in w for w in article.warnings)
    assert any("marks this article as subscriber-only" in w for w in article.warnings)
    assert "Already a subscriber" not in article.text
    assert "To continue reading" not in article.text
    assert article.paragraphs[-1].startswith("The city counted 63 vacant storefronts")


def _page_with(head: str, body: str) -> str:
    return f"<html lang='en'><head><title>Quay plan</title>{head}</head><body><article>{body}</article></body></html>"


def test_body_much_shorter_than_the_declared_word_count_is_partial() -> None:
    head = '<script type="application/ld+json">{"@type": "NewsArticle", "wordCount": 1400}</script>'
    article = extract_html(_page_with(head, _story(3)))
    assert article.partial is True
    assert any("about 1400 words" in w for w in article.warnings)


def test_body_no_longer_than_its_description_is_a_teaser() -> None:
    description = (
        "The harbor council met for the first time this spring to debate the plan to move the fish market, "
        "widen the quay and rebuild the ferry ramp before the autumn storms arrive in the bay."
    )
    head = f'<meta name="description" content="{description}">'
    article = extract_html(_page_with(head, "<p>The harbor council met this spring to debate the plan.</p>"))
    assert article.partial is True
    assert any("teaser" in w for w in article.warnings)


def test_free_story_about_subscribers_is_not_partial() -> None:
    body = _story(4) + (
        "<p>The utility said 40,000 subscribers lost power, and subscribers to its alerts were told to expect "
        "repairs to continue reading the meters by hand for a week.</p>"
    )
    head = '<script type="application/ld+json">{"@type": "NewsArticle", "isAccessibleForFree": true}</script>'
    article = extract_html(_page_with(head, body))
    assert article.partial is False
    assert article.warnings == []
    assert "40,000 subscribers lost power" in article.text


# --- CPU budget ---------------------------------------------------------------------------------------------------


def test_fifty_thousand_nested_divs_end_with_a_clear_error() -> None:
    html = "<html><body>" + "<div>" * 50_000 + "<p>Deep text.</p>" + "</div>" * 50_000 + "</body></html>"
    with pytest.raises(ExtractionError) as info:
        extract_html(html)
    assert str(info.value).startswith("That page is too complex to read")


def test_a_twenty_megabyte_text_node_ends_with_a_clear_error() -> None:
    html = "<html><body><p>" + "word " * 4_000_000 + "</p></body></html>"
    with pytest.raises(ExtractionError) as info:
        extract_html(html.encode())
    assert str(info.value).startswith("That page is too complex to read")


def test_a_page_too_big_for_the_budget_gets_the_paragraph_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(extract_module.trafilatura, "bare_extraction", lambda *a, **k: pytest.fail("stage 1 ran"))
    html = "<html><body>" + "<div><span>x</span></div>" * 1500 + f"<article>{_story(4)}</article></body></html>"
    article = extract_html(html, cpu_budget=0.5)  # ~3,000 elements: over 0.5 s by the cost model
    assert article.extractor == "baseline"
    assert len(article.paragraphs) == 4
    assert any("very large" in w for w in article.warnings)


def test_a_page_far_over_the_budget_is_refused() -> None:
    html = "<html><body>" + "<div><span>x</span></div>" * 1500 + f"<article>{_story(4)}</article></body></html>"
    with pytest.raises(ExtractionError, match="too complex to read: it has"):
        extract_html(html, cpu_budget=0.01)


# --- metadata refinement ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "h1s", "site", "expected"),
    [
        (
            "Ferry fares rise again | Bay Post",
            ["Bay Post", "Ferry fares rise again"],
            "Bay Post",
            "Ferry fares rise again",
        ),
        ("Bay Post - Ferry fares rise again", [], "Bay Post", "Ferry fares rise again"),
        ("Ferry fares rise again", ["Local | Ferry fares rise again"], None, "Ferry fares rise again"),
        # the SEO title rewrites the visible headline: the <h1> wins when their words clearly overlap
        (
            "Ferry fares up 10% - Bay Post",
            ["Why ferry fares are up 10% this summer"],
            "Bay Post",
            "Why ferry fares are up 10% this summer",
        ),
        # an unrelated <h1> (a section or a logo) never replaces the title
        ("Ferry fares rise again", ["Latest news", "Bay Post"], "Bay Post", "Ferry fares rise again"),
        (None, ["Ferry fares rise again"], None, "Ferry fares rise again"),
    ],
)
def test_refine_title(title: str | None, h1s: list[str], site: str | None, expected: str) -> None:
    assert refine_title(title, PageSignals(h1s=h1s, site_name=site)) == expected


@pytest.mark.parametrize(
    ("author", "signals", "expected"),
    [
        ("View all posts by Ada Brook", PageSignals(), "Ada Brook"),
        ("Grant Lowe; PhD", PageSignals(), "Grant Lowe"),
        ("Rob Hale; Bay Post", PageSignals(site_name="Bay Post"), "Rob Hale"),
        ("Bay Post", PageSignals(site_name="Bay Post"), "Bay Post"),  # the organisation as sole author stays
        ("Perry Dale Jr", PageSignals(authors=["Perry Dale Jr."]), "Perry Dale Jr."),
        ("Leah C Stokes", PageSignals(authors=["LEAH C. STOKES"]), "Leah C. Stokes"),
        ("Ana Ruiz Bay Post Staff", PageSignals(site_name="Bay Post"), "Ana Ruiz"),
        ("No Author", PageSignals(), None),
        (None, PageSignals(authors=["Mia Long", "Ravi Sen"]), "Mia Long; Ravi Sen"),
        (None, PageSignals(), None),
    ],
)
def test_refine_author(author: str | None, signals: PageSignals, expected: str | None) -> None:
    assert refine_author(author, signals) == expected


def test_refine_author_reads_byline_elements_only_when_needed() -> None:
    html = "<html><body><span class='byline'>Posted on May 2, 2024 by Ivo K. Lamm</span></body></html>"
    tree = extract_module._parse(html)
    signals = extract_module.read_signals(tree)
    assert refine_author(None, signals) == "Ivo K. Lamm"
    assert refine_author("Ivo K Lamm", signals) == "Ivo K. Lamm"


@pytest.mark.parametrize(
    ("date", "declared", "expected"),
    [
        ("2024-03-14", "2024-03-14T09:30:00-04:00", "2024-03-14T09:30:00-04:00"),
        ("2024-03-14", "2024-03-15T01:30:00Z", "2024-03-14"),  # disagreement: keep htmldate's choice
        ("2024-03-14", "2024-03-14", "2024-03-14"),  # no time of day to add
        (None, "2024-01-22T07:00:00+0000", "2024-01-22T07:00:00+00:00"),
        (None, "2024-01-22", "2024-01-22"),
        (None, "not a date", None),
    ],
)
def test_refine_date(date: str | None, declared: str, expected: str | None) -> None:
    assert refine_date(date, PageSignals(date_published=declared)) == expected


@pytest.mark.parametrize(
    ("value", "expected"), [("en-US", "en"), ("pt_BR", "pt"), ("DE", "de"), ("x", None), (None, None)]
)
def test_language_code(value: str | None, expected: str | None) -> None:
    assert language_code(value) == expected
