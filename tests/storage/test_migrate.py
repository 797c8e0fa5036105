"""Schema migrations and opening stores by URL, on both backends."""

from __future__ import annotations

import asyncio
import sys

import pytest

from storage import LedgerConfig, SqlStore, open_store, sqlite_path
from storage.migrate import Migration, load_migrations, migrate
from tests.storage.helpers import new_job
from tests.store_tools import StoreForTests


async def test_migrations_recorded_once(store_factory):
    first = await store_factory()
    second = await store_factory()  # a second replica finds the schema current
    async with first.db.transaction() as tx:
        rows = await tx.fetchall("SELECT version, name FROM schema_version ORDER BY version")
    assert [(r["version"], r["name"]) for r in rows] == [(m.version, m.name) for m in load_migrations()]
    assert await migrate(second.db, 0.0) == []
    job = await first.reserve(new_job(), owner="r1", lease_s=30)
    assert await second.get_job(job.id) == job  # both see one database


def test_migration_files_are_well_formed():
    migrations = load_migrations()
    versions = [m.version for m in migrations]
    # Ascending and unique from 1; numbers are reserved per change, so there may be gaps; never a repeat.
    assert versions[0] == 1 and versions == sorted(set(versions))
    assert all(m.statements() for m in migrations)


async def test_a_migration_merged_late_is_still_applied(store_factory, monkeypatch):
    shipped = load_migrations()
    first = await store_factory()  # every shipped migration applied
    versions = [m.version for m in shipped]
    # The first number below the newest that no shipped migration uses (reserved by a branch).
    gap = next(v for v in range(1, versions[-1]) if v not in versions)
    late = Migration(gap, "late_table.sql", "CREATE TABLE late_table (x INTEGER)")
    assert late.version not in versions and late.version < versions[-1]  # a reserved number below a newer one
    monkeypatch.setattr(
        sys.modules["storage.migrate"],
        "load_migrations",
        lambda: sorted([*shipped, late], key=lambda m: m.version),
    )
    assert await migrate(first.db, 0.0) == [late.version]
    async with first.db.transaction() as tx:
        assert await tx.fetchval("SELECT COUNT(*) FROM late_table") == 0


def test_sqlite_urls():
    assert sqlite_path("sqlite:///videobot.db") == "videobot.db"
    assert sqlite_path("sqlite:////var/lib/videobot.db") == "/var/lib/videobot.db"
    for bad in ("sqlite:///", "sqlite:///:memory:", "postgresql://x/y"):
        with pytest.raises(ValueError):
            sqlite_path(bad)


async def test_relative_sqlite_url_is_cwd(tmp_path, monkeypatch, clock):
    monkeypatch.chdir(tmp_path)
    config = LedgerConfig(1_000_000, "month", 3, 1800, clock)
    store = StoreForTests.view(await open_store("sqlite:///videobot.db", config))
    try:
        assert store.dialect == "sqlite"
        await store.reserve(new_job(), owner="r1", lease_s=30)
    finally:
        await store.close()
    assert await asyncio.to_thread((tmp_path / "videobot.db").exists)


async def test_sqlite_pragmas(tmp_path, clock):
    store = await open_store(f"sqlite:///{tmp_path}/p.db", LedgerConfig(1, "month", 3, 1800, clock))
    assert isinstance(store, SqlStore)
    try:
        async with store.db.transaction() as tx:
            assert (await tx.fetchval("PRAGMA journal_mode")).lower() == "wal"
            assert await tx.fetchval("PRAGMA foreign_keys") == 1
            assert await tx.fetchval("PRAGMA busy_timeout") == 10_000
            assert await tx.fetchval("PRAGMA synchronous") == 1  # NORMAL
            assert await tx.fetchval("PRAGMA temp_store") == 2  # MEMORY
            assert await tx.fetchval("PRAGMA wal_autocheckpoint") == 0  # checkpoints run beside
    finally:
        await store.close()


async def test_postgres_scheme_alias(pg_session_url, clock):
    url = "postgres://" + pg_session_url.removeprefix("postgresql://")
    store = await open_store(url, LedgerConfig(1_000_000, "month", 3, 1800, clock))
    try:
        assert store.dialect == "postgresql"
        assert (await store.workspace_status()).default_budget_micros == 1_000_000
    finally:
        await store.close()


async def test_unknown_scheme_refused(clock):
    with pytest.raises(ValueError, match="unsupported"):
        await open_store("mysql://x/y", LedgerConfig(1, "month", 3, 1800, clock))


async def test_the_queue_turns_table_starts_from_the_jobs_already_queued(store_factory, clock):
    # A database whose jobs queued before migration 0009: their users' turns are there once it runs,
    # so the places the next acks tell count them.
    store = await store_factory(max_inflight_per_user=1, max_inflight=3)
    for user in ("U2", "U1", "U2", "U1", "U3"):
        clock.advance(1)
        await store.reserve(new_job(user=user), owner="r1", lease_s=30)
    async with store.db.transaction(serialize=True) as tx:
        await tx.execute("DROP TABLE queue_turns")
        await tx.execute("DELETE FROM schema_version WHERE version = 9")
    assert await migrate(store.db, 0.0) == [9]
    async with store.db.transaction() as tx:
        turns = await tx.fetchall("SELECT user_id, oldest FROM queue_turns ORDER BY user_id")
    assert [(r["user_id"], r["oldest"]) for r in turns] == [("U1", clock.now - 1), ("U2", clock.now - 2)]
    queued = await store.reserve(new_job(user="U4"), owner="r1", lease_s=30)  # the workspace is full
    ahead = await store.queue_ahead()
    assert ahead[queued.id] == 0 and sorted(ahead.values()) == [0, 1, 2]  # U4 never started: first
    assert {job_id: await store.queue_place(job_id) for job_id in ahead} == ahead
