"""Multi-workspace installs: an OAuth installation store in our database, tokens encrypted at rest, single-use state.

- `TokenCipher` wraps `cryptography`'s Fernet (AES-128-CBC + HMAC-SHA256, timestamped). The key comes from the
  `BRIEFBOT_SLACK_TOKEN_KEY` setting; several comma-separated keys allow rotation (the first encrypts, all decrypt).
- `SqlInstallationStore` keeps one row per workspace in the `installations` table; the bot token and the installation
  JSON are stored as ciphertext only, so a leaked database dump holds no usable token.
- `SingleUseStateStore`: the OAuth `state` is a Fernet token (unforgeable, expires after `ttl` seconds) around a random
  nonce, and it is consumed by claiming the nonce through `Service.claim_event`: an atomic insert, so a state works
  once even across replicas. (Bolt also binds it to the browser with a cookie.) Claims must be kept at least `ttl`
  seconds when pruning processed events.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.errors import ConfigError
from bot.service import Service
from bot.store import ChannelKey
from bot.store.tables import InstallationRow

log = logging.getLogger(__name__)

OAUTH_STATE_PLATFORM = "slack-oauth-state"  # the claim namespace in processed_events
STATE_TTL_SECONDS = 600
# Bot-token scopes requested on install: exactly those in deploy/slack-app-manifest.yml.
BOT_SCOPES = (
    "app_mentions:read",
    "channels:history",
    "groups:history",
    "chat:write",
    "commands",
    "files:read",
)


class TokenCipher:
    """Encrypts and decrypts tokens with Fernet; `keys` is one key or a comma-separated list (first one encrypts)."""

    def __init__(self, keys: str) -> None:
        try:
            fernets = [Fernet(key.strip().encode()) for key in keys.split(",") if key.strip()]
        except (ValueError, TypeError):
            raise ConfigError(
                "BRIEFBOT_SLACK_TOKEN_KEY must be Fernet keys (32 url-safe base64-encoded bytes); make one with: "
                'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
            ) from None
        if not fernets:
            raise ConfigError("BRIEFBOT_SLACK_TOKEN_KEY is empty.")
        self._fernet = MultiFernet(fernets)

    def encrypt(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode()).decode("ascii")

    def decrypt(self, token: str, *, ttl: int | None = None, now: float | None = None) -> str:
        """The plain text; raises `InvalidToken` for a forged, corrupted or (with `ttl`) expired token."""
        if ttl is not None and now is not None:
            return self._fernet.decrypt_at_time(token.encode("ascii"), ttl, int(now)).decode()
        return self._fernet.decrypt(token.encode("ascii"), ttl=ttl).decode()


def _json_default(value: object) -> object:
    if isinstance(value, datetime):
        return value.timestamp()
    raise TypeError(f"cannot store {type(value).__name__} in an installation")


class SqlInstallationStore(AsyncInstallationStore):
    """Bolt's installation store over the `installations` table (one row per enterprise + team), encrypted."""

    def __init__(self, engine: AsyncEngine, cipher: TokenCipher) -> None:
        self._engine = engine
        self._cipher = cipher
        self._postgres = engine.dialect.name == "postgresql"

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_save(self, installation: Installation) -> None:
        """Insert or replace the workspace's installation (a re-install refreshes the token)."""
        if not installation.bot_token:
            raise ValueError("briefbot installs need a bot token")
        data = json.dumps(installation.to_dict_for_copying(), default=_json_default)
        now = datetime.now(UTC)
        values = {
            "enterprise_id": installation.enterprise_id or "",
            "team_id": installation.team_id or "",
            "bot_user_id": installation.bot_user_id,
            "bot_token": self._cipher.encrypt(installation.bot_token),
            "data": self._cipher.encrypt(data),
            "updated_at": now,
        }
        insert = postgresql.insert(InstallationRow) if self._postgres else sqlite.insert(InstallationRow)
        stmt = insert.values(**values, installed_at=now).on_conflict_do_update(
            index_elements=["enterprise_id", "team_id"], set_=values
        )
        async with self._engine.begin() as conn:
            await conn.execute(stmt)

    async def async_save_bot(self, bot: Bot) -> None:
        """Token rotation saves a refreshed bot: keep the installation, swap its bot fields."""
        installation = await self.async_find_installation(enterprise_id=bot.enterprise_id, team_id=bot.team_id)
        fields: dict[str, Any] = installation.to_dict_for_copying() if installation else {}
        fields.update(
            enterprise_id=bot.enterprise_id,
            team_id=bot.team_id,
            bot_token=bot.bot_token,
            bot_id=bot.bot_id,
            bot_user_id=bot.bot_user_id,
            bot_scopes=bot.bot_scopes,
            bot_refresh_token=bot.bot_refresh_token,
            bot_token_expires_at=bot.bot_token_expires_at,
            user_id=fields.get("user_id") or "",
        )
        await self.async_save(Installation(**fields))

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        """The workspace's installation (org-wide installs are looked up by enterprise alone)."""
        team = "" if is_enterprise_install else (team_id or "")
        query = select(InstallationRow.data).where(
            InstallationRow.enterprise_id == (enterprise_id or ""), InstallationRow.team_id == team
        )
        async with self._engine.connect() as conn:
            data = (await conn.execute(query)).scalar()
        if data is None:
            return None
        try:
            return Installation(**json.loads(self._cipher.decrypt(data)))
        except InvalidToken:
            # Wrong or rotated-out key: treat as not installed (Bolt then asks to reinstall) rather than crash.
            log.error("cannot decrypt the Slack installation of team %s: check BRIEFBOT_SLACK_TOKEN_KEY", team_id)
            return None

    async def async_find_bot(
        self, *, enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None = False
    ) -> Bot | None:
        installation = await self.async_find_installation(
            enterprise_id=enterprise_id, team_id=team_id, is_enterprise_install=is_enterprise_install
        )
        return installation.to_bot() if installation else None

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        stmt = delete(InstallationRow).where(
            InstallationRow.enterprise_id == (enterprise_id or ""), InstallationRow.team_id == (team_id or "")
        )
        async with self._engine.begin() as conn:
            await conn.execute(stmt)

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self.async_delete_installation(enterprise_id=enterprise_id, team_id=team_id)


class SingleUseStateStore(AsyncOAuthStateStore):
    """OAuth `state` values that expire after `ttl` seconds and are accepted once (see the module docstring)."""

    def __init__(
        self,
        cipher: TokenCipher,
        service: Service,
        *,
        ttl: int = STATE_TTL_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._cipher = cipher
        self._service = service
        self._ttl = ttl
        self._clock = clock

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        return self._cipher.encrypt(secrets.token_urlsafe(24))

    async def async_consume(self, state: str) -> bool:
        try:
            nonce = self._cipher.decrypt(state, ttl=self._ttl, now=self._clock())
        except (InvalidToken, ValueError, UnicodeError):
            return False
        return await self._service.claim_event(ChannelKey(OAUTH_STATE_PLATFORM, "", ""), nonce)
