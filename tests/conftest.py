from __future__ import annotations

import io
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.logs import setup_logging
from bot.service import Service
from bot.sim.gateway import Simulator
from bot.sim.slack import SlackStandIn
from tests.e2e.harness import API_KEY, APP_TOKEN, BOT_TOKEN, RunningApp, test_settings


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    """The gateway simulator on loopback; jobs take 0.3 s unless configured otherwise."""
    simulator = Simulator(api_key=API_KEY)
    await simulator.start()
    simulator.configure(take_s=0.3)
    yield simulator
    await simulator.stop()


@pytest.fixture
async def slack(tmp_path: Any) -> AsyncIterator[SlackStandIn]:
    """The Slack Web API stand-in on loopback, uploads stored under tmp_path."""
    stand_in = SlackStandIn(bot_token=BOT_TOKEN, app_token=APP_TOKEN, storage_dir=tmp_path / "slack-files")
    await stand_in.start()
    yield stand_in
    await stand_in.stop()


@pytest.fixture
def client(slack: SlackStandIn) -> AsyncWebClient:
    """slack_sdk's client on the stand-in, without retries (a test sees each answer as it is)."""
    return AsyncWebClient(token=slack.bot_token, base_url=slack.api_url, retry_handlers=[])


MakeApp = Callable[..., Awaitable[RunningApp]]


@pytest.fixture
async def make_app(sim: Simulator, slack: SlackStandIn, tmp_path: Any) -> AsyncIterator[MakeApp]:
    """Factory: start the real app (HTTP mode, SQLite in tmp_path) with setting overrides."""
    services: list[Service] = []
    http = httpx.AsyncClient(timeout=30)

    async def factory(**overrides: Any) -> RunningApp:
        overrides.setdefault("db", tmp_path / "videobot.db")
        settings = test_settings(sim=sim, slack=slack, **overrides)
        service = Service(settings, clock=overrides.get("clock_fn") or __import__("time").time)
        await service.start()
        services.append(service)
        return RunningApp(service=service, slack=slack, sim=sim, http=http)

    yield factory
    for service in services:
        await service.stop()
    await http.aclose()


@pytest.fixture
def app_log() -> Iterator[io.StringIO]:
    """What the app writes to its log (JSON lines at INFO, as in production)."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    stream = io.StringIO()
    setup_logging("INFO", stream)
    yield stream
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
