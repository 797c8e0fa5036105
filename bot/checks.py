"""Start-up checks: the database, the Slack tokens and their scopes, the gateway. One line each.

`videobot run` runs them before it serves: a refusal (a token Slack rejects, a scope missing, a
database that cannot be opened) stops it with exit status 2; Slack out of reach is waited out, so
a network blip at deploy time does not crash-loop the app. `videobot check` prints them all, the
gateway included, as a checklist. No line ever holds a secret.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import httpx
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.manifest import BOT_SCOPES
from bot.settings import Settings
from bot.slack.errors import classify
from bot.stopping import unless_stopped
from storage import open_database, sqlite_path
from storage.errors import SlackRateLimited, SlackTransientError

log = logging.getLogger(__name__)

CHECK_TIMEOUT_S = 10.0
RETRY_MAX_S = 30.0


@dataclass(frozen=True)
class Check:
    """One line of the checklist; `unreachable` when the service could not be asked at all."""

    name: str
    ok: bool
    detail: str
    unreachable: bool = False

    def line(self) -> str:
        """`ok    name: detail` or `FAIL  name: detail`."""
        return f"{'ok  ' if self.ok else 'FAIL'}  {self.name}: {self.detail}"


def safe_url(url: str) -> str:
    """A database URL without its password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


async def check_database(settings: Settings, *, may_create: bool) -> Check:
    """The database opens and answers; a SQLite file not there yet is fine only if it may be created."""
    url = settings.database_url
    name = "VIDEOBOT_DATABASE_URL"
    if url.startswith("sqlite:"):
        try:
            path = Path(sqlite_path(url))
        except ValueError as exc:
            return Check(name, False, str(exc))
        where = f"{url} (file {path.resolve()})"
        if not path.exists() and not may_create:
            ok = path.resolve().parent.is_dir()
            return Check(name, ok, f"{where} does not exist yet; `videobot run` creates it")
    else:
        where = safe_url(url)
    try:
        db = await asyncio.wait_for(open_database(url), CHECK_TIMEOUT_S)
        try:
            await db.fetch_statement("SELECT 1")
        finally:
            await db.close()
    except Exception as exc:
        reason = str(exc).replace(urlsplit(url).password or "\0", "***") or type(exc).__name__
        return Check(name, False, f"cannot open {where}: {reason}")
    return Check(name, True, where)


def _slack(settings: Settings, token: str) -> AsyncWebClient:
    return AsyncWebClient(
        token=token, base_url=settings.slack_api_url, timeout=int(CHECK_TIMEOUT_S), retry_handlers=[]
    )


def _refused_or_unreachable(settings: Settings, name: str, exc: Exception, method: str, what: str) -> Check:
    """A refusal is final; a rate limit, a Slack outage or no connection are worth waiting out."""
    err = classify(exc, method)
    if isinstance(err, SlackRateLimited | SlackTransientError):
        cause = err.error or (f"HTTP {err.status}" if err.status else type(exc).__name__)
        return Check(
            name, False, f"cannot reach Slack at {settings.slack_api_url}: {cause}", unreachable=True
        )
    return Check(name, False, f"Slack refused it ({err.error or f'HTTP {err.status}'}); {what}")


def _scopes(headers: Any) -> set[str]:
    for key, value in dict(headers or {}).items():
        if str(key).lower() == "x-oauth-scopes":
            return {s.strip() for s in str(value).split(",") if s.strip()}
    return set()


async def check_bot_token(settings: Settings) -> list[Check]:
    """auth.test with the bot token, then its granted scopes (the x-oauth-scopes answer header,
    https://api.slack.com/authentication/token-types) against the scopes the code uses."""
    name = "SLACK_BOT_TOKEN"
    if settings.slack_bot_token is None:
        return [Check(name, False, "not set")]
    client = _slack(settings, settings.slack_bot_token.get_secret_value())
    try:
        answer = await client.auth_test()
    except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
        hint = "copy the Bot User OAuth Token (xoxb-) again"
        return [_refused_or_unreachable(settings, name, exc, "auth.test", hint)]
    who = f"bot @{answer.get('user', '?')} in workspace {answer.get('team', '?')}"
    granted = _scopes(answer.headers)
    missing = [scope for scope in BOT_SCOPES if scope not in granted]
    scopes = Check(
        "bot scopes",
        not missing,
        f"missing {', '.join(missing)}: add them (or paste `videobot manifest`) and reinstall the app"
        if missing
        else ", ".join(BOT_SCOPES),
    )
    return [Check(name, True, who), scopes]


async def check_app_token(settings: Settings) -> list[Check]:
    """Socket Mode only: apps.connections.open with the app-level token (needs connections:write)."""
    if settings.effective_mode != "socket":
        return []
    name = "SLACK_APP_TOKEN"
    if settings.slack_app_token is None:
        return [Check(name, False, "not set (Socket Mode needs an xapp- token)")]
    client = _slack(settings, settings.slack_app_token.get_secret_value())
    try:
        await client.apps_connections_open(app_token=settings.slack_app_token.get_secret_value())
    except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
        return [
            _refused_or_unreachable(
                settings, name, exc, "apps.connections.open", "make an app-level token with connections:write"
            )
        ]
    return [Check(name, True, "Socket Mode connections allowed")]


async def check_gateway(settings: Settings) -> Check:
    """The gateway answers and takes the key: reading a job that does not exist costs nothing."""
    name = "AIGATEWAY_API_KEY"
    if settings.aigateway_api_key is None:
        return Check(name, False, "not set")
    url = f"{settings.aigateway_base_url.rstrip('/')}/jobs/videobot-check"
    headers = {"Authorization": f"Bearer {settings.aigateway_api_key.get_secret_value()}"}
    try:
        async with httpx.AsyncClient(timeout=CHECK_TIMEOUT_S) as http:
            response = await http.get(url, headers=headers)
    except httpx.HTTPError as exc:
        base = settings.aigateway_base_url
        return Check(name, False, f"cannot reach {base}: {type(exc).__name__}", unreachable=True)
    if response.status_code in (401, 403):
        return Check(name, False, f"the gateway refused the key (HTTP {response.status_code})")
    if response.status_code >= 500:
        return Check(name, False, f"the gateway answers HTTP {response.status_code}", unreachable=True)
    return Check(name, True, f"{settings.aigateway_base_url} answers and takes the key")


async def run_checks(settings: Settings, *, gateway: bool, may_create_db: bool) -> list[Check]:
    """Every check, concurrently, in checklist order."""
    database, bot, app = await asyncio.gather(
        check_database(settings, may_create=may_create_db),
        check_bot_token(settings),
        check_app_token(settings),
    )
    results = [database, *bot, *app]
    if gateway:
        results.append(await check_gateway(settings))
    return results


async def until_checked(settings: Settings, stop: asyncio.Event) -> list[str]:
    """`videobot run`'s checks: the lines to print when one fails for good, or [] to go on (also when
    `stop` is set). Slack out of reach is retried, one warning line per attempt, until `stop`."""
    delay = 1.0
    while True:
        finished, results = await unless_stopped(
            run_checks(settings, gateway=False, may_create_db=True), stop
        )
        if not finished or results is None:
            return []
        failed = [c for c in results if not c.ok]
        if any(not c.unreachable for c in failed):
            return [f"start-up check failed: {c.name}: {c.detail}" for c in failed]
        if not failed:
            return []
        for check in failed:
            log.warning("%s; retrying in %.0f s", check.detail, delay, extra={"event": "start.waiting"})
        if (await unless_stopped(asyncio.sleep(delay), stop))[0] is False:
            return []
        delay = min(delay * 2, RETRY_MAX_S)
