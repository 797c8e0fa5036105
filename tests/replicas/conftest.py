"""A throwaway PostgreSQL database per test, and a store of the test's own to look into it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.deps import ledger_config
from bot.settings import load_settings
from bot.sim.slack import SlackStandIn
from storage import open_store
from tests.e2e.harness import APP_TOKEN, BOT_TOKEN
from tests.storage.pg import drop_pg_database, make_pg_database
from tests.store_tools import StoreForTests

# These tests are about leases, not Slack's pace: 60 jobs in one channel would take two minutes of
# posts at Slack's real rate. The stand-in's limits are scaled (still enforced) and the replicas told.
TIER_SCALE = 10


@pytest.fixture
async def slack(tmp_path) -> AsyncIterator[SlackStandIn]:
    """The strict Slack stand-in with every rate limit scaled by TIER_SCALE."""
    stand_in = SlackStandIn(
        bot_token=BOT_TOKEN, app_token=APP_TOKEN, storage_dir=tmp_path / "slack-files", tier_scale=TIER_SCALE
    )
    await stand_in.start()
    yield stand_in
    await stand_in.stop()


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    url = await make_pg_database("videobot_replicas")
    yield url
    await drop_pg_database(url)


@pytest.fixture
async def pg_store(pg_url: str) -> AsyncIterator[StoreForTests]:
    store = StoreForTests.view(await open_store(pg_url, ledger_config(load_settings(database_url=pg_url))))
    yield store
    await store.close()
