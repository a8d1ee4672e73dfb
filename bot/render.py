"""Platform-neutral text rendering of core results (Markdown), used by the CLI and the console adapter.

Slack and Discord adapters render their own formats (Block Kit, embeds); this module is the plain-text reference.
"""

from __future__ import annotations

from bot.models import Briefing


def briefing_to_markdown(briefing: Briefing, *, show_usage: bool = False) -> str:
    """A briefing as Markdown: title, TL;DR, key points, who said what by speaker, implications, a source line."""
    lines: list[str] = []
    title = briefing.source.title or briefing.source.url or "Briefing"
    lines += [f"# {title}", "", f"**TL;DR:** {briefing.tldr}", ""]
    if briefing.key_points:
        lines += ["## Key points", ""]
        lines += [f"- {point.text}" for point in briefing.key_points]
        lines.append("")
    groups = briefing.quotes_by_speaker()
    if groups:
        lines += ["## Who said what", ""]
        for speaker, role, quotes in groups:
            lines += [f"**{speaker}**" + (f" ({role})" if role else ""), ""]
            for quote in quotes:
                if quote.kind == "direct":
                    mark = "" if quote.verified else " _(unverified)_"
                    lines.append(f"- “{quote.text}”{mark}")
                else:
                    lines.append(f"- {(quote.cue or 'said').lower()}: {quote.text}")
            lines.append("")
    if briefing.implications:
        lines += ["## Implications", ""]
        lines += [f"- {item.text}" for item in briefing.implications]
        lines.append("")
    lines.append(f"_{context_line(briefing, show_usage=show_usage)}_")
    for warning in briefing.warnings:
        lines.append(f"> warning: {warning}")
    return "\n".join(lines).rstrip() + "\n"


def context_line(briefing: Briefing, *, show_usage: bool = False) -> str:
    """One line naming the source, the engine, the coverage and, for LLM briefings, the cost."""
    source = briefing.source
    parts = [p for p in (source.site_name, source.byline, source.published, source.url) if p]
    parts.append(f"engine: {briefing.engine}")
    parts.append(briefing.coverage.note)
    usage = briefing.usage
    if show_usage or usage.calls:
        parts.append(f"{usage.prompt_tokens} prompt + {usage.completion_tokens} completion tokens")
        parts.append(f"~${usage.cost_usd:.4f}")
    return " · ".join(parts)
