from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from bot.service import Service
from bot.simulator import Simulator
from bot.slack_standin import SlackStandIn
from tests.e2e.harness import RunningApp, test_settings

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
