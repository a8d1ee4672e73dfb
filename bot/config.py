"""One typed Settings object, built once at start-up from the environment and `.env`.

Nothing in the package reads the environment at import time: `__main__`/`cli` build a `Settings` and pass it (or the
parts a component needs) down. Every field is listed, commented, in `.env.example`; a test keeps the two in sync.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.errors import ConfigError

ENV_PREFIX = "BRIEFBOT_"


class EngineChoice(StrEnum):
    """Which briefing engine to use: `auto` picks the LLM when one is configured, else the offline engine."""

    AUTO = "auto"
    LLM = "llm"
    EXTRACTIVE = "extractive"


def _split_csv(value: object) -> object:
    """Allow comma-separated lists in the environment (`a,b,c`) as well as JSON lists."""
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.startswith("["):
            import json

            return json.loads(stripped)
        return [item.strip() for item in stripped.split(",") if item.strip()]
    return value


class Settings(BaseSettings):
    """Every knob of briefbot. Environment variables carry the `BRIEFBOT_` prefix (e.g. `BRIEFBOT_LOG_LEVEL`)."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        frozen=True,
    )

    # --- general -------------------------------------------------------------------------------------------------
    log_level: str = "INFO"
    data_dir: Path = Path("data")
    database_url: str | None = None

    # --- fetching (see docs: SSRF-safe fetching) ------------------------------------------------------------------
    fetch_allow: Annotated[list[str], NoDecode] = Field(default_factory=list)
    fetch_extra_ports: Annotated[list[int], NoDecode] = Field(default_factory=list)
    fetch_connect_timeout: float = 5.0
    fetch_read_timeout: float = 10.0
    fetch_total_timeout: float = 15.0
    fetch_max_bytes: int = 2_000_000
    feed_max_bytes: int = 5_000_000
    fetch_max_redirects: int = 3
    fetch_user_agent: str = "briefbot/0.1 (+https://github.com/briefbot/briefbot)"

    # --- extraction ----------------------------------------------------------------------------------------------
    extract_cpu_budget: float = 5.0

    # --- briefing engines ----------------------------------------------------------------------------------------
    engine: EngineChoice = EngineChoice.AUTO

    llm_base_url: str | None = None
    llm_api_key: SecretStr | None = None
    llm_model: str = "gpt-4o-mini"
    llm_api_version: str | None = None
    llm_context_tokens: int = 128_000
    llm_max_output_tokens: int = 1_200
    llm_price_input_per_1k: float = 0.0
    llm_price_output_per_1k: float = 0.0
    llm_connect_timeout: float = 5.0
    llm_request_timeout: float = 60.0
    llm_deadline: float = 90.0
    llm_max_retries: int = 2

    @field_validator("fetch_allow", "fetch_extra_ports", mode="before")
    @classmethod
    def _csv(cls, value: object) -> object:
        return _split_csv(value)

    @property
    def llm_configured(self) -> bool:
        """True when an LLM endpoint is usable: an API key, or a base URL (local servers often need no key)."""
        return self.llm_api_key is not None or self.llm_base_url is not None

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file under `data_dir`."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'briefbot.db').as_posix()}"


def load_settings(**overrides: object) -> Settings:
    """Build Settings from the environment and `.env`, reporting every invalid value in one readable message."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = ".".join(str(part) for part in err["loc"]) or "settings"
            problems.append(f"{ENV_PREFIX}{field.upper()}: {err['msg']}")
        raise ConfigError("Invalid configuration: " + "; ".join(problems)) from None
