"""Several replicas on one PostgreSQL database: work shared through leases, a dead replica's jobs
taken over, every job delivered exactly once, and budgets atomic across replicas."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from collections.abc import AsyncIterator

import httpx
import pytest

from bot.deps import ledger_config
from bot.settings import load_settings
from bot.slack_signing import post_signed, slash_command_body
from storage import open_store
from storage.api import Store
from storage.models import JobState, MoneyState
from tests.durability.proc import AppProcess
from tests.e2e.harness import CHANNEL, SIGNING_SECRET, ack_text
from tests.storage.pg import drop_pg_database, make_pg_database

USERS = [f"U0REPL{i:03d}" for i in range(20)]


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    url = await make_pg_database("videobot_replicas")
    yield url
    await drop_pg_database(url)


@pytest.fixture
async def pg_store(pg_url) -> AsyncIterator[Store]:
    store = await open_store(pg_url, ledger_config(load_settings(database_url=pg_url)))
    yield store
    await store.close()


async def _all_jobs(store: Store) -> list:
    jobs = []
    for user in USERS:
        jobs.extend(await store.user_jobs(user, 100))
    return jobs


async def test_three_replicas_survive_a_kill_and_deliver_each_job_once(
    tmp_path, sim, slack, pg_url, pg_store
):
    sim.configure(take_s=3.0)
    replicas = [
        AppProcess(
            sim=sim, slack=slack, db_url=pg_url, log_path=tmp_path / f"r{i}.log", replica_id=f"replica-{i}"
        )
        for i in range(3)
    ]
    for replica in replicas:  # the first one runs the migrations; the others find them done
        await replica.start()
    try:
        targets = itertools.cycle(replicas)
        async with httpx.AsyncClient(timeout=30) as http:

            async def send(i: int, replica: AppProcess) -> httpx.Response:
                body = slash_command_body(
                    text=f"scene {i}",
                    user_id=USERS[i % len(USERS)],
                    channel_id=CHANNEL,
                    response_url=slack.new_response_url(),
                )
                return await post_signed(http, replica.events_url, body, SIGNING_SECRET)

            responses = await asyncio.gather(*(send(i, next(targets)) for i in range(60)))
        assert all("on its way" in ack_text(r) for r in responses)
        # Kill one replica once every job has its gateway id (none is mid-create), long before any is done.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            jobs = await _all_jobs(pg_store)
            if len(jobs) == 60 and all(j.gateway_job_id for j in jobs):
                break
            await asyncio.sleep(0.05)
        victim = replicas[1]
        owned = [j for j in await _all_jobs(pg_store) if j.owner == "replica-1" and not j.state.finished]
        assert owned, "the victim holds jobs in flight"
        victim.kill9()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            jobs = await _all_jobs(pg_store)
            if all(j.state.finished for j in jobs):
                break
            await asyncio.sleep(0.1)
    finally:
        for replica in replicas:
            replica.stop()

    jobs = await _all_jobs(pg_store)
    assert len(jobs) == 60 and sim.create_count == 60
    assert Counter(j.state for j in jobs) == {JobState.DELIVERED: 60}
    taken_over = {j.id for j in jobs if j.id in {o.id for o in owned}}
    assert taken_over and all(j.owner != "replica-1" for j in jobs if j.id in taken_over)
    files_per_thread = Counter((f.channel, f.thread_ts) for f in slack.files)
    assert len(files_per_thread) == 60 and set(files_per_thread.values()) == {1}
    assert {(j.delivery_channel, j.parent_ts) for j in jobs} == set(files_per_thread)
    assert await pg_store.audit() == []
    assert all(j.money_state is MoneyState.CHARGED and j.charged_micros == 5 * 11_000 for j in jobs)
    spent = [(await pg_store.budget_status(u)).spent_micros for u in USERS]
    assert sum(spent) == 60 * 55_000


async def test_budget_is_atomic_across_replicas(make_app, sim, pg_url):
    sim.configure(take_s=1.0)
    apps = [
        await make_app(db=pg_url, replica_id=f"r{i}", default_budget="0.165", max_inflight_per_user=100)
        for i in range(3)
    ]
    responses = await asyncio.gather(*(apps[i % 3].command(f"a drop of ink #{i}") for i in range(50)))
    accepted = [r for r in responses if "on its way" in ack_text(r)]
    assert len(accepted) == 3
    assert all("budget" in ack_text(r).lower() for r in responses if r not in accepted)
    for app in apps:
        await app.wait_idle()
    assert sim.create_count == 3
    assert await apps[0].store.audit() == []
