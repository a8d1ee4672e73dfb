"""The platform-neutral digest: what `compose_digest` returns and every sink (Slack, Discord, console) renders.

Text fields come from articles and briefings (untrusted: renderers escape them); `url`s come only from stored,
normalized article and feed-item URLs, never from model output or page metadata.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from bot.models import Frozen


class DigestQuote(Frozen):
    """The key quote of a story, verbatim from its article, with who said it."""

    text: str
    speaker: str
    speaker_role: str | None = None


class DigestSource(Frozen):
    """One article of a story: the outlet, its headline and its (normalized) link."""

    outlet: str
    title: str | None = None
    url: str
    published: datetime | None = None
    shared: bool = False  # shared in the channel (as opposed to arriving through a feed)


class DigestEntry(Frozen):
    """One story: a headline and a one- or two-line briefing from its best article, a quote, and every source."""

    headline: str
    summary: str = ""
    quote: DigestQuote | None = None
    sources: list[DigestSource] = Field(default_factory=list)
    newest: datetime | None = None


class Digest(Frozen):
    """A channel's digest for a window of time, stories ranked most important first."""

    since: datetime
    until: datetime
    entries: list[DigestEntry] = Field(default_factory=list)
    article_count: int = 0
    story_count: int = 0
    feed_count: int = 0
    shared_count: int = 0
    omitted_stories: int = 0  # stories beyond the entry cap, counted in the header but not shown

    @property
    def empty(self) -> bool:
        return not self.entries

    @property
    def header(self) -> str:
        """E.g. "12 articles in 7 stories from 4 feeds and 2 links shared here"."""
        if self.empty:
            return "Nothing new since the last digest."
        origins = []
        if self.feed_count:
            origins.append(_count(self.feed_count, "feed"))
        if self.shared_count:
            origins.append(_count(self.shared_count, "link") + " shared here")
        articles = _count(self.article_count, "article")
        return f"{articles} in {_count(self.story_count, 'story', 'stories')} from {' and '.join(origins)}"


def _count(n: int, singular: str, plural: str | None = None) -> str:
    return f"{n} {singular if n == 1 else plural or singular + 's'}"
