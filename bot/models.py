"""The core data types shared by every engine and adapter: Article in, Briefing out.

Offsets (`start`, `end`, `evidence`) always index `Article.text` as Python code points, so any quote or key point can
be checked against, and highlighted in, the text the briefing was made from.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Span = tuple[int, int]


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Article(Frozen):
    """Clean article text plus its metadata. `text` keeps paragraphs separated by a blank line."""

    url: str | None = None
    canonical_url: str | None = None
    title: str | None = None
    byline: str | None = None
    published: str | None = None  # ISO 8601 date or datetime
    site_name: str | None = None
    language: str | None = None
    description: str | None = None
    text: str
    word_count: int = 0
    partial: bool = False
    warnings: list[str] = Field(default_factory=list)
    # Which stage of the extraction cascade produced the text (e.g. "trafilatura", "json-ld", "pasted-text").
    extractor: str | None = None

    @property
    def paragraphs(self) -> list[str]:
        return [p for p in self.text.split("\n\n") if p.strip()]


class SourceInfo(Frozen):
    """The article's metadata as shown beneath a briefing."""

    url: str | None = None
    title: str | None = None
    byline: str | None = None
    published: str | None = None
    site_name: str | None = None
    language: str | None = None

    @classmethod
    def from_article(cls, article: Article) -> SourceInfo:
        return cls(
            url=article.canonical_url or article.url,
            title=article.title,
            byline=article.byline,
            published=article.published,
            site_name=article.site_name,
            language=article.language,
        )


class KeyPoint(Frozen):
    text: str
    evidence: list[Span] = Field(default_factory=list)


class Implication(Frozen):
    text: str
    evidence: list[Span] = Field(default_factory=list)


class Quote(Frozen):
    """One attribution: who said what. `start`/`end` delimit `text` in the article."""

    speaker: str
    speaker_role: str | None = None
    text: str
    kind: Literal["direct", "indirect"]
    cue: str | None = None
    start: int
    end: int
    verified: bool = False


class Coverage(Frozen):
    """How much of the article the engine read."""

    read_fraction: float = 1.0
    tokens: int | None = None
    parts: int = 1
    note: str = "read the whole article"


class Usage(Frozen):
    """Tokens and estimated cost of one briefing (zero for the offline engine)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    calls: int = 0
    cost_usd: float = 0.0
    token_estimate: str | None = None  # set when tokens were estimated rather than counted with tiktoken


class Briefing(Frozen):
    tldr: str
    key_points: list[KeyPoint]
    quotes: list[Quote]
    implications: list[Implication]
    source: SourceInfo
    engine: str
    coverage: Coverage = Field(default_factory=Coverage)
    usage: Usage = Field(default_factory=Usage)
    warnings: list[str] = Field(default_factory=list)
    prompt_version: str | None = None

    def quotes_by_speaker(self) -> list[tuple[str, str | None, list[Quote]]]:
        """Quotes grouped by speaker, speakers in the order the article first quotes them."""
        groups: dict[str, tuple[str | None, list[Quote]]] = {}
        for quote in sorted(self.quotes, key=lambda q: q.start):
            role, items = groups.setdefault(quote.speaker, (quote.speaker_role, []))
            if role is None and quote.speaker_role:
                groups[quote.speaker] = (quote.speaker_role, items)
            items.append(quote)
        return [(speaker, role, items) for speaker, (role, items) in groups.items()]
