from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.simulator import Simulator
from bot.slack_standin import SlackStandIn
from tests.e2e.harness import API_KEY, APP_TOKEN, BOT_TOKEN


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
