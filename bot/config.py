"""One typed Settings object, built once at start-up from the environment and `.env`.

Nothing in the package reads the environment at import time: `__main__`/`cli` build a `Settings` and pass it (or the
parts a component needs) down. Every field is listed, commented, in `.env.example`; a test keeps the two in sync.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

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
        # `BRIEFBOT_X=` (empty, as in .env.example) means "not set": the default applies.
        env_ignore_empty=True,
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

    # --- quotas: briefings and answers that did new work, per UTC day; 0 means no limit ---------------------
    quota_user_per_day: int = 0
    quota_channel_per_day: int = 0

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
    llm_max_input_tokens: int | None = None
    llm_map_concurrency: int = 4
    llm_tokenizer_download: bool = False
    tiktoken_cache_dir: Path | None = None

    # --- feeds and digests ---------------------------------------------------------------------------------------
    feed_poll_minutes: int = 30  # how often each feed is checked (conditional GET: cheap when unchanged)
    feed_max_backoff_hours: float = 24.0  # failures back off 2x per error up to this
    feed_max_errors: int = 8  # consecutive failures before the subscription is disabled, with the reason
    feed_briefs_per_poll: int = 10  # item fetches + briefings per channel per poll cycle
    digest_grace_hours: float = 6.0  # misfire grace: a digest up to this late is still posted, once
    digest_stale_claim_minutes: int = 15  # an unposted claim older than this was a crash; recovered once
    digest_sweep_minutes: int = 5  # catch-up, claim recovery and settings re-sync interval

    # --- running: health, readiness and metrics endpoints ----------------------------------------------------
    health_host: str = "127.0.0.1"
    health_port: int = 9464  # 0 disables the endpoints

    # --- Slack (README "Slack") ------------------------------------------------------------------------------------
    slack_mode: Literal["socket", "http"] = "socket"  # socket: one workspace via websocket; http: Events API (+OAuth)
    slack_bot_token: SecretStr | None = None  # xoxb-…: one workspace (Socket Mode, or HTTP mode without OAuth)
    slack_app_token: SecretStr | None = None  # xapp-… with connections:write: Socket Mode
    slack_signing_secret: SecretStr | None = None  # HTTP mode: every request's signature is checked with it
    slack_client_id: str | None = None  # HTTP mode with OAuth: workspaces install via /slack/install
    slack_client_secret: SecretStr | None = None
    slack_token_key: SecretStr | None = None  # Fernet key(s), comma-separated, first encrypts: stored bot tokens
    slack_api_url: str = "https://slack.com/api/"  # GovSlack: https://slack-gov.com/api/
    slack_http_host: str = "0.0.0.0"  # noqa: S104  (HTTP mode listens for Slack; put a TLS proxy in front)
    slack_http_port: int = 3000
    slack_public_url: str | None = None  # https://briefbot.example.com: the OAuth redirect URL is built from it
    slack_max_concurrency: int = 16  # briefings/answers in progress at once; the rest wait with their placeholder

    # --- Discord (README "Discord") ----------------------------------------------------------------------------
    discord_token: SecretStr | None = None  # bot token (portal > Bot); `briefbot run` starts Discord when set
    discord_message_content: bool = True  # privileged intent for link watching; false: links need a mention
    discord_shard_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)  # shards this process runs: 0,1
    discord_shard_count: int | None = None  # total shards (large bots); unset: one unsharded connection
    discord_command_guild: int | None = None  # register app commands in this server only (instant; development)
    discord_sync_commands: bool = True  # register app commands at start-up
    discord_max_concurrency: int = 16  # briefings/answers in progress at once

    @field_validator("fetch_allow", "fetch_extra_ports", "discord_shard_ids", mode="before")
    @classmethod
    def _csv(cls, value: object) -> object:
        return _split_csv(value)

    @property
    def llm_configured(self) -> bool:
        """True when an LLM endpoint is usable: an API key, or a base URL (local servers often need no key)."""
        return self.llm_api_key is not None or self.llm_base_url is not None

    @property
    def slack_configured(self) -> bool:
        """True when a Slack credential is set, so `briefbot run` starts the Slack app."""
        return self.slack_bot_token is not None or self.slack_client_id is not None

    @property
    def discord_configured(self) -> bool:
        """True when a Discord bot token is set, so `briefbot run` starts the Discord bot."""
        return self.discord_token is not None

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
