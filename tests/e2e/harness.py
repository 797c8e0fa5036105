"""Drive the running app as Slack does: signed requests over loopback, stand-ins for Slack and the gateway."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bot.service import Service
from bot.settings import Settings, load_settings
from bot.sim.gateway import Simulator
from bot.sim.signing import interaction_body, post_signed, slash_command_body
from bot.sim.slack import SlackStandIn
from storage.models import Job
from tests.store_tools import StoreForTests

BOT_TOKEN = "xoxb-test-bot-token-0123456789"
APP_TOKEN = "xapp-test-app-token-0123456789"
SIGNING_SECRET = "test-signing-secret-abcdef"
API_KEY = "sk-test-gateway-key-0123456789"
ADMIN = "U0ADMIN01"
ALICE = "U0ALICE01"
BOB = "U0BOB0001"
CHANNEL = "C_PUBLIC"


def test_settings(*, sim: Simulator, slack: SlackStandIn, db: Path | str, **overrides: Any) -> Settings:
    """Settings for an app under test: fast polls and edits, loopback everything."""
    values: dict[str, Any] = {
        "slack_bot_token": BOT_TOKEN,
        "slack_signing_secret": SIGNING_SECRET,
        "slack_api_url": slack.api_url,
        "mode": "http",
        "host": "127.0.0.1",
        "port": 0,
        "aigateway_api_key": API_KEY,
        "aigateway_base_url": sim.base_url,
        "media_origins": sim.media_origin,
        "database_url": db if str(db).startswith(("sqlite:", "postgres")) else f"sqlite:///{db}",
        "admins": ADMIN,
        "status_edit_interval_s": 0.2,
        "poll_max_interval_s": 0.2,
        "lease_s": 3.0,
        "replica_id": "test-replica",
        "health_port": 0,
    }
    values.update(overrides)
    return load_settings(**values)


@dataclass
class RunningApp:
    """A started Service plus the clients to talk to it."""

    service: Service
    slack: SlackStandIn
    sim: Simulator
    http: httpx.AsyncClient

    @property
    def store(self) -> StoreForTests:
        """The running app's store, with the tests' audit and shortcuts."""
        assert self.service.deps is not None
        return StoreForTests.view(self.service.deps.store)

    async def command(
        self,
        text: str,
        *,
        user: str = ALICE,
        channel: str = CHANNEL,
        command: str = "/video",
        response_url: str | None = None,
        timestamp: int | None = None,
        secret: str = SIGNING_SECRET,
    ) -> httpx.Response:
        """POST a signed slash command to /slack/events, as Slack does."""
        body = slash_command_body(
            command=command,
            text=text,
            user_id=user,
            channel_id=channel,
            response_url=response_url or self.slack.new_response_url(),
        )
        return await post_signed(self.http, self.service.events_url, body, secret, timestamp=timestamp)

    async def interact(self, payload: dict[str, Any]) -> httpx.Response:
        """POST a signed interaction payload (block_actions, view_submission)."""
        body = interaction_body(payload)
        return await post_signed(self.http, self.service.events_url, body, SIGNING_SECRET)

    async def wait_idle(self, timeout: float = 30.0) -> None:
        """Until every job task of this app has finished."""
        assert self.service.runner is not None
        await asyncio.sleep(0.05)
        await asyncio.wait_for(self.service.runner.wait_idle(), timeout)

    async def jobs(self, user: str = ALICE) -> list[Job]:
        return await self.store.user_jobs(user, 100)

    async def wait_for(self, predicate: Any, timeout: float = 20.0) -> None:
        """Poll an async or sync predicate until it holds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = predicate()
            if asyncio.iscoroutine(result):
                result = await result
            if result:
                return
            await asyncio.sleep(0.05)
        raise AssertionError("condition not reached in time")


def ack_text(response: httpx.Response) -> str:
    """The ephemeral text Bolt returned in the ack (empty when none)."""
    if not response.content:
        return ""
    try:
        return str(response.json().get("text", ""))
    except ValueError:
        return response.text
