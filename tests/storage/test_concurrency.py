"""Concurrent reservations and claims, in one store and across replicas on one database, on both backends."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

from storage import JobState, Refused
from tests.storage.helpers import EST_DEFAULT, new_job


async def _reserve_many(stores: list[Any], count: int) -> tuple[list[Any], list[Refused]]:
    async def one(i: int):
        try:
            return await stores[i % len(stores)].reserve(new_job(), owner=f"r{i % len(stores)}", lease_s=30)
        except Refused as refused:
            return refused

    results = await asyncio.gather(*(one(i) for i in range(count)))
    ok = [r for r in results if not isinstance(r, Refused)]
    refused = [r for r in results if isinstance(r, Refused)]
    return ok, refused


async def test_fifty_reserves_one_store_exactly_three_fit(store_factory):
    store = await store_factory(default_budget_micros=3 * EST_DEFAULT, max_inflight_per_user=100)
    ok, refused = await _reserve_many([store], 50)
    assert len(ok) == 3 and len(refused) == 47
    assert {r.reason for r in refused} == {"budget"}
    status = await store.budget_status("U1")
    assert status.reserved_micros == 3 * EST_DEFAULT == status.limit_micros


async def test_fifty_reserves_three_replicas_exactly_three_fit(store_factory):
    replicas = [
        await store_factory(default_budget_micros=3 * EST_DEFAULT, max_inflight_per_user=100)
        for _ in range(3)
    ]
    ok, refused = await _reserve_many(replicas, 50)
    assert len(ok) == 3 and len(refused) == 47
    assert len(await replicas[0].user_jobs("U1", limit=100)) == 3
    assert (await replicas[1].budget_status("U1")).reserved_micros == 3 * EST_DEFAULT


async def test_concurrent_cap_across_replicas(store_factory):
    replicas = [await store_factory(max_inflight_per_user=100) for _ in range(3)]
    await replicas[0].set_cap(4 * EST_DEFAULT)

    async def one(i: int):
        try:
            return await replicas[i % 3].reserve(new_job(user=f"U{i}"), owner="r", lease_s=30)
        except Refused as refused:
            return refused

    results = await asyncio.gather(*(one(i) for i in range(30)))
    assert sum(not isinstance(r, Refused) for r in results) == 4
    assert {r.reason for r in results if isinstance(r, Refused)} == {"cap"}


async def test_concurrent_settle_only_once(store_factory):
    replicas = [await store_factory() for _ in range(3)]
    job = await replicas[0].reserve(new_job(), owner="r1", lease_s=30)
    results = await asyncio.gather(*(replicas[i % 3].settle(job.id, 5) for i in range(12)))
    assert results.count(True) == 1
    assert (await replicas[2].budget_status("U1")).spent_micros == EST_DEFAULT


async def test_concurrent_claims_hand_each_job_to_one_owner(store_factory, clock):
    replicas = [await store_factory(max_inflight_per_user=100, default_budget_micros=10**9) for _ in range(3)]
    ids = {
        (await replicas[0].reserve(new_job(user=f"U{i % 5}"), owner="gone", lease_s=0)).id for i in range(40)
    }
    clock.advance(1)  # "gone" died: every lease has expired

    async def work(i: int) -> list[str]:
        got: list[str] = []
        while batch := await replicas[i].claim(f"r{i}", 60, limit=5):
            for job in batch:
                # The owner guard proves the claim: only the holder can finish the job.
                assert await replicas[i].finish(
                    job.id, JobState.FAILED, expect=[JobState.ACCEPTED], owner=f"r{i}"
                )
                got.append(job.id)
            await asyncio.sleep(0.01)  # working on the batch lets the other replicas in
        return got

    claimed = await asyncio.gather(*(work(i) for i in range(3)))
    everything = [job_id for got in claimed for job_id in got]
    assert sorted(everything) == sorted(ids)  # each job exactly once, none lost
    assert sum(1 for got in claimed if got) >= 2  # the work really was shared
    assert await replicas[0].unfinished_jobs() == []


async def test_concurrent_reservations_that_fail_take_nothing_from_the_others(store_factory):
    # Requests arriving together share one transaction on SQLite (group commit): a refusal or a
    # broken insert in the middle must undo only its own work, and each caller learns its own fate.
    store = await store_factory(default_budget_micros=10 * EST_DEFAULT, max_inflight_per_user=100)
    await store.set_frozen("U_FROZEN", True)
    taken = await store.reserve(new_job(user="U2"), owner="r", lease_s=30)
    requests = [new_job(user="U1") for _ in range(6)]
    requests.insert(2, new_job(user="U_FROZEN"))
    requests.insert(4, dataclasses.replace(new_job(user="U3"), id=taken.id))  # duplicate id: insert fails

    async def one(new: Any) -> Any:
        try:
            return await store.reserve(new, owner="r", lease_s=30)
        except Exception as exc:
            return exc

    results = await asyncio.gather(*(one(new) for new in requests))
    assert isinstance(results[2], Refused) and results[2].reason == "frozen"
    assert isinstance(results[4], Exception) and not isinstance(results[4], Refused)
    ok = [r for i, r in enumerate(results) if i not in (2, 4)]
    assert [job.id for job in ok] == [new.id for i, new in enumerate(requests) if i not in (2, 4)]
    assert len(await store.user_jobs("U1", limit=100)) == 6
    assert await store.user_jobs("U3", limit=100) == [] and await store.user_jobs("U_FROZEN", limit=100) == []
    assert (await store.budget_status("U1")).reserved_micros == 6 * EST_DEFAULT
    assert (await store.budget_status("U2")).reserved_micros == EST_DEFAULT


async def test_calls_committed_together_keep_their_own_writes_when_one_fails_halfway(store):
    # Five calls at once (one group commit on SQLite): the third writes one row, then fails on its
    # second statement; the fourth refuses before writing. Only their own work is undone, every
    # other call's rows are kept, and each caller learns its own outcome.
    db = store.db
    async with db.transaction() as tx:
        await tx.execute("CREATE TABLE grouped_rows (x INTEGER PRIMARY KEY)")
    seen: list[int] = []

    def writes(x: int) -> Any:
        def decide(row: dict[str, Any]) -> Any:
            seen.append(x)
            if x == 4:
                raise LookupError("refused before writing")
            insert = "INSERT INTO grouped_rows (x) VALUES (?)"
            if x == 3:  # the second statement breaks: 1 is there already
                return x, [(insert, (30,)), (insert, (1,))]
            return x, [(insert, (x,))]

        return decide

    async def one(x: int) -> Any:
        try:
            return await db.decide_and_write("SELECT COUNT(*) AS n FROM grouped_rows", (), writes(x))
        except Exception as exc:
            return exc

    await db.decide_and_write(
        "SELECT 1", (), lambda _: (None, [("INSERT INTO grouped_rows (x) VALUES (1)", ())])
    )
    results = await asyncio.gather(*(one(x) for x in (2, 5, 3, 4, 6)))
    assert results[0] == 2 and results[1] == 5 and results[4] == 6
    assert isinstance(results[2], Exception) and "UNIQUE" in str(results[2]).upper()
    assert isinstance(results[3], LookupError)
    async with db.transaction() as tx:
        rows = await tx.fetchall("SELECT x FROM grouped_rows ORDER BY x")
        await tx.execute("DROP TABLE grouped_rows")
    assert [r["x"] for r in rows] == [1, 2, 5, 6]  # nothing of the third (not even its 30)
    assert seen.count(3) == 1  # the broken call is not tried again


async def test_a_job_step_during_another_tasks_transaction_is_kept_when_that_one_rolls_back(store):
    # A single statement (a job's step) runs without the store's lock when no transaction is open;
    # while one is, it must wait for it rather than land inside it and be rolled back with it.
    job = await store.reserve(new_job(), owner="r1", lease_s=30)
    inside, go_on = asyncio.Event(), asyncio.Event()

    async def failing() -> None:
        async with store.db.transaction() as tx:
            await tx.execute("UPDATE jobs SET last_error = 'from the failed one' WHERE id = ?", job.id)
            inside.set()
            await go_on.wait()
            raise RuntimeError("changed its mind")

    failed = asyncio.create_task(failing())
    await inside.wait()
    step = asyncio.create_task(store.update(job.id, permalink="https://example.slack.com/p1"))
    await asyncio.sleep(0.05)
    go_on.set()
    await asyncio.gather(failed, return_exceptions=True)
    await step
    fresh = await store.get_job(job.id)
    assert fresh.permalink == "https://example.slack.com/p1" and fresh.last_error is None
