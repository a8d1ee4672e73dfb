"""URL normalization, hashing, Slack link unwrapping and URL extraction from chat messages."""

from __future__ import annotations

import pytest

from bot.errors import SourceError
from bot.ingest.urls import find_urls, normalize_url, unwrap_slack_link, url_hash


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("HTTPS://News.Example/Path", "https://news.example/Path"),  # the path keeps its case
        ("http://news.example", "http://news.example/"),
        ("http://news.example:80/a", "http://news.example/a"),
        ("https://news.example:443/a", "https://news.example/a"),
        ("http://news.example:443/a", "http://news.example:443/a"),  # not the default port for http
        ("https://news.example:8443/a", "https://news.example:8443/a"),
        ("https://news.example/a#section-2", "https://news.example/a"),
        ("  <https://news.example/a>  ", "https://news.example/a"),
        ("https://news.example/?a=1&amp;b=2", "https://news.example/?a=1&b=2"),
        ("https://Bücher.example/straße", "https://xn--bcher-kva.example/stra%C3%9Fe"),
        ("https://news.example/a b", "https://news.example/a%20b"),
        ("https://news.example./a", "https://news.example/a"),
        ("http://[2001:DB8::1]:80/", "http://[2001:db8::1]/"),
    ],
)
def test_normalize_url(raw: str, expected: str) -> None:
    assert normalize_url(raw) == expected
    assert normalize_url(normalize_url(raw)) == normalize_url(raw)  # idempotent


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            "https://news.example/story?b=2&utm_source=x&a=1&fbclid=y&c=3&UTM_Campaign=z",
            "https://news.example/story?b=2&a=1&c=3",
        ),
        (
            "https://news.example/s?gclid=1&dclid=2&msclkid=3&mc_cid=4&mc_eid=5&igshid=6&yclid=7&_hsenc=8&_hsmi=9&ref_src=t",
            "https://news.example/s",
        ),
        ("https://news.example/s?id=7&&utm_medium=email", "https://news.example/s?id=7"),
        ("https://news.example/s?ref=home&source=rss", "https://news.example/s?ref=home&source=rss"),
    ],
)
def test_normalize_url_drops_tracking_params_and_keeps_the_rest_in_order(raw: str, expected: str) -> None:
    assert normalize_url(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "not a url",
        "news.example/story",
        "ftp://news.example/file",
        "javascript:alert(1)",
        "mailto:someone@news.example",
        "file:///etc/passwd",
        "http://",
        "http:///path",
        "http://news.example:99999/",
        "http://news.example:0/",
        "http://news.example:abc/",
        "http://user:secret@news.example/",
        "http://bad_host^.example/",
        "http://[not-an-ip]/",
        "http://news.example/\r\nX-Injected: 1",
    ],
)
def test_normalize_url_rejects_what_is_not_a_web_link(raw: str) -> None:
    with pytest.raises(SourceError) as info:
        normalize_url(raw)
    assert str(info.value)  # a sentence for the user, never empty


def test_url_hash_is_a_fixed_size_key_for_the_normalized_url() -> None:
    digest = url_hash("https://news.example/a?utm_source=x#top")
    assert len(digest) == 64 and int(digest, 16) >= 0
    assert digest == url_hash("HTTPS://NEWS.EXAMPLE:443/a")
    assert digest != url_hash("https://news.example/b")
    assert len(url_hash("https://news.example/?q=" + "x" * 10_000)) == 64


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("<https://a.example/?x=1&amp;y=2|label>", "https://a.example/?x=1&y=2"),
        ("<https://a.example/real|https://evil.example/shown>", "https://a.example/real"),
        ("<https://a.example/page>", "https://a.example/page"),
        ("https://a.example/?q=a&amp;lt;b", "https://a.example/?q=a&lt;b"),
        ("  https://a.example/plain  ", "https://a.example/plain"),
    ],
)
def test_unwrap_slack_link_returns_the_unescaped_target_never_the_label(text: str, expected: str) -> None:
    assert unwrap_slack_link(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "two: <https://a.example/x?a=1&amp;b=2|the label> and <https://b.example/>",
            ["https://a.example/x?a=1&b=2", "https://b.example/"],
        ),
        ("label is not a link: <https://a.example/|https://evil.example/>", ["https://a.example/"]),
        ("Discord, no embed: <https://a.example/story>", ["https://a.example/story"]),
        (
            "Read https://a.example/story. Then https://b.example/x, ok?",
            ["https://a.example/story", "https://b.example/x"],
        ),
        ("(see https://a.example/x)", ["https://a.example/x"]),
        ("https://en.wikipedia.org/wiki/Foo_(bar)!", ["https://en.wikipedia.org/wiki/Foo_(bar)"]),
        ("wow https://a.example/x?!", ["https://a.example/x"]),
        ('"https://a.example/quoted"', ["https://a.example/quoted"]),
        ("slack-escaped &lt;https://a.example/x&gt; text", ["https://a.example/x"]),
        ("HTTPS://A.EXAMPLE/Caps", ["HTTPS://A.EXAMPLE/Caps"]),
        (
            "dupes https://a.example/x https://a.example/x?utm_source=t <https://A.example/x#frag> https://c.example/",
            ["https://a.example/x", "https://c.example/"],
        ),
        ("no links: <@U123> <#C42|general> <!here> <mailto:a@b.example|mail> ftp://x.example/", []),
        ("broken https:// and http://[zz]/", []),
    ],
)
def test_find_urls(text: str, expected: list[str]) -> None:
    assert find_urls(text) == expected


def test_the_fetchers_url_key_is_the_stores_key_of_the_normalized_url() -> None:
    from bot.store import normalized_url_hash

    for raw in ("https://news.example/a?utm_source=x#top", "HTTPS://NEWS.EXAMPLE:443/a", "https://a.example/b?z=1&a=2"):
        assert url_hash(raw) == normalized_url_hash(normalize_url(raw))
