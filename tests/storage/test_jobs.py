"""Compare-and-set transitions, finish(), field updates and leases between replicas, on both backends."""

from __future__ import annotations

import pytest

from storage import JobState, MoneyState
from storage.errors import IllegalTransition
from storage.states import TRANSITIONS
from tests.storage.helpers import PRICE, new_job, walk

S = JobState


async def test_transition_compare_and_set(store, clock):
    job = await store.reserve(new_job(), owner="r1", lease_s=30)
    clock.advance(5)
    moved = await store.transition(job.id, S.SUBMITTING, expect=[S.ACCEPTED], attempts=1)
    assert moved is not None and moved.state is S.SUBMITTING and moved.attempts == 1
    assert moved.updated_at == clock.now and moved.created_at == job.created_at
    # The same transition again finds the state moved on: nothing changes.
    assert await store.transition(job.id, S.SUBMITTING, expect=[S.ACCEPTED], attempts=9) is None
    assert (await store.get_job(job.id)).attempts == 1
    moved = await store.transition(job.id, S.SUBMITTED, expect=(S.SUBMITTING,), gateway_job_id="job_abc123")
    assert moved.state is S.SUBMITTED and moved.gateway_job_id == "job_abc123"
    assert await store.transition("missing", S.SUBMITTED, expect=[S.SUBMITTING]) is None


async def test_transition_owner_guard(store):
    job = await store.reserve(new_job(), owner="r1", lease_s=30)
    assert await store.transition(job.id, S.SUBMITTING, expect=[S.ACCEPTED], owner="r2") is None
    assert (await store.get_job(job.id)).state is S.ACCEPTED
    moved = await store.transition(job.id, S.SUBMITTING, expect=[S.ACCEPTED], owner="r1")
    assert moved is not None and moved.state is S.SUBMITTING


async def test_unknown_or_protected_fields_refused(store):
    job = await store.reserve(new_job(), owner="r1", lease_s=30)
    for bad in ({"nope": 1}, {"charged_micros": 0}, {"money_state": "charged"}, {"id": "x"}, {"x; DROP": 1}):
        with pytest.raises(ValueError):
            await store.transition(job.id, S.SUBMITTING, expect=[S.ACCEPTED], **bad)
        with pytest.raises(ValueError):
            await store.update(job.id, **bad)
    with pytest.raises(ValueError):
        await store.transition(job.id, S.SUBMITTING, expect=[])
    assert await store.get_job(job.id) == job


async def test_update_fields(store, clock):
    job = await store.reserve(new_job(), owner="r1", lease_s=30)
    clock.advance(3)
    updated = await store.update(job.id, status_ts="1700000000.000100", last_error="429", attempts=2)
    assert updated.status_ts == "1700000000.000100" and updated.attempts == 2
    assert updated.state is S.ACCEPTED and updated.updated_at == clock.now
    assert await store.update("missing", attempts=1) is None


async def test_finish_delivered_charges_once(store):
    job = await store.reserve(new_job(), owner="r1", lease_s=30)
    await walk(store, job.id)
    done = await store.finish(
        job.id,
        S.DELIVERED,
        expect=[S.UPLOADING],
        billed_seconds=4,
        result_duration=4,
        file_id="F1",
    )
    assert done.state is S.DELIVERED and done.money_state is MoneyState.CHARGED
    assert done.charged_micros == 4 * PRICE and done.file_id == "F1"
    assert await store.finish(job.id, S.DELIVERED, expect=[S.UPLOADING], billed_seconds=4) is None
    assert await store.settle(job.id, 4) is False
    assert (await store.budget_status("U1")).spent_micros == 4 * PRICE
    assert await store.audit() == []


async def test_finish_failed_releases(store):
    job = await store.reserve(new_job(), owner="r1", lease_s=30)
    assert await store.finish(job.id, S.EXPIRED, expect=[S.ACCEPTED], owner="r2") is None
    done = await store.finish(job.id, S.EXPIRED, expect=[S.ACCEPTED], owner="r1", failure_reason="timed out")
    assert done.money_state is MoneyState.RELEASED and done.failure_reason == "timed out"
    assert (await store.budget_status("U1")).reserved_micros == 0


async def test_finish_refuses_bad_calls(store):
    job = await store.reserve(new_job(), owner="r1", lease_s=30)
    with pytest.raises(ValueError):
        await store.finish(job.id, S.SUBMITTED, expect=[S.ACCEPTED])
    with pytest.raises(ValueError):
        await store.finish(job.id, S.DELIVERED, expect=[S.UPLOADING])  # no billed_seconds
    assert await store.get_job(job.id) == job


async def test_illegal_transitions_change_nothing(store):
    job = await store.reserve(new_job(), owner="r1", lease_s=30)
    # Skipping the work: an accepted job cannot be delivered (nor charged), nor jump to polling.
    with pytest.raises(IllegalTransition, match="from accepted to delivered"):
        await store.finish(job.id, S.DELIVERED, expect=[S.ACCEPTED], billed_seconds=5)
    with pytest.raises(IllegalTransition, match="from accepted to generating"):
        await store.transition(job.id, S.GENERATING, expect=[S.ACCEPTED])
    # One illegal source in the list is enough to refuse the whole move.
    with pytest.raises(IllegalTransition):
        await store.transition(job.id, S.SUBMITTED, expect=[S.SUBMITTING, S.ACCEPTED])
    # A finished state is reached only through finish(), with the money.
    with pytest.raises(ValueError, match="finish"):
        await store.transition(job.id, S.FAILED, expect=[S.ACCEPTED])
    assert await store.get_job(job.id) == job
    assert (await store.budget_status("U1")).reserved_micros == 5 * PRICE
    done = await store.finish(job.id, S.FAILED, expect=[S.ACCEPTED])
    # Nothing leaves a finished state, not even to another finished one.
    for to in (S.ACCEPTED, S.SUBMITTING):
        with pytest.raises(IllegalTransition, match="from failed"):
            await store.transition(job.id, to, expect=[S.FAILED])
    with pytest.raises(IllegalTransition, match="from failed to delivered"):
        await store.finish(job.id, S.DELIVERED, expect=[S.FAILED], billed_seconds=5)
    assert await store.get_job(job.id) == done and done.money_state is MoneyState.RELEASED


def test_every_state_has_a_row_and_finished_states_are_final():
    assert set(TRANSITIONS) == set(S)
    for state, targets in TRANSITIONS.items():
        assert (not targets) == state.finished
        if not state.finished:
            assert {S.FAILED, S.EXPIRED} <= targets  # any unfinished job can be given up


async def test_claim_renew_drop_with_two_owners(store, clock):
    a = await store.reserve(new_job(user="U1"), owner="r1", lease_s=30)
    b = await store.reserve(new_job(user="U2"), owner="r1", lease_s=30)
    done = await store.reserve(new_job(user="U3"), owner="r1", lease_s=30)
    await store.finish(done.id, S.FAILED, expect=[S.ACCEPTED])
    # r1's leases are live: r2 gets nothing; r1 re-claims its own.
    assert await store.claim("r2", 30) == []
    assert [j.id for j in await store.claim("r1", 30)] == [a.id, b.id]
    clock.advance(20)
    assert await store.renew("r1", 30) == 2
    assert await store.renew("r2", 30) == 0
    clock.advance(20)  # renewed at +20 for 30 s: still held
    assert await store.claim("r2", 30) == []
    clock.advance(31)  # expired now
    claimed = await store.claim("r2", 30, limit=1)
    assert [j.id for j in claimed] == [a.id]
    assert claimed[0].owner == "r2" and claimed[0].lease_until == clock.now + 30
    assert await store.renew("r1", 30) == 1  # only b is still r1's
    await store.drop_leases("r1")
    taken = await store.claim("r2", 30)
    assert {j.id for j in taken} == {a.id, b.id}
    assert all(j.owner == "r2" for j in taken)
    assert await store.claim("r1", 30) == []
    assert [j.id for j in await store.unfinished_jobs()] == [a.id, b.id]
    # r1 learns which of its former jobs another replica holds now; finished ones never count.
    assert await store.taken_by_others("r1") == {a.id, b.id}
    assert await store.taken_by_others("r2") == set()


async def test_claim_leases_known_jobs_without_reading_them_back(store, clock):
    a = await store.reserve(new_job(user="U1"), owner="r1", lease_s=30)
    b = await store.reserve(new_job(user="U2"), owner="r1", lease_s=30)
    clock.advance(20)
    assert [j.id for j in await store.claim("r1", 30, known={a.id})] == [b.id]
    assert await store.claim("r1", 30, known={a.id, b.id}) == []
    clock.advance(20)  # both leases were extended by the claim, known or not
    assert await store.claim("r2", 30) == []
    assert (await store.get_job(a.id)).lease_until == clock.now + 10


async def test_claim_skips_finished_and_null_leases_are_free(store):
    job = await store.reserve(new_job(), owner="r1", lease_s=30)
    await store.update(job.id, lease_until=None, owner=None)
    claimed = await store.claim("r2", 10)
    assert [j.id for j in claimed] == [job.id] and claimed[0].owner == "r2"
    await walk(store, job.id)
    await store.finish(job.id, S.DELIVERED, expect=[S.UPLOADING], billed_seconds=5)
    await store.update(job.id, lease_until=None)
    assert await store.claim("r3", 10) == []
    assert await store.unfinished_jobs() == []


async def test_heartbeat_counts_live_replicas(store_factory, clock):
    first, second = await store_factory(), await store_factory()
    assert await first.heartbeat("r1", 30) == 1
    assert await second.heartbeat("r2", 30) == 2
    assert await first.heartbeat("r1", 30) == 2  # a beat again is the same replica
    clock.advance(31)
    # r2 stopped beating: r1 paces at the whole workspace's rate again.
    assert await first.heartbeat("r1", 30) == 1


async def test_share_sent_at_is_stored(store, clock):
    job = await store.reserve(new_job(), owner="r1", lease_s=30)
    assert job.share_sent_at is None
    updated = await store.update(job.id, file_id="F1", share_sent_at=clock.now)
    assert updated.file_id == "F1" and updated.share_sent_at == clock.now
