"""Multi-workspace HTTP mode: the OAuth install flow, tokens encrypted at rest, single-use state, uninstalls; and the
Slack configuration checks."""

# ruff: noqa: F811  (pytest fixtures imported from store_support are injected by parameter name)

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.fernet import Fernet
from fake_slack import SlackWorld, Team, message, slack_world
from sqlalchemy import select
from store_support import clock, migrated_url, sqlite_template, store  # noqa: F401

from bot.adapters.slack_app import SlackConfig, _authorization_url
from bot.adapters.slack_oauth import BOT_SCOPES, SingleUseStateStore, SqlInstallationStore, TokenCipher
from bot.config import Settings
from bot.errors import ConfigError
from bot.store import ChannelKey, Store
from bot.store.tables import InstallationRow

# slack_sdk's own oauth.v2.access call uses an aiohttp API that aiohttp deprecates; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")
KEY = Fernet.generate_key().decode()
T2_TOKEN = "xoxb-team-two-secret"
LINK = "http://news.example/night-bus"


@pytest.fixture
def backend() -> str:
    return "sqlite"


@pytest.fixture
async def world(store: Store) -> AsyncIterator[SlackWorld]:
    config = {"bot_token": None, "client_id": "111.222", "client_secret": "client-secret", "token_key": KEY}
    async with slack_world(store, config=config) as opened:
        opened.fake.tokens[T2_TOKEN] = Team("T2", bot_user_id="UBOT2", bot_id="BBOT2")
        opened.fake.oauth_codes["good-code"] = {
            "ok": True,
            "access_token": T2_TOKEN,
            "token_type": "bot",
            "scope": "chat:write,commands",
            "bot_user_id": "UBOT2",
            "app_id": "A1",
            "team": {"id": "T2", "name": "Team two"},
            "enterprise": None,
            "is_enterprise_install": False,
            "authed_user": {"id": "U9"},
        }
        yield opened


async def get(world: SlackWorld, path: str, cookie: str | None = None) -> tuple[int, str, str | None]:
    headers = {"Cookie": cookie} if cookie else {}
    async with world.http.get(world.base + path, headers=headers, allow_redirects=False) as response:
        return response.status, await response.text(), response.headers.get("Set-Cookie")


async def install(world: SlackWorld, code: str = "good-code") -> tuple[int, str, str]:
    """Walk the install flow like a browser: the install page, then Slack's redirect back with code and state."""
    status, page, set_cookie = await get(world, "/slack/install")
    assert status == 200 and set_cookie
    authorize = re.search(r'href="([^"]+/oauth/v2/authorize[^"]+)"', page)
    assert authorize, page
    state = parse_qs(urlsplit(authorize.group(1).replace("&amp;", "&")).query)["state"][0]
    cookie = set_cookie.split(";")[0]
    status, body, _ = await get(world, f"/slack/oauth_redirect?code={code}&state={state}", cookie)
    return status, body, f"/slack/oauth_redirect?code={code}&state={state}|{cookie}"


async def rows(store: Store) -> list:
    async with store.engine.connect() as conn:
        return list(await conn.execute(select(InstallationRow)))


async def test_install_stores_the_token_encrypted_and_serves_the_team(world: SlackWorld, store: Store) -> None:
    status, _, _ = await install(world)
    assert status == 200
    (row,) = await rows(store)
    assert row.team_id == "T2" and row.bot_user_id == "UBOT2"
    assert T2_TOKEN not in row.bot_token and "xoxb" not in row.bot_token and "xoxb" not in (row.data or "")
    assert TokenCipher(KEY).decrypt(row.bot_token) == T2_TOKEN

    await world.event(message(f"<{LINK}>", ts="777.0001", channel="C2"), event_id="EvT2", team="T2")
    await world.fake.wait_calls("chat.update")
    await world.bot.drain()
    (post,) = world.fake.called("chat.postMessage")
    assert post.token == T2_TOKEN and post.params["thread_ts"] == "777.0001"


async def test_oauth_state_works_once(world: SlackWorld, store: Store) -> None:
    status, _, replay = await install(world)
    assert status == 200
    path, cookie = replay.split("|")
    status, _, _ = await get(world, path, cookie)
    assert status != 200
    assert len(world.fake.called("oauth.v2.access")) == 1  # the replayed code was never exchanged


async def test_forged_state_is_refused(world: SlackWorld, store: Store) -> None:
    forged = Fernet(Fernet.generate_key()).encrypt(b"nonce").decode()
    status, _, _ = await get(
        world, f"/slack/oauth_redirect?code=good-code&state={forged}", f"slack-app-oauth-state={forged}"
    )
    assert status != 200
    assert world.fake.called("oauth.v2.access") == [] and await rows(store) == []


async def test_expired_state_is_refused(store: Store) -> None:
    cipher = TokenCipher(KEY)
    issued = await SingleUseStateStore(cipher, service=None).async_issue()  # type: ignore[arg-type]
    later = SingleUseStateStore(cipher, service=None, ttl=600, clock=lambda: time.time() + 601)  # type: ignore[arg-type]
    assert await later.async_consume(issued) is False


async def test_uninstall_stops_everything_for_that_team(world: SlackWorld, store: Store) -> None:
    await install(world)
    team_two, team_one = ChannelKey("slack", "T2", "C2"), ChannelKey("slack", "T1", "C1")
    await world.service.subscribe(team_two, "http://news.example/feed.xml")
    await world.service.subscribe(team_one, "http://news.example/feed.xml")
    status, _ = await world.event({"type": "app_uninstalled"}, event_id="EvGone", team="T2")
    assert status == 200
    await world.bot.drain()
    assert await rows(store) == []
    assert [s.disabled_reason for s in await world.service.feeds(team_two)] == ["Slack: app_uninstalled"]
    assert [s.disabled_reason for s in await world.service.feeds(team_one)] == [None]

    await world.event(message(f"<{LINK}>", ts="777.0002", channel="C2"), event_id="EvAfter", team="T2")
    await world.bot.drain()
    assert world.fake.called("chat.postMessage") == []


async def test_revoking_only_user_tokens_changes_nothing(world: SlackWorld, store: Store) -> None:
    await install(world)
    revoked = {"type": "tokens_revoked", "tokens": {"oauth": ["U9"], "bot": []}}
    await world.event(revoked, event_id="EvUserTokens", team="T2")
    await world.bot.drain()
    assert len(await rows(store)) == 1
    revoked = {"type": "tokens_revoked", "tokens": {"oauth": [], "bot": ["UBOT2"]}}
    await world.event(revoked, event_id="EvBotTokens", team="T2")
    await world.bot.drain()
    assert await rows(store) == []


async def test_a_wrong_key_reads_as_not_installed(store: Store) -> None:
    from slack_sdk.oauth.installation_store.models.installation import Installation

    saved = SqlInstallationStore(store.engine, TokenCipher(KEY))
    await saved.async_save(Installation(user_id="U9", team_id="T3", bot_token="xoxb-three", bot_user_id="UB3"))
    assert (await saved.async_find_bot(enterprise_id=None, team_id="T3")).bot_token == "xoxb-three"  # type: ignore[union-attr]
    other = SqlInstallationStore(store.engine, TokenCipher(Fernet.generate_key().decode()))
    assert await other.async_find_bot(enterprise_id=None, team_id="T3") is None
    rotated = SqlInstallationStore(store.engine, TokenCipher(f"{Fernet.generate_key().decode()},{KEY}"))
    assert (await rotated.async_find_bot(enterprise_id=None, team_id="T3")).bot_token == "xoxb-three"  # type: ignore[union-attr]


# --- configuration -------------------------------------------------------------------------------------------------


def test_socket_mode_needs_both_tokens_reported_at_once() -> None:
    with pytest.raises(ConfigError) as raised:
        SlackConfig(mode="socket").check()
    assert "BRIEFBOT_SLACK_APP_TOKEN" in str(raised.value) and "BRIEFBOT_SLACK_BOT_TOKEN" in str(raised.value)
    with pytest.raises(ConfigError, match="must start with xapp-"):
        SlackConfig(mode="socket", app_token="xoxb-wrong", bot_token="xoxb-ok").check()


def test_http_mode_needs_a_signing_secret_and_a_token_or_oauth_with_a_key() -> None:
    with pytest.raises(ConfigError) as raised:
        SlackConfig(mode="http").check()
    assert "SIGNING_SECRET" in str(raised.value) and "CLIENT_ID" in str(raised.value)
    with pytest.raises(ConfigError, match="TOKEN_KEY"):
        SlackConfig(mode="http", signing_secret="s", client_id="1", client_secret="2").check()
    SlackConfig(mode="http", signing_secret="s", bot_token="xoxb-1").check()


def test_a_bad_token_key_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="Fernet"):
        TokenCipher("not-a-key")


def test_settings_without_slack_fields_give_the_defaults() -> None:
    config = SlackConfig.from_settings(Settings(fetch_max_bytes=123))
    assert config.mode == "socket" and config.file_max_bytes == 123 and config.base_url == "https://slack.com/api/"


def test_govslack_authorizes_on_its_own_host() -> None:
    assert _authorization_url("https://slack-gov.com/api/") == "https://slack-gov.com/oauth/v2/authorize"
    assert _authorization_url("https://slack.com/api/") == "https://slack.com/oauth/v2/authorize"


# --- the app manifest ----------------------------------------------------------------------------------------------

MANIFEST = Path(__file__).resolve().parents[1] / "deploy" / "slack-app-manifest.yml"


def manifest_list(key: str) -> list[str]:
    """The `- item` lines under `key:` in the manifest (no YAML library needed for this flat list)."""
    lines = MANIFEST.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == f"{key}:")
    items = []
    for line in lines[start + 1 :]:
        if not line.strip().startswith("- "):
            break
        items.append(line.strip()[2:])
    return items


def test_manifest_asks_for_exactly_the_scopes_and_events_used() -> None:
    assert sorted(manifest_list("bot")) == sorted(BOT_SCOPES)
    assert set(manifest_list("bot_events")) == {
        "app_home_opened",
        "app_mention",
        "app_uninstalled",
        "message.channels",
        "message.groups",
        "tokens_revoked",
    }
    text = MANIFEST.read_text()
    assert "command: /brief" in text and "callback_id: brief_this" in text
    assert "socket_mode_enabled: true" in text
