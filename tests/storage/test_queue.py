"""The fair queue in the store: who waits, who starts next, cancel; on both backends."""

from __future__ import annotations

import pytest

from storage import JobState, MoneyState, Refused
from tests.storage.helpers import PRICE, new_job, walk

S = JobState
EST = 5 * PRICE


async def _deliver(store, job_id: str) -> None:
    await walk(store, job_id)
    await store.finish(job_id, S.DELIVERED, expect=[S.UPLOADING], billed_seconds=5)


async def test_at_the_limit_requests_queue_with_money_reserved(store_factory):
    store = await store_factory(max_inflight_per_user=1, max_queued_per_user=2)
    running = await store.reserve(new_job(), owner="r1", lease_s=30)
    second = await store.reserve(new_job(), owner="r1", lease_s=30)
    third = await store.reserve(new_job(), owner="r1", lease_s=30)
    assert running.state is S.ACCEPTED and running.started_at is not None
    assert second.state is third.state is S.QUEUED and second.started_at is None
    assert (await store.budget_status("U1")).reserved_micros == 3 * EST  # the budget stays exact
    assert await store.queue_ahead() == {second.id: 0, third.id: 1}
    with pytest.raises(Refused) as info:
        await store.reserve(new_job(), owner="r1", lease_s=30)
    assert info.value.reason == "queue_full"
    assert (
        len(await store.user_jobs("U1")) == 3 and (await store.budget_status("U1")).reserved_micros == 3 * EST
    )
    other = await store.reserve(new_job(user="U2"), owner="r1", lease_s=30)  # other users still start
    assert other.state is S.ACCEPTED


async def test_queued_jobs_start_in_order_when_a_slot_frees(store_factory, clock):
    store = await store_factory(max_inflight_per_user=1)
    first = await store.reserve(new_job(), owner="r1", lease_s=30)
    second = await store.reserve(new_job(), owner="r1", lease_s=30)
    clock.advance(1)
    third = await store.reserve(new_job(), owner="r1", lease_s=30)
    assert await store.start_queued("r1", 30) == []  # no slot is free
    clock.advance(600)
    await _deliver(store, first.id)
    [started] = await store.start_queued("r1", 30)
    assert started.id == second.id and started.state is S.ACCEPTED
    assert (
        started.started_at == clock.now and started.deadline_at == clock.now + 1800
    )  # counted from the start
    assert await store.start_queued("r1", 30) == []
    assert await store.queue_ahead() == {third.id: 0}


async def test_workspace_limit_holds_new_arrivals_behind_the_queue(store_factory):
    store = await store_factory(max_inflight=2, max_inflight_per_user=5)
    a1 = await store.reserve(new_job(user="A"), owner="r1", lease_s=30)
    a2 = await store.reserve(new_job(user="A"), owner="r1", lease_s=30)
    b1 = await store.reserve(new_job(user="B"), owner="r1", lease_s=30)
    assert (a1.state, a2.state, b1.state) == (S.ACCEPTED, S.ACCEPTED, S.QUEUED)
    await _deliver(store, a1.id)
    # A slot is free, but B has waited: a newcomer queues behind it instead of taking the slot.
    c1 = await store.reserve(new_job(user="C"), owner="r1", lease_s=30)
    assert c1.state is S.QUEUED
    assert [j.id for j in await store.start_queued("r1", 30)] == [b1.id]


async def _reserve_ticking(store, clock, user: str):
    clock.advance(0.01)
    return await store.reserve(new_job(user=user), owner="r1", lease_s=30)


async def test_three_users_ten_each_start_round_robin(store_factory, clock):
    store = await store_factory(max_inflight=5, max_inflight_per_user=10, default_budget_micros=10**9)
    jobs = {user: [await _reserve_ticking(store, clock, user) for _ in range(10)] for user in "ABC"}
    started = [j.id for j in jobs["A"] if j.state is S.ACCEPTED]
    assert started == [j.id for j in jobs["A"][:5]]  # A's burst came first and filled the workspace
    order: list[str] = []
    running = list(started)
    while len(order) < 25:
        clock.advance(1)
        await _deliver(store, running.pop(0))
        for job in await store.start_queued("r1", 30):
            order.append(job.user_id)
            running.append(job.id)
        assert len(running) <= 5
        places = await store.queue_ahead()
        assert {i: await store.queue_place(i) for i in places} == places  # the cheap read agrees
    # B and C never started, so they go first; then each user in turn, oldest first per user.
    assert order == ["B", "C", "A"] * 5 + ["B", "C"] * 5
    for user in "ABC":
        mine = [j.id for j in jobs[user]]
        starts = [(await store.get_job(i)).started_at for i in mine]
        assert starts == sorted(starts)


async def test_users_at_their_own_limit_are_skipped(store_factory):
    store = await store_factory(max_inflight=3, max_inflight_per_user=1)
    a1 = await store.reserve(new_job(user="A"), owner="r1", lease_s=30)
    a2 = await store.reserve(new_job(user="A"), owner="r1", lease_s=30)
    b1 = await store.reserve(new_job(user="B"), owner="r1", lease_s=30)
    assert (a1.state, a2.state, b1.state) == (S.ACCEPTED, S.QUEUED, S.ACCEPTED)
    assert await store.start_queued("r1", 30) == []  # a slot is free, but only A waits and A is busy


async def test_cancel_releases_exactly_its_reservation_once(store_factory):
    store = await store_factory(max_inflight_per_user=1)
    running = await store.reserve(new_job(), owner="r1", lease_s=30)
    queued = await store.reserve(new_job(duration=7), owner="r1", lease_s=30)
    before = await store.budget_status("U1")
    cancelled = await store.cancel(queued.id, "U1")
    assert cancelled.state is S.CANCELLED and cancelled.money_state is MoneyState.RELEASED
    assert cancelled.cancelled_by == "U1" and cancelled.charged_micros == 0
    after = await store.budget_status("U1")
    assert before.reserved_micros - after.reserved_micros == 7 * PRICE and after.spent_micros == 0
    assert await store.cancel(queued.id, "U1") is None  # the second click changes nothing
    assert (await store.budget_status("U1")) == after
    # Accepted but not yet sent: still cancellable. Once sent to the gateway: not.
    assert (await store.cancel(running.id, "UADMIN")).cancelled_by == "UADMIN"
    sent = await store.reserve(new_job(), owner="r1", lease_s=30)
    await store.transition(sent.id, S.SUBMITTING, expect=[S.ACCEPTED])
    assert await store.cancel(sent.id, "U1") is None
    assert (await store.get_job(sent.id)).money_state is MoneyState.RESERVED
    assert await store.audit() == []


async def test_orphaned_queued_jobs_move_to_the_replica_that_starts_them(store_factory, clock):
    one = await store_factory(max_inflight_per_user=1)
    two = await store_factory(max_inflight_per_user=1)
    first = await one.reserve(new_job(), owner="r1", lease_s=30)
    live = await one.reserve(new_job(), owner="r1", lease_s=30)
    orphan = await one.reserve(new_job(user="U2"), owner="r1", lease_s=30)
    await one.reserve(new_job(user="U2"), owner="r1", lease_s=30)
    await _deliver(one, first.id)
    [started] = await two.start_queued("r2", 30)
    assert started.id == live.id and started.owner == "r1"  # r1's lease is live: r1 starts it
    clock.advance(60)  # r1 died: its leases ran out
    await _deliver(two, orphan.id)
    [taken] = await two.start_queued("r2", 30)
    assert taken.owner == "r2" and taken.lease_until == clock.now + 30


async def test_queue_place_agrees_with_the_full_order(store_factory, clock):
    store = await store_factory(max_inflight=2, max_inflight_per_user=1, default_budget_micros=10**9)
    users = ["U3", "U1", "U2", "U1", "U3", "U3", "U2", "U1", "U4", "U1"]
    for user in users:
        clock.advance(0.5)
        await store.reserve(new_job(user=user), owner="r1", lease_s=30)
    places = await store.queue_ahead()
    assert sorted(places.values()) == list(range(len(users) - 2))
    assert {i: await store.queue_place(i) for i in places} == places
    running = [j for u in set(users) for j in await store.user_jobs(u) if j.state is S.ACCEPTED]
    assert await store.queue_place(running[0].id) is None
