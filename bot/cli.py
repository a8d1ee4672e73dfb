"""The `briefbot` command line: extract, brief and quotes over one or many sources.

Each command builds Settings once, runs one event loop for the whole batch, and maps a `BriefbotError` to one clear
sentence on standard error (or an `error` field in JSON Lines). A batch goes on past a failed source and exits 1 if
any source failed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from enum import StrEnum
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markdown import Markdown

from bot import __version__
from bot.adapters.console import ConsoleChannel, run_chat
from bot.brief.answer import CLOSEST_LABEL, answer_offline, citation_note, closest_note
from bot.brief.quotes import find_attributions
from bot.brief.select import build_answerer, build_briefer
from bot.config import EngineChoice, Settings, load_settings
from bot.digest.runner import preview_digest
from bot.errors import BriefbotError, ConfigError
from bot.ingest.fetch import FetchPolicy, SafeFetcher
from bot.ingest.sources import RawSource, article_from_raw, read_source
from bot.logging_setup import configure_logging
from bot.render import briefing_to_markdown
from bot.store import ChannelKey, upgrade_database
from bot.wiring import open_core

app = typer.Typer(
    name="briefbot",
    help="Briefings of shared articles: TL;DR, key points, who said what, implications.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

T = TypeVar("T")
EXIT_FAILED_SOURCE = 1
EXIT_CONFIG = 78  # EX_CONFIG from sysexits.h: a configuration error, distinct from a failed source.


class ExtractFormat(StrEnum):
    TEXT = "text"
    JSON = "json"
    JSONL = "jsonl"


class BriefFormat(StrEnum):
    MD = "md"
    JSON = "json"
    JSONL = "jsonl"


class QuotesFormat(StrEnum):
    JSON = "json"
    JSONL = "jsonl"


SourcesArg = Annotated[list[str], typer.Argument(help="URLs, files (.html .htm .txt .md) or - for standard input.")]


def _settings() -> Settings:
    try:
        settings = load_settings()
    except ConfigError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(EXIT_CONFIG) from None
    configure_logging(settings.log_level, _secrets(settings))
    return settings


def _configured(build: Callable[[], T]) -> T:
    """Build an engine; a configuration problem (e.g. `--engine llm` with no model set) is one sentence, exit 78."""
    try:
        return build()
    except ConfigError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(EXIT_CONFIG) from None


def _secrets(settings: Settings) -> list[str]:
    values = []
    for value in settings.model_dump().values():
        if hasattr(value, "get_secret_value"):
            values.append(value.get_secret_value())
    return values


def _run_batch(
    sources: list[str],
    settings: Settings,
    work: Callable[[str, RawSource], Awaitable[Any]],
    emit: Callable[[str, Any], None],
    emit_error: Callable[[str, BriefbotError], None],
) -> None:
    """Process every source in one event loop, reporting failures one by one; exit 1 if any failed."""

    async def main() -> int:
        failures = 0
        async with AsyncExitStack() as stack:
            fetcher = await stack.enter_async_context(SafeFetcher(FetchPolicy.from_settings(settings)))
            for source in sources:
                try:
                    raw = await read_source(source, fetcher)
                    emit(source, await work(source, raw))
                except BriefbotError as exc:
                    failures += 1
                    emit_error(source, exc)
        return failures

    failures = asyncio.run(main())
    if failures:
        raise typer.Exit(EXIT_FAILED_SOURCE)


def _print_json(value: Any, *, indent: int | None) -> None:
    # Plain print: rich would wrap long JSON lines, which breaks JSON Lines consumers.
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=indent) + "\n")
    sys.stdout.flush()


def _print_data(fmt: str, source: str, data: dict[str, Any], *, label: bool = False) -> bool:
    """Print `data` for --format jsonl (one line, with its source) or json (indented; with its source if `label`);
    False for any other format, which the caller prints itself."""
    if fmt == "jsonl":
        _print_json({"source": source, **data}, indent=None)
    elif fmt == "json":
        _print_json({"source": source, **data} if label else data, indent=2)
    else:
        return False
    return True


def _print_markdown(text: str) -> None:
    # Rendered on a terminal; plain Markdown when piped, so `briefbot brief URL > briefing.md` is a Markdown file.
    if out.is_terminal:
        out.print(Markdown(text))
    else:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()


def _error_emitter(fmt: str, many: bool) -> Callable[[str, BriefbotError], None]:
    def emit_error(source: str, exc: BriefbotError) -> None:
        if fmt == "jsonl":
            _print_json({"source": source, "error": str(exc), "error_kind": exc.kind}, indent=None)
        else:
            prefix = f"{source}: " if many else ""
            err.print(f"[red]{prefix}{exc}[/red]")

    return emit_error


@app.command()
def extract(
    sources: SourcesArg,
    fmt: Annotated[ExtractFormat, typer.Option("--format", "-f", help="Output format.")] = ExtractFormat.TEXT,
) -> None:
    """Extract the article text and metadata from each SOURCE."""
    settings = _settings()
    many = len(sources) > 1

    async def work(source: str, raw: RawSource) -> Any:
        return await article_from_raw(raw, cpu_budget=settings.extract_cpu_budget)

    def emit(source: str, article: Any) -> None:
        if _print_data(fmt.value, source, article.model_dump(mode="json")):
            return
        if many:
            out.rule(source)
        meta = [article.title, article.byline, article.published, article.site_name]
        header = " | ".join(m for m in meta if m)
        if header:
            out.print(f"[bold]{header}[/bold]\n")
        out.print(article.text, markup=False)
        for warning in article.warnings:
            err.print(f"[yellow]warning:[/yellow] {warning}")

    _run_batch(sources, settings, work, emit, _error_emitter(fmt.value, many))


@app.command()
def brief(
    sources: SourcesArg,
    fmt: Annotated[BriefFormat, typer.Option("--format", "-f", help="Output format.")] = BriefFormat.MD,
    engine: Annotated[
        EngineChoice | None,
        typer.Option(help="auto: the LLM when one is configured, else the offline engine. Default: BRIEFBOT_ENGINE."),
    ] = None,
    show_usage: Annotated[bool, typer.Option("--show-usage", help="Show tokens and estimated cost.")] = False,
) -> None:
    """Brief each SOURCE: TL;DR, key points, who said what, implications."""
    settings = _settings()
    briefer = _configured(lambda: build_briefer(settings, engine or settings.engine))
    many = len(sources) > 1

    async def work(source: str, raw: RawSource) -> Any:
        article = await article_from_raw(raw, cpu_budget=settings.extract_cpu_budget)
        return await briefer.brief(article)

    def emit(source: str, briefing: Any) -> None:
        if _print_data(fmt.value, source, briefing.model_dump(mode="json")):
            return
        if many:
            out.rule(source)
        _print_markdown(briefing_to_markdown(briefing, show_usage=show_usage))

    _run_batch(sources, settings, work, emit, _error_emitter(fmt.value, many))


@app.command()
def quotes(
    sources: SourcesArg,
    fmt: Annotated[QuotesFormat, typer.Option("--format", "-f", help="Output format.")] = QuotesFormat.JSON,
) -> None:
    """List every attribution (who said what) in each SOURCE, with offsets.

    Offsets index the input exactly as given for text input (it is not cleaned); for web pages and HTML files they
    index the extracted article text, which is included in the JSON output.
    """
    settings = _settings()
    many = len(sources) > 1

    async def work(source: str, raw: RawSource) -> Any:
        if raw.kind == "text":
            text = raw.data if isinstance(raw.data, str) else raw.data.decode("utf-8", errors="replace")
            extracted = False
        else:
            text = (await article_from_raw(raw, cpu_budget=settings.extract_cpu_budget)).text
            extracted = True
        found = await asyncio.to_thread(find_attributions, text)
        payload: dict[str, Any] = {"attributions": [dataclasses.asdict(a) for a in found]}
        if extracted:
            payload["text"] = text
        return payload

    def emit(source: str, payload: Any) -> None:
        _print_data(fmt.value, source, payload, label=many)

    _run_batch(sources, settings, work, emit, _error_emitter(fmt.value, many))


class AskFormat(StrEnum):
    MD = "md"
    JSON = "json"


@app.command()
def ask(
    source: Annotated[str, typer.Argument(help="A URL, a file (.html .htm .txt .md) or - for standard input.")],
    question: Annotated[str, typer.Argument(help="The question to answer from the article.")],
    fmt: Annotated[AskFormat, typer.Option("--format", "-f", help="Output format.")] = AskFormat.MD,
) -> None:
    """Answer one QUESTION about one SOURCE, citing the passage (or saying the article doesn't say)."""
    settings = _settings()
    answerer = _configured(lambda: build_answerer(settings))

    async def work(_source: str, raw: RawSource) -> Any:
        article = await article_from_raw(raw, cpu_budget=settings.extract_cpu_budget)
        if answerer is not None:
            answer = await answerer.answer([("article", article.text)], question, [])
        else:
            answer = await asyncio.to_thread(answer_offline, article.text, question)
        return article, answer

    def emit(_source: str, result: Any) -> None:
        article, answer = result
        if fmt is AskFormat.JSON:
            citations = [{"start": s, "end": e, "text": article.text[s:e]} for s, e in answer.citations]
            reply = answer.reason if answer.refused else answer.text
            closest = [{"start": s, "end": e, "text": article.text[s:e]} for s, e in answer.closest_citations]
            _print_json(
                {"answer": reply, "refused": answer.refused, "citations": citations, "closest": closest}, indent=2
            )
        elif answer.refused:
            out.print(answer.reason or "The article doesn't say.")
            if answer.closest:
                out.print(f"{CLOSEST_LABEL} {answer.closest}", markup=False)
                out.print(f"[dim]{closest_note(answer)}[/dim]")
        else:
            out.print(answer.text, markup=False)
            out.print(f"[dim]{citation_note(answer)}[/dim]")

    _run_batch([source], settings, work, emit, _error_emitter("text", False))


@app.command()
def chat() -> None:
    """Talk to briefbot in the terminal: paste links or articles, ask follow-up questions, manage feeds."""
    settings = _settings()

    async def main() -> None:
        async with open_core(settings) as core:
            channel = ConsoleChannel(core.service, digest=preview_digest(core.service))
            await run_chat(channel, history_path=str(settings.data_dir / "chat-history"))

    asyncio.run(main())


@app.command("run")
def run_command() -> None:
    """Run briefbot in Slack and/or Discord (whichever is configured) with feeds and scheduled digests."""
    settings = _settings()
    from bot.run import run

    try:
        asyncio.run(run(settings))
    except ConfigError as exc:  # nothing configured, or a platform refused its credentials at start-up
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(EXIT_CONFIG) from None


@app.command()
def digest(
    channel: Annotated[
        str, typer.Argument(help="PLATFORM:WORKSPACE:CHANNEL, e.g. console:local:console or slack:T0:C0.")
    ],
    now: Annotated[
        bool, typer.Option("--now", help="Post it now (once per minute at most), not just show it.")
    ] = False,
) -> None:
    """Show a channel's next digest, or post it now with --now."""
    settings = _settings()
    parts = channel.split(":", 2)
    if len(parts) != 3:
        err.print("[red]CHANNEL must be PLATFORM:WORKSPACE:CHANNEL, e.g. slack:T0123:C0456.[/red]")
        raise typer.Exit(EXIT_FAILED_SOURCE)
    key = ChannelKey(*parts)

    async def main() -> str:
        async with open_core(settings) as core:
            if not now:
                return await preview_digest(core.service)(key)
            from bot.digest_post import post_digest_now

            return await post_digest_now(settings, core.service, key)

    try:
        _print_markdown(asyncio.run(main()))
    except BriefbotError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(EXIT_FAILED_SOURCE) from None


db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or upgrade the database schema to the latest version."""
    settings = _settings()
    if settings.resolved_database_url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    asyncio.run(upgrade_database(settings.resolved_database_url))
    out.print("The database is up to date.")


def main() -> None:
    """Console-script entry point."""
    app()


@app.callback(invoke_without_command=True)
def _root(
    version: Annotated[bool, typer.Option("--version", help="Show the version and exit.")] = False,
) -> None:
    if version:
        out.print(f"briefbot {__version__}")
        raise typer.Exit()
