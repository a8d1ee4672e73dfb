"""The composition root: builds the store, the fetcher, the engines and the service from Settings, and closes them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

from bot.brief.select import build_answerer, build_briefer
from bot.config import Settings
from bot.ingest.fetch import FetchPolicy, SafeFetcher
from bot.service import Quotas, Service
from bot.store import Store


@dataclass(frozen=True, slots=True)
class Core:
    """Everything an adapter needs: the settings and the service (which owns store, fetcher and engines)."""

    settings: Settings
    service: Service


@asynccontextmanager
async def open_core(settings: Settings) -> AsyncIterator[Core]:
    """Open the database (upgrading it when new or behind), the fetcher and the engines; close them on exit."""
    async with AsyncExitStack() as stack:
        store = await Store.open(settings.resolved_database_url)
        stack.push_async_callback(store.close)
        fetcher = await stack.enter_async_context(SafeFetcher(FetchPolicy.from_settings(settings)))
        service = Service(
            store=store,
            fetcher=fetcher,
            briefer=build_briefer(settings),
            answerer=build_answerer(settings),
            quotas=Quotas(per_user=settings.quota_user_per_day, per_channel=settings.quota_channel_per_day),
            cpu_budget=settings.extract_cpu_budget,
        )
        yield Core(settings, service)
