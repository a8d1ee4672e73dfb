"""Building and running the Slack app: a Bolt `AsyncApp` in Socket Mode or HTTP mode (Events API + OAuth).

`briefbot run` calls `run_socket_mode(settings, service)` or `run_http(settings, service)`, per
`BRIEFBOT_SLACK_MODE`. Both build the same app (`build_slack_app`):

- the Web API client talks to `BRIEFBOT_SLACK_API_URL` (GovSlack and the tests' fake use other hosts), retries
  connection errors, and retries 429s after `Retry-After` (slack_sdk does not unless a handler is installed);
- listeners run before the response is returned (`process_before_response`) and only acknowledge and start a
  background task, so the work is ours to track and the response still leaves at once;
- in HTTP mode Bolt's signature check runs before authorization (an unsigned request costs no database read), is
  given the raw body, answers a missing or non-numeric timestamp with 401 rather than a 500, and logs no body.

Socket Mode is for one workspace (bot token + app-level token). HTTP mode serves one workspace with a bot token, or
any number through the OAuth install flow (`/slack/install`) with the installation store of `slack_oauth`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, SecretStr
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.async_authorize import AsyncInstallationStoreAuthorize
from slack_bolt.middleware.request_verification.async_request_verification import AsyncRequestVerification
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.adapters.slack import DigestFn, SlackBot
from bot.adapters.slack_files import FileReader
from bot.adapters.slack_oauth import BOT_SCOPES, SingleUseStateStore, SqlInstallationStore, TokenCipher
from bot.config import Settings
from bot.errors import ConfigError
from bot.service import Service

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
RATE_LIMIT_RETRIES = 3


class SlackConfig(BaseModel):
    """The Slack part of Settings. `from_settings` reads the `slack_*` fields (see docs/slack.md for each)."""

    model_config = ConfigDict(frozen=True)

    mode: Literal["socket", "http"] = "socket"
    bot_token: SecretStr | None = None  # xoxb-…: one workspace (Socket Mode, or HTTP without OAuth)
    app_token: SecretStr | None = None  # xapp-… with connections:write: Socket Mode
    signing_secret: SecretStr | None = None  # HTTP mode
    client_id: str | None = None  # OAuth (multi-workspace HTTP mode)
    client_secret: SecretStr | None = None
    token_key: SecretStr | None = None  # Fernet key(s) encrypting stored tokens; required with OAuth
    api_url: str = "https://slack.com/api/"
    http_host: str = "0.0.0.0"  # noqa: S104 (HTTP mode must accept Slack's requests; put a TLS proxy in front)
    http_port: int = 3000
    public_url: str | None = None  # e.g. https://briefbot.example.com: the OAuth redirect URL is built from it
    max_concurrency: int = 16
    file_max_bytes: int = 2_000_000

    @classmethod
    def from_settings(cls, settings: Settings | SlackConfig) -> SlackConfig:
        """The Slack configuration in `settings`; fields Settings does not (yet) have keep their defaults."""
        if isinstance(settings, SlackConfig):
            return settings
        values: dict[str, Any] = {
            name: getattr(settings, f"slack_{name}") for name in cls.model_fields if hasattr(settings, f"slack_{name}")
        }
        values["file_max_bytes"] = settings.fetch_max_bytes
        return cls(**values)

    @property
    def oauth(self) -> bool:
        return bool(self.client_id and self.client_secret)

    @property
    def base_url(self) -> str:
        return self.api_url if self.api_url.endswith("/") else self.api_url + "/"

    def check(self) -> None:
        """Raise one `ConfigError` listing every missing or malformed credential for the chosen mode."""
        problems: list[str] = []

        def need(value: SecretStr | str | None, name: str, prefix: str = "") -> None:
            text = value.get_secret_value() if isinstance(value, SecretStr) else value
            if not text:
                problems.append(f"BRIEFBOT_SLACK_{name} is required in {self.mode} mode")
            elif prefix and not text.startswith(prefix):
                problems.append(f"BRIEFBOT_SLACK_{name} must start with {prefix}")

        if self.mode == "socket":
            need(self.app_token, "APP_TOKEN", "xapp-")
            need(self.bot_token, "BOT_TOKEN", "xoxb-")
        else:
            need(self.signing_secret, "SIGNING_SECRET")
            if self.oauth:
                need(self.token_key, "TOKEN_KEY")
            elif self.bot_token is None:
                problems.append("HTTP mode needs BRIEFBOT_SLACK_BOT_TOKEN or BRIEFBOT_SLACK_CLIENT_ID/CLIENT_SECRET")
            else:
                need(self.bot_token, "BOT_TOKEN", "xoxb-")
        if not self.base_url.startswith(("https://", "http://")):
            problems.append("BRIEFBOT_SLACK_API_URL must be an http(s) URL")
        if problems:
            raise ConfigError("Invalid Slack configuration: " + "; ".join(problems) + ".")


class VerifiedRequests(AsyncRequestVerification):
    """Bolt's `v0` signature check (HMAC-SHA256 of the raw body, 5-minute window), hardened for our needs."""

    async def async_process(self, *, req: AsyncBoltRequest, resp: BoltResponse, next: Any) -> BoltResponse:
        timestamp = req.headers.get("x-slack-request-timestamp", [""])[0]
        if req.mode != "socket_mode" and not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
            # Bolt would call int() on it and answer a 500 (also for 5,000 digits: Python's int() limit); a malformed
            # request is the client's fault.
            log.warning("Rejected a Slack request: missing or non-numeric timestamp")
            return self._build_error_response()
        return await super().async_process(req=req, resp=resp, next=next)

    def _debug_log_error(self, signature: str, timestamp: str, body: str) -> None:
        # Bolt's version logs the body (user messages, maybe tokens). The timestamp is numeric by now.
        log.warning(
            "Rejected a Slack request: bad signature (check BRIEFBOT_SLACK_SIGNING_SECRET) or timestamp %s outside"
            " the 5-minute window",
            timestamp,
        )


class SingleTeam:
    """One workspace's authorization: `auth.test` once, shared by every request.

    Bolt's single-team authorization calls `auth.test` for each request that arrives before the first call returns
    (50 at start-up in a burst); here concurrent callers wait for one call, which `start` also makes up front so a
    revoked or mistyped token stops the process with a clear message instead of failing every event.
    """

    def __init__(self, client: AsyncWebClient, token: str) -> None:
        self._client = client
        self._token = token
        self._lock = asyncio.Lock()
        self._result: AuthorizeResult | None = None

    async def result(self) -> AuthorizeResult:
        async with self._lock:
            if self._result is None:
                response = await self._client.auth_test(token=self._token)
                self._result = AuthorizeResult.from_auth_test_response(
                    auth_test_response=response, bot_token=self._token
                )
            return self._result

    def authorizer(self) -> Callable[[], Awaitable[AuthorizeResult]]:
        """The `authorize` function for Bolt (a plain function: Bolt passes arguments by name, and this needs none)."""

        async def authorize() -> AuthorizeResult:
            return await self.result()

        return authorize

    async def start(self) -> None:
        try:
            await self.result()
        except SlackApiError as exc:
            code = exc.response.get("error")
            raise ConfigError(f"Slack refused BRIEFBOT_SLACK_BOT_TOKEN ({code}); copy the bot token again.") from None


@dataclass
class SlackRuntime:
    """The Bolt app and the bot behind it. `start` checks the bot token; `aclose` stops the background work."""

    app: AsyncApp
    bot: SlackBot
    config: SlackConfig
    single_team: SingleTeam | None = None

    async def start(self) -> None:
        if self.single_team is not None:
            await self.single_team.start()

    async def aclose(self) -> None:
        await self.bot.aclose()


def make_client(config: SlackConfig) -> AsyncWebClient:
    """A Web API client for the configured host that retries connection errors and honours `Retry-After` on 429.

    It holds no token: Bolt gives each request a copy carrying the token its authorization found.
    """
    retry = [AsyncConnectionErrorRetryHandler(), AsyncRateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES)]
    return AsyncWebClient(base_url=config.base_url, retry_handlers=retry)


def build_slack(settings: Settings | SlackConfig, service: Service, *, digest: DigestFn | None = None) -> SlackRuntime:
    """The app, the bot and their configuration (validated). Must be called inside a running event loop."""
    config = SlackConfig.from_settings(settings)
    config.check()
    secret = config.signing_secret.get_secret_value() if config.signing_secret else None
    options: dict[str, Any] = {
        "name": "briefbot",
        "process_before_response": True,
        "request_verification_enabled": False,  # replaced by VerifiedRequests, placed before authorization
        "signing_secret": secret or "",
    }
    if config.mode == "http":
        assert secret is not None
        options["before_authorize"] = VerifiedRequests(secret)
    installations: SqlInstallationStore | None = None
    if config.mode == "http" and config.oauth:
        assert config.token_key is not None and config.client_secret is not None
        cipher = TokenCipher(config.token_key.get_secret_value())
        installations = SqlInstallationStore(service.store.engine, cipher)
        client = make_client(config)
        options["client"] = client
        options["installation_store"] = installations
        options["installation_store_bot_only"] = True
        # Our own authorize, to cache auth.test per token (Bolt's default calls it on every event).
        options["authorize"] = AsyncInstallationStoreAuthorize(
            installation_store=installations,
            client_id=config.client_id,
            client_secret=config.client_secret.get_secret_value(),
            logger=log,
            bot_only=True,
            cache_enabled=True,
            client=client,
        )
        options["oauth_settings"] = AsyncOAuthSettings(
            client_id=config.client_id,
            client_secret=config.client_secret.get_secret_value(),
            scopes=list(BOT_SCOPES),
            redirect_uri=f"{config.public_url.rstrip('/')}{REDIRECT_PATH}" if config.public_url else None,
            install_path=INSTALL_PATH,
            redirect_uri_path=REDIRECT_PATH,
            authorization_url=_authorization_url(config.base_url),
            installation_store=installations,
            installation_store_bot_only=True,
            state_store=SingleUseStateStore(cipher, service),
        )
        single_team = None
    else:
        assert config.bot_token is not None
        client = make_client(config)
        single_team = SingleTeam(client, config.bot_token.get_secret_value())
        options["client"] = client
        options["authorize"] = single_team.authorizer()
    app = AsyncApp(**options)
    files = FileReader(config.base_url, max_bytes=config.file_max_bytes)
    bot = SlackBot(
        service, files=files, digest=digest, installations=installations, max_concurrency=config.max_concurrency
    )
    bot.register(app)
    return SlackRuntime(app, bot, config, single_team)


def build_slack_app(settings: Settings | SlackConfig, service: Service, *, digest: DigestFn | None = None) -> AsyncApp:
    """The configured Bolt `AsyncApp` with briefbot's listeners."""
    return build_slack(settings, service, digest=digest).app


def _authorization_url(base_url: str) -> str:
    # https://slack.com/api/ -> https://slack.com/oauth/v2/authorize (GovSlack: slack-gov.com alike).
    root = base_url.rstrip("/").removesuffix("/api")
    return f"{root}/oauth/v2/authorize"


# --- HTTP mode ---------------------------------------------------------------------------------------------------


def web_app(runtime: SlackRuntime) -> web.Application:
    """The aiohttp application: Events API/commands/interactivity, the OAuth flow when enabled, and a health check."""
    app = runtime.app

    async def events(request: web.Request) -> web.Response:
        raw = await request.read()  # the raw bytes: the signature is over exactly these
        try:
            bolt_request = AsyncBoltRequest(
                body=raw.decode("utf-8"), query=request.query_string, headers=dict(request.headers)
            )
        except ValueError:  # undecodable bytes or a malformed JSON/form body
            return web.Response(status=400, text="malformed request")
        return await to_aiohttp_response(await app.async_dispatch(bolt_request))

    async def oauth(request: web.Request) -> web.Response:
        flow = app.oauth_flow
        assert flow is not None
        bolt_request = AsyncBoltRequest(body="", query=request.query_string, headers=dict(request.headers))
        if request.path == INSTALL_PATH:
            return await to_aiohttp_response(await flow.handle_installation(bolt_request))
        return await to_aiohttp_response(await flow.handle_callback(bolt_request))

    async def health(_request: web.Request) -> web.Response:
        return web.Response(text="ok")

    application = web.Application(client_max_size=1_000_000)
    application.router.add_post(EVENTS_PATH, events)
    application.router.add_get("/healthz", health)
    # Our config, not `app.oauth_flow`: Bolt builds a flow of its own (storing tokens in plain files) when it finds
    # SLACK_CLIENT_ID/SLACK_CLIENT_SECRET in the environment, and that one must never be served.
    if runtime.config.oauth:
        application.router.add_get(INSTALL_PATH, oauth)
        application.router.add_get(REDIRECT_PATH, oauth)
    return application


@asynccontextmanager
async def serve_http(runtime: SlackRuntime, host: str, port: int) -> AsyncIterator[int]:
    """Serve the app on host:port (0 picks a free port) and yield the bound port; stops the server on exit."""
    await runtime.start()
    runner = web.AppRunner(web_app(runtime), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0][1] if runner.addresses else port
    try:
        yield int(bound)
    finally:
        await runner.cleanup()


async def run_http(
    settings: Settings | SlackConfig,
    service: Service,
    *,
    digest: DigestFn | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Serve Slack over HTTP until `stop` is set (or the task is cancelled)."""
    runtime = build_slack(settings, service, digest=digest)
    config = runtime.config
    try:
        async with serve_http(runtime, config.http_host, config.http_port) as port:
            log.info("Slack HTTP mode: listening on %s:%d%s", config.http_host, port, EVENTS_PATH)
            await (stop or asyncio.Event()).wait()
    finally:
        await runtime.aclose()


async def run_socket_mode(
    settings: Settings | SlackConfig,
    service: Service,
    *,
    digest: DigestFn | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Connect to Slack over Socket Mode and serve until `stop` is set (or the task is cancelled)."""
    await serve_socket_mode(build_slack(settings, service, digest=digest), stop)


async def check_app_token(runtime: SlackRuntime) -> None:
    """Ask Slack for a Socket Mode URL once: a refused app-level token is a configuration error now, instead of the
    SDK retrying it every few seconds forever."""
    app_token = runtime.config.app_token
    assert app_token is not None
    try:
        await runtime.app.client.apps_connections_open(app_token=app_token.get_secret_value())
    except SlackApiError as exc:
        code = exc.response.get("error")
        raise ConfigError(
            f"Slack refused BRIEFBOT_SLACK_APP_TOKEN ({code}); it must be an app-level token (xapp-...) with the "
            "connections:write scope."
        ) from None


@dataclass
class SocketModeLink:
    """The Socket Mode connection as /readyz sees it: connected now, not merely started (the SDK reconnects on its
    own after a drop, and events sent meanwhile wait at Slack, which retries them)."""

    handler: AsyncSocketModeHandler | None = None

    async def connected(self) -> bool:
        return self.handler is not None and await self.handler.client.is_connected()


async def serve_socket_mode(
    runtime: SlackRuntime, stop: asyncio.Event | None = None, link: SocketModeLink | None = None
) -> None:
    """Serve `runtime` over Socket Mode (envelopes go through the same `async_dispatch`); closes it at the end.
    `link`, if given, is pointed at the connection, for readiness checks."""
    app_token = runtime.config.app_token
    assert app_token is not None
    handler = AsyncSocketModeHandler(runtime.app, app_token.get_secret_value(), web_client=runtime.app.client)
    if link is not None:
        link.handler = handler
    try:
        await runtime.start()
        await check_app_token(runtime)
        await handler.connect_async()
        log.info("Slack Socket Mode: connected")
        await (stop or asyncio.Event()).wait()
    finally:
        await handler.close_async()
        await runtime.aclose()
