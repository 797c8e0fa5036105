"""SQLite's write lock held by another process (an admin's `videobot admin`, a backup tool): reservations
wait for it on the connection's own thread, and the bot keeps serving meanwhile."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

from storage import LedgerConfig, open_store
from tests.storage.helpers import new_job

HOLD_S = 0.6
CONFIG = LedgerConfig(
    default_budget_micros=1_000_000,
    period="month",
    max_inflight_per_user=3,
    job_timeout_s=1800,
    clock=time.time,
)


async def test_a_reservation_waits_for_another_writer_without_freezing_the_bot(tmp_path: Path) -> None:
    path = tmp_path / "videobot.db"
    store = await open_store(f"sqlite:///{path}", CONFIG)
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        other.execute("BEGIN IMMEDIATE")  # another process takes the write lock
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticking = asyncio.create_task(ticker())
        reserving = asyncio.create_task(store.reserve_with_status(new_job("U1"), owner="me", lease_s=60))
        await asyncio.sleep(HOLD_S)
        assert not reserving.done()  # it waits for the lock: nothing is written beside another writer
        seen_while_held = ticks
        other.execute("COMMIT")
        job, status = await asyncio.wait_for(reserving, 10)
        ticking.cancel()
        # The event loop kept running while the lock was held (an inline wait would have frozen it:
        # no tick at all until the lock came free).
        assert seen_while_held >= 10
        assert status.reserved_micros == job.estimate_micros > 0
        assert [row[0] for row in other.execute("SELECT id FROM jobs")] == [job.id]
    finally:
        other.close()
        await store.close()


async def test_the_connection_never_waits_on_the_event_loop_thread(tmp_path: Path) -> None:
    """The busy timeout applies on the connection's thread only: statements there still wait."""
    store = await open_store(f"sqlite:///{tmp_path / 'videobot.db'}", CONFIG)
    try:
        async with store.db.transaction() as tx:
            assert await tx.fetchval("PRAGMA busy_timeout") == 10_000
        assert store.db._conn.execute("PRAGMA busy_timeout").fetchone()[0] == 0  # type: ignore[attr-defined]
    finally:
        await store.close()


async def test_the_wal_is_copied_into_the_database_file_beside_the_stores_connection(tmp_path, clock):
    # No COMMIT checkpoints (a group commit on the event loop's thread would stall it, and SQLite is
    # told so: test_sqlite_pragmas): a connection of the store's own, on a thread of its own, does it
    # every second. A reader of the database file alone (ignoring the WAL) sees the jobs within
    # seconds of their commit, the store still open.
    store = await open_store(f"sqlite:///{tmp_path}/wal.db", LedgerConfig(10**9, "month", 50, 1800, clock))
    try:
        for i in range(40):
            await store.reserve_with_status(new_job(user=f"U{i}"), owner="r1", lease_s=30)

        def in_file() -> int:
            conn = sqlite3.connect(f"file:{tmp_path}/wal.db?immutable=1", uri=True)
            try:
                return int(conn.execute("SELECT COUNT(*) FROM jobs").fetchone()[0])
            except sqlite3.DatabaseError:  # the file has no tables yet: all of it is in the WAL
                return 0
            finally:
                conn.close()

        for _ in range(50):
            if await asyncio.to_thread(in_file) == 40:
                break
            await asyncio.sleep(0.1)
        assert await asyncio.to_thread(in_file) == 40
    finally:
        await store.close()


async def test_a_jobs_step_waits_for_another_writer_and_lands_after_it(tmp_path: Path) -> None:
    # A single statement runs without the store's lock when no transaction of ours is open; with
    # another process holding the write lock it waits for it on the connection's thread, then lands.
    path = tmp_path / "videobot.db"
    store = await open_store(f"sqlite:///{path}", CONFIG)
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        job, _ = await store.reserve_with_status(new_job("U1"), owner="me", lease_s=60)
        other.execute("BEGIN IMMEDIATE")
        step = asyncio.create_task(store.update(job.id, permalink="https://example.slack.com/p1"))
        await asyncio.sleep(HOLD_S)
        assert not step.done()  # nothing is written beside another writer
        other.execute("COMMIT")
        updated = await asyncio.wait_for(step, 10)
        assert updated is not None and updated.permalink == "https://example.slack.com/p1"
        assert other.execute("SELECT permalink FROM jobs").fetchone()[0] == "https://example.slack.com/p1"
    finally:
        other.close()
        await store.close()
