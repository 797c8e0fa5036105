"""A throwaway PostgreSQL database per test, and a store of the test's own to look into it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.deps import ledger_config
from bot.settings import load_settings
from storage import open_store
from tests.storage.pg import drop_pg_database, make_pg_database
from tests.store_tools import StoreForTests


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
