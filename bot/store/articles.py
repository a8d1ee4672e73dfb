"""Articles (keyed by URL hash and content hash) and the briefings cached for them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.models import Article, Briefing
from bot.store._base import Repository
from bot.store.records import StoredArticle, content_hash, normalized_url_hash
from bot.store.tables import ArticleRow, BriefingRow


def _stored(row: Any) -> StoredArticle:
    return StoredArticle(
        id=row.id,
        url=row.url,
        url_hash=row.url_hash,
        content_hash=row.content_hash,
        article=Article.model_validate_json(row.data),
        created_at=row.created_at,
    )


class ArticleRepository(Repository):
    """Extracted articles. One row per normalized URL; pasted text (no URL) gets a row per call."""

    async def add(self, article: Article, *, url: str | None) -> int:
        """Store `article` keyed by `url` (already normalized; None for pasted text) and return its id.

        When the URL is already stored, the existing row wins and its id is returned: twenty people pasting one link
        at once leave one row.
        """
        key = normalized_url_hash(url) if url is not None else None
        values = {
            "url": url,
            "url_hash": key,
            "content_hash": content_hash(article.text),
            "title": article.title,
            "data": article.model_dump_json(),
            "created_at": self._now(),
        }
        stmt = self._insert(ArticleRow).values(values)
        if key is not None:
            stmt = stmt.on_conflict_do_nothing(index_elements=["url_hash"])
        async with self._engine.begin() as conn:
            inserted = (await conn.execute(stmt.returning(ArticleRow.id))).scalar()
            if inserted is not None:
                return inserted
            existing = await conn.scalar(select(ArticleRow.id).where(ArticleRow.url_hash == key))
        assert existing is not None  # the conflicting row exists: it is why nothing was inserted
        return existing

    async def get(self, article_id: int) -> StoredArticle | None:
        """The article with this id, if any."""
        return await self._one(ArticleRow.id == article_id)

    async def get_by_url(self, url: str) -> StoredArticle | None:
        """The article stored for this normalized URL, if any."""
        return await self.get_by_url_hash(normalized_url_hash(url))

    async def get_by_url_hash(self, digest: str) -> StoredArticle | None:
        """The article whose normalized URL hashes to `digest` (see `url_hash`), if any."""
        return await self._one(ArticleRow.url_hash == digest)

    async def get_by_content_hash(self, digest: str) -> StoredArticle | None:
        """The most recently stored article with this text (see `content_hash`), whatever its URL."""
        return await self._one(ArticleRow.content_hash == digest)

    async def _one(self, condition: Any) -> StoredArticle | None:
        query = select(ArticleRow).where(condition).order_by(ArticleRow.id.desc()).limit(1)
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return _stored(row) if row is not None else None


class BriefingRepository(Repository):
    """Cached briefings, one per (article, engine, prompt version)."""

    async def get(self, article_id: int, engine: str, prompt_version: str | None) -> Briefing | None:
        """The cached briefing for this key, if any. A None prompt version is stored as ''."""
        query = select(BriefingRow.data).where(
            BriefingRow.article_id == article_id,
            BriefingRow.engine == engine,
            BriefingRow.prompt_version == (prompt_version or ""),
        )
        async with self._engine.connect() as conn:
            data = await conn.scalar(query)
        return Briefing.model_validate_json(data) if data is not None else None

    async def put(self, article_id: int, briefing: Briefing) -> Briefing:
        """Cache `briefing` under (article, briefing.engine, briefing.prompt_version); return the cached one.

        Idempotent under concurrency: when two workers brief the same article at once, the first insert wins and the
        loser gets the winner's briefing back, so everyone shows the same text.
        """
        values = {
            "article_id": article_id,
            "engine": briefing.engine,
            "prompt_version": briefing.prompt_version or "",
            "data": briefing.model_dump_json(),
            "prompt_tokens": briefing.usage.prompt_tokens,
            "completion_tokens": briefing.usage.completion_tokens,
            "cost_usd": briefing.usage.cost_usd,
            "created_at": self._now(),
        }
        stmt = (
            self._insert(BriefingRow)
            .values(values)
            .on_conflict_do_nothing(index_elements=["article_id", "engine", "prompt_version"])
            .returning(BriefingRow.id)
        )
        async with self._engine.begin() as conn:
            if (await conn.execute(stmt)).scalar() is not None:
                return briefing
            data = await conn.scalar(
                select(BriefingRow.data).where(
                    BriefingRow.article_id == article_id,
                    BriefingRow.engine == values["engine"],
                    BriefingRow.prompt_version == values["prompt_version"],
                )
            )
        assert data is not None
        return Briefing.model_validate_json(data)
