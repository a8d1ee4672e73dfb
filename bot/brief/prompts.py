"""Prompt templates: loading, filling and versioning the files in `prompts/`.

A template file is a header of `key: value` lines (`version`, `schema`, `description`), then a `[system]` section and a
`[user]` section. The system text is fixed (no placeholders), which keeps it identical across requests for providers'
prompt caching and lets the engine recognise it if a model repeats it. The user text is a `string.Template`
(`$article`, `$title` ...), filled in one pass, so a `$name` inside article text is never expanded.

`schema: briefing` names `prompts/briefing.schema.json`, the JSON schema sent as structured output. A template's
version is `<name>@<version header>#<first 8 hex digits of SHA-256 over the template and its schema>`: the header says
which revision was intended, the hash catches an edit made without bumping it. Briefings store it in `prompt_version`.
"""

from __future__ import annotations

import hashlib
import json
import string
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from bot.models import Briefing
from bot.prompt_files import prompts_dir

__all__ = [
    "PROMPT_NAMES",
    "ModelBriefing",
    "ModelQuote",
    "PromptTemplate",
    "combined_version",
    "grounding_block",
    "load_prompt",
]

PROMPT_NAMES = ("briefing", "map", "reduce", "answer", "digest_entry")


class PromptFileError(ValueError):
    """A template file is malformed (a packaging or editing mistake, found at start-up)."""


@dataclass(frozen=True)
class PromptTemplate:
    """One loaded template: `system` text, `user` template, optional JSON `schema`, and its `version` string."""

    name: str
    version: str
    system: str
    user: str
    schema_name: str | None = None
    schema: dict[str, Any] | None = field(default=None, hash=False, compare=False)

    @property
    def placeholders(self) -> set[str]:
        """The `$names` the user template expects."""
        return {m.group("named") or m.group("braced") for m in string.Template.pattern.finditer(self.user)} - {None}

    def messages(self, **values: str) -> list[dict[str, str]]:
        """The chat messages for one request; every placeholder must be given (a missing one is a bug: KeyError)."""
        user = string.Template(self.user).substitute(values)
        return [{"role": "system", "content": self.system}, {"role": "user", "content": user}]

    def response_format(self) -> dict[str, Any] | None:
        """The `response_format` for structured output with this template's schema (strict), or None."""
        if self.schema is None:
            return None
        return {"type": "json_schema", "json_schema": {"name": self.schema_name, "strict": True, "schema": self.schema}}


def _parse(name: str, raw: str) -> tuple[dict[str, str], str, str]:
    header: dict[str, str] = {}
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in raw.splitlines():
        stripped = line.strip()
        if stripped in ("[system]", "[user]"):
            current = sections.setdefault(stripped[1:-1], [])
        elif current is not None:
            current.append(line)
        elif stripped:
            key, sep, value = stripped.partition(":")
            if not sep:
                raise PromptFileError(f"prompts/{name}.txt: header line without 'key: value': {stripped!r}")
            header[key.strip().lower()] = value.strip()
    if "version" not in header or set(sections) != {"system", "user"}:
        raise PromptFileError(f"prompts/{name}.txt needs a 'version:' header and [system] and [user] sections")
    system = "\n".join(sections["system"]).strip()
    if "$" in system:
        raise PromptFileError(f"prompts/{name}.txt: the system section must not contain placeholders")
    return header, system, "\n".join(sections["user"]).strip()


@cache
def load_prompt(name: str, directory: Path | None = None) -> PromptTemplate:
    """Load `prompts/<name>.txt` (and its schema file) from `directory` or the installed prompts directory."""
    base = directory or prompts_dir()
    raw = (base / f"{name}.txt").read_text(encoding="utf-8")
    header, system, user = _parse(name, raw)
    digest = hashlib.sha256(raw.encode())
    schema_name = header.get("schema")
    schema = None
    if schema_name:
        schema_raw = (base / f"{schema_name}.schema.json").read_text(encoding="utf-8")
        schema = json.loads(schema_raw)
        digest.update(schema_raw.encode())
    version = f"{name}@{header['version']}#{digest.hexdigest()[:8]}"
    return PromptTemplate(name, version, system, user, schema_name, schema)


def combined_version(*templates: PromptTemplate) -> str:
    """The version string for a result made with several templates (map-reduce): their versions joined by `+`."""
    return "+".join(t.version for t in templates)


# --- the templates' input candidates and output contract ----------------------------------------------------------

_OPENING_WORDS = 8


def _opening(text: str, n: int = _OPENING_WORDS) -> str:
    words = text.split()
    return " ".join(words[:n]) + ("…" if len(words) > n else "")


def grounding_block(grounding: Briefing, start: int, end: int, *, quotes: int = 5, sentences: int = 4) -> str:
    """The offline engine's candidates from `[start, end)` of the article, compactly: each quote's speaker and opening
    words, and the opening words of each key sentence (the model finds the rest in the article; this keeps the
    overhead of a short article under ~150 tokens)."""
    lines = []
    picked = [q for q in grounding.quotes if start <= q.start < end][:quotes]
    if picked:
        lines.append("Candidate quotes (speaker: opening words):")
        for q in picked:
            who = f"{q.speaker}, {q.speaker_role}" if q.speaker_role else q.speaker
            lines.append(f'- {who}: "{_opening(q.text)}"')
    points = [k for k in grounding.key_points if k.evidence and start <= k.evidence[0][0] < end][:sentences]
    if points:
        lines.append("Key sentences (opening words):")
        lines.extend(f"- {_opening(k.text)}" for k in points)
    return "\n".join(lines)


def _strings(value: Any) -> list[str]:
    """A list of strings from whatever shape a model produced: a list of strings or of {"text": ...}, or a string."""
    if isinstance(value, str):
        return [value] if value.strip() else []
    if not isinstance(value, list):
        return []
    out = []
    for item in value:
        if isinstance(item, dict):
            item = item.get("text") or item.get("point") or item.get("implication") or ""
        if isinstance(item, str) and item.strip():
            out.append(item.strip())
    return out


class ModelQuote(BaseModel):
    """One quote as a model wrote it (unverified)."""

    speaker: str
    role: str | None = None
    text: str
    direct: bool = True


class ModelBriefing(BaseModel):
    """The JSON a briefing, map or reduce request returns (unverified), read leniently: models differ in details."""

    tldr: str = ""
    key_points: list[str] = Field(default_factory=list)
    quotes: list[ModelQuote] = Field(default_factory=list)
    implications: list[str] = Field(default_factory=list)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ModelBriefing:
        """Read a reply; raises ValueError when it has none of the expected content (so the call is retried)."""
        tldr = data.get("tldr") or data.get("summary") or ""
        if isinstance(tldr, list):
            tldr = " ".join(_strings(tldr))
        quotes = []
        for item in data.get("quotes") or []:
            if not isinstance(item, dict):
                continue
            speaker, text = item.get("speaker") or item.get("name"), item.get("text") or item.get("quote")
            if isinstance(speaker, str) and isinstance(text, str) and speaker.strip() and text.strip():
                role = item.get("role") if isinstance(item.get("role"), str) else None
                direct = item.get("direct", item.get("kind", "direct") != "indirect") is not False
                quotes.append(ModelQuote(speaker=speaker, role=role, text=text, direct=direct))
        result = cls(
            tldr=tldr if isinstance(tldr, str) else "",
            key_points=_strings(data.get("key_points")),
            quotes=quotes,
            implications=_strings(data.get("implications")),
        )
        if not (result.tldr.strip() or result.key_points):
            raise ValueError("the reply has neither a tldr nor key points")
        return result
