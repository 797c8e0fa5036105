"""Reservations, charges, releases, refusals, budgets, caps, usage and the audit, on both backends."""

from __future__ import annotations

import pytest

from storage import JobState, MoneyState, Refused
from tests.storage.helpers import PRICE, at, new_job, walk

EST = 5 * PRICE  # 55_000: one default job


async def test_reserve_stores_job_with_reservation(store, clock):
    new = new_job(response_url="https://hooks.slack.test/x")
    job = await store.reserve(new, owner="r1", lease_s=30)
    assert job.state is JobState.ACCEPTED and job.money_state is MoneyState.RESERVED
    assert job.estimate_micros == EST and job.charged_micros == 0
    assert job.period == "2026-11"
    assert job.created_at == job.updated_at == clock.now
    assert job.deadline_at == clock.now + 1800
    assert job.owner == "r1" and job.lease_until == clock.now + 30
    assert await store.get_job(new.id) == job
    status = await store.budget_status("U1")
    assert (status.spent_micros, status.reserved_micros, status.limit_micros) == (0, EST, 1_000_000)
    assert status.remaining_micros == 1_000_000 - EST
    assert status.resets_at == at("2026-12-01T00:00:00")
    assert not status.own_budget and not status.frozen


async def test_settle_charges_once(store):
    job = await store.reserve(new_job(), owner="r1", lease_s=30)
    assert await store.settle(job.id, 4) is True
    assert await store.settle(job.id, 4) is False
    assert await store.settle(job.id, 9) is False
    assert await store.release(job.id) is False
    after = await store.get_job(job.id)
    assert after.money_state is MoneyState.CHARGED and after.charged_micros == 4 * PRICE
    status = await store.budget_status("U1")
    assert (status.spent_micros, status.reserved_micros) == (4 * PRICE, 0)


async def test_release_frees_once(store):
    job = await store.reserve(new_job(), owner="r1", lease_s=30)
    assert await store.release(job.id) is True
    assert await store.release(job.id) is False
    assert await store.settle(job.id, 5) is False
    after = await store.get_job(job.id)
    assert after.money_state is MoneyState.RELEASED and after.charged_micros == 0
    status = await store.budget_status("U1")
    assert (status.spent_micros, status.reserved_micros) == (0, 0)


async def test_settle_unknown_job_is_false(store):
    assert await store.settle("nope", 5) is False
    assert await store.release("nope") is False
    with pytest.raises(ValueError):
        await store.settle("nope", -1)


async def test_refused_budget_stores_nothing(store):
    await store.set_user_budget("U1", 2 * EST)
    await store.reserve(new_job(), owner="r1", lease_s=30)
    await store.reserve(new_job(), owner="r1", lease_s=30)
    with pytest.raises(Refused) as info:
        await store.reserve(new_job(), owner="r1", lease_s=30)
    assert info.value.reason == "budget"
    assert info.value.estimate_micros == EST
    assert info.value.status.reserved_micros == 2 * EST and info.value.status.own_budget
    assert len(await store.user_jobs("U1")) == 2
    # A cheaper job that exactly fits is still refused: the budget is full to the micro-dollar.
    with pytest.raises(Refused):
        await store.reserve(new_job(duration=1), owner="r1", lease_s=30)


async def test_budget_counts_spent_and_reserved(store):
    await store.set_user_budget("U1", 3 * EST)
    a = await store.reserve(new_job(), owner="r1", lease_s=30)
    await store.reserve(new_job(), owner="r1", lease_s=30)
    await store.settle(a.id, 5)
    await store.reserve(new_job(), owner="r1", lease_s=30)  # exactly fits: 1 spent + 2 reserved
    with pytest.raises(Refused) as info:
        await store.reserve(new_job(duration=1), owner="r1", lease_s=30)
    assert info.value.reason == "budget"
    assert (info.value.status.spent_micros, info.value.status.reserved_micros) == (EST, 2 * EST)


async def test_refused_inflight_when_queueing_is_off(store_factory):
    store = await store_factory(max_inflight_per_user=2, max_queued_per_user=0)
    first = await store.reserve(new_job(), owner="r1", lease_s=30)
    await store.reserve(new_job(), owner="r1", lease_s=30)
    with pytest.raises(Refused) as info:
        await store.reserve(new_job(), owner="r1", lease_s=30)
    assert info.value.reason == "inflight"
    await store.release(first.id)
    await store.reserve(new_job(), owner="r1", lease_s=30)
    await store.reserve(new_job(user="U2"), owner="r1", lease_s=30)  # other users are not affected


async def test_frozen_user_refused_first(store):
    assert await store.set_frozen("U1", True) is True
    assert await store.set_frozen("U1", True) is False
    with pytest.raises(Refused) as info:
        await store.reserve(new_job(), owner="r1", lease_s=30)
    assert info.value.reason == "frozen" and info.value.status.frozen
    assert await store.user_jobs("U1") == []
    assert await store.set_frozen("U1", False) is True
    assert await store.set_frozen("U1", False) is False
    await store.reserve(new_job(), owner="r1", lease_s=30)


async def test_default_budget_override_and_back(store):
    await store.set_default_budget(EST)
    ws = await store.workspace_status()
    assert ws.default_budget_micros == EST
    await store.reserve(new_job(), owner="r1", lease_s=30)
    with pytest.raises(Refused) as info:
        await store.reserve(new_job(), owner="r1", lease_s=30)
    assert info.value.reason == "budget" and info.value.status.limit_micros == EST
    await store.set_user_budget("U1", 10 * EST)  # own budget wins over the default
    await store.reserve(new_job(), owner="r1", lease_s=30)
    assert (await store.budget_status("U2")).limit_micros == EST
    await store.set_default_budget(None)
    assert (await store.budget_status("U2")).limit_micros == 1_000_000
    assert (await store.workspace_status()).default_budget_micros == 1_000_000
    with pytest.raises(ValueError):
        await store.set_user_budget("U1", -1)


async def test_workspace_cap(store):
    await store.set_cap(3 * EST)
    a = await store.reserve(new_job(user="U1"), owner="r1", lease_s=30)
    await store.reserve(new_job(user="U2"), owner="r1", lease_s=30)
    await store.settle(a.id, 5)
    await store.reserve(new_job(user="U3"), owner="r1", lease_s=30)
    with pytest.raises(Refused) as info:
        await store.reserve(new_job(user="U4"), owner="r1", lease_s=30)
    assert info.value.reason == "cap"
    ws = info.value.workspace
    assert (ws.cap_micros, ws.spent_micros, ws.reserved_micros) == (3 * EST, EST, 2 * EST)
    assert await store.capped_workspace_status() == ws  # what the cap alerts read after a delivery
    await store.set_cap(None)
    assert (await store.workspace_status()).cap_micros is None
    assert await store.capped_workspace_status() is None  # no cap: no alert to check
    await store.reserve(new_job(user="U4"), owner="r1", lease_s=30)


async def test_zero_budget_refuses_everything(store):
    await store.set_user_budget("U1", 0)
    with pytest.raises(Refused) as info:
        await store.reserve(new_job(duration=1), owner="r1", lease_s=30)
    assert info.value.reason == "budget"


async def test_usage_sorted_by_spend(store, clock):
    await store.set_user_budget("U2", 7_000_000)
    for user, seconds in (("U1", 5), ("U2", 10), ("U2", 4)):
        job = await store.reserve(new_job(user=user, duration=seconds), owner="r1", lease_s=30)
        await store.update(job.id, result_duration=seconds)
        await store.settle(job.id, seconds)
    await store.reserve(new_job(user="U3"), owner="r1", lease_s=30)  # reserved only
    released = await store.reserve(new_job(user="U1"), owner="r1", lease_s=30)
    await store.release(released.id)
    rows = await store.usage()
    assert [r.user_id for r in rows] == ["U2", "U1", "U3"]
    u2, u1, u3 = rows
    assert (u2.jobs, u2.seconds, u2.spent_micros, u2.limit_micros) == (2, 14, 14 * PRICE, 7_000_000)
    assert (u1.jobs, u1.seconds, u1.spent_micros, u1.reserved_micros) == (2, 5, 5 * PRICE, 0)
    assert (u3.jobs, u3.spent_micros, u3.reserved_micros, u3.limit_micros) == (1, 0, EST, 1_000_000)


async def test_user_jobs_and_period_jobs(store, clock):
    clock.set("2026-10-31T23:00:00")
    old = await store.reserve(new_job(), owner="r1", lease_s=30)
    clock.set("2026-11-02T10:00:00")
    ids = []
    for _ in range(3):
        clock.advance(60)
        ids.append((await store.reserve(new_job(), owner="r1", lease_s=30)).id)
        await store.release(ids[-1])
    other = await store.reserve(new_job(user="U2"), owner="r1", lease_s=30)
    assert [j.id for j in await store.user_jobs("U1")] == [*reversed(ids), old.id]
    assert [j.id for j in await store.user_jobs("U1", limit=2)] == list(reversed(ids))[:2]
    assert [j.id for j in await store.user_jobs("U1", this_period=True)] == list(reversed(ids))
    assert [j.id for j in await store.period_jobs()] == [*ids, other.id]


async def test_claim_alert_once_per_period(store, clock):
    assert await store.claim_alert("cap-80") is True
    assert await store.claim_alert("cap-80") is False
    assert await store.claim_alert("cap-100") is True
    clock.set("2026-12-01T00:00:00")
    assert await store.claim_alert("cap-80") is True


async def test_audit_clean_after_normal_life(store):
    a = await store.reserve(new_job(), owner="r1", lease_s=30)
    b = await store.reserve(new_job(), owner="r1", lease_s=30)
    await walk(store, a.id)
    await store.finish(a.id, JobState.DELIVERED, expect=[JobState.UPLOADING], billed_seconds=5)
    await store.finish(b.id, JobState.FAILED, expect=[JobState.ACCEPTED], failure_reason="no")
    await store.reserve(new_job(), owner="r1", lease_s=30)  # still running: fine
    assert await store.audit() == []


async def test_audit_finds_problems(store):
    held = await store.reserve(new_job(), owner="r1", lease_s=30)
    charged_failed = await store.reserve(new_job(), owner="r1", lease_s=30)
    await store.settle(charged_failed.id, 5)
    async with store.db.transaction() as tx:  # corrupt on purpose: the API finishes only with the money
        await tx.execute("UPDATE jobs SET state = 'delivered' WHERE id = ?", held.id)
        await tx.execute("UPDATE jobs SET state = 'failed' WHERE id = ?", charged_failed.id)
    wrong = await store.reserve(new_job(), owner="r1", lease_s=30)
    await store.settle(wrong.id, 3)  # neither result_duration nor duration
    problems = await store.audit()
    text = "\n".join(problems)
    assert f"job {held.id}" in text and "still held" in text and "delivered but not charged" in text
    assert f"job {charged_failed.id}" in text and "charged" in text
    assert f"charged {3 * PRICE}, expected {EST}" in text
    assert len(problems) == 4


async def test_audit_finds_negative_amounts(store):
    job = await store.reserve(new_job(), owner="r1", lease_s=30)
    async with store.db.transaction() as tx:  # corrupt on purpose: no API can do this
        await tx.execute("UPDATE jobs SET estimate_micros = -5 WHERE id = ?", job.id)
        await tx.execute("INSERT INTO budgets (user_id, micros, updated_at) VALUES ('U9', -1, 0)")
    problems = await store.audit()
    assert any("estimate_micros is negative" in p for p in problems)
    assert any("budget of U9 is negative" in p for p in problems)


async def test_reserve_rejects_nonsense(store):
    with pytest.raises(ValueError):
        await store.reserve(new_job(duration=0), owner="r1", lease_s=30)
    assert await store.user_jobs("U1") == []
