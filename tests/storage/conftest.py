"""Every storage test runs on both backends: SQLite on tmp_path and a throwaway PostgreSQL database."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest

from storage import LedgerConfig, open_store
from tests.storage.helpers import Clock, at
from tests.storage.pg import drop_pg_database, make_pg_database, reset_pg_database
from tests.store_tools import StoreForTests

StoreFactory = Callable[..., Awaitable[StoreForTests]]


def _run(coro: Awaitable[Any]) -> Any:
    # A private loop in a thread, so the test's own event loop is never touched.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def pg_session_url() -> Iterator[str]:
    """One throwaway PostgreSQL database for the whole session."""
    url: str = _run(make_pg_database())
    yield url
    _run(drop_pg_database(url))


@pytest.fixture(params=["sqlite", "postgresql"])
async def db_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    """An empty database of each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/videobot.db"
    url: str = request.getfixturevalue("pg_session_url")
    await reset_pg_database(url)
    return url


@pytest.fixture
def clock() -> Clock:
    """A fixed clock: Tuesday 2026-11-10 12:00 UTC."""
    return Clock(at("2026-11-10T12:00:00"))


@pytest.fixture
async def store_factory(db_url: str, clock: Clock) -> AsyncIterator[StoreFactory]:
    """Opens stores (replicas) on the same database; closes them all afterwards."""
    opened: list[StoreForTests] = []

    async def make(**overrides: Any) -> StoreForTests:
        values: dict[str, Any] = {
            "default_budget_micros": 1_000_000,
            "period": "month",
            "max_inflight_per_user": 3,
            "job_timeout_s": 1800,
            "clock": clock,
        }
        values.update(overrides)
        store = StoreForTests.view(await open_store(db_url, LedgerConfig(**values)))
        opened.append(store)
        return store

    yield make
    for store in opened:
        await store.close()


@pytest.fixture
async def store(store_factory: StoreFactory) -> StoreForTests:
    """A store with the default test configuration."""
    return await store_factory()
