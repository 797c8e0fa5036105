"""A store of the test's own on the SQLite file the app processes use, to look into it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.deps import ledger_config
from bot.settings import load_settings
from storage import open_store
from tests.store_tools import StoreForTests


@pytest.fixture
async def store(tmp_path) -> AsyncIterator[StoreForTests]:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    opened = StoreForTests.view(await open_store(url, ledger_config(load_settings(database_url=url))))
    yield opened
    await opened.close()
