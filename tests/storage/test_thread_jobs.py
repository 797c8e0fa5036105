"""Jobs asked for in a thread: stored with that thread as their place, and a request stored twice
(a resent Slack event, on two replicas at once) is stored once, on both backends."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from storage.errors import Duplicate
from storage.models import MoneyState
from tests.storage.helpers import EST_DEFAULT, new_job


async def test_a_thread_job_is_stored_with_its_thread(store):
    job = await store.reserve(new_job(thread_ts="1700000000.000100"), owner="r1", lease_s=30)
    assert (job.delivery_channel, job.parent_ts) == ("C1", "1700000000.000100")
    plain = await store.reserve(new_job(), owner="r1", lease_s=30)
    assert (plain.delivery_channel, plain.parent_ts) == (None, None)


async def test_the_same_job_id_is_stored_once_and_reserves_once(store):
    first = new_job()
    await store.reserve(first, owner="r1", lease_s=30)
    with pytest.raises(Duplicate):
        await store.reserve(replace(first, duration=6), owner="r1", lease_s=30)
    [job] = await store.user_jobs("U1")
    assert job.duration == 5 and job.money_state is MoneyState.RESERVED
    assert (await store.budget_status("U1")).reserved_micros == EST_DEFAULT


async def test_two_replicas_storing_the_same_request_at_once_store_one(store_factory):
    a, b = await store_factory(), await store_factory()
    same = new_job()
    outcomes = await asyncio.gather(
        *(s.reserve(same, owner=s_name, lease_s=30) for s, s_name in ((a, "r1"), (b, "r2"), (a, "r1"))),
        return_exceptions=True,
    )
    assert sum(not isinstance(o, BaseException) for o in outcomes) == 1
    assert all(isinstance(o, Duplicate) for o in outcomes if isinstance(o, BaseException))
    assert len(await a.user_jobs("U1")) == 1
    assert (await b.budget_status("U1")).reserved_micros == EST_DEFAULT
    assert await a.audit() == []
