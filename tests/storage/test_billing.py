"""The billing rule: billed seconds, the charge and what is left, the same in Python and in SQL."""

from __future__ import annotations

import pytest

from storage import JobState
from storage.billing import billed_seconds, cost_micros, job_charge, job_overage, remaining_after_charge
from tests.storage.helpers import PRICE, new_job, walk


async def test_charge_follows_the_gateway_duration_capped_at_the_reservation_and_usage_agrees(store):
    longer = await store.reserve(new_job(duration=5), owner="r1", lease_s=30)
    plain = await store.reserve(new_job(duration=4), owner="r1", lease_s=30)
    shorter = await store.reserve(new_job(duration=6), owner="r1", lease_s=30)
    before = await store.budget_status("U1")
    job = await walk(store, longer.id, result_duration=6)
    # Asked 5 s, the gateway says 6: the user pays the 5 s reserved, the 6th is the overage.
    assert billed_seconds(job) == 6 and job_charge(job) == 5 * PRICE and job_overage(job) == PRICE
    # What the user reads while the reservation is still held is what the ledger then records.
    left = remaining_after_charge(before, job)
    done = await store.finish(job.id, JobState.DELIVERED, expect=[JobState.UPLOADING], billed_seconds=6)
    assert (done.charged_micros, done.overage_micros) == (job_charge(job), job_overage(job))
    assert (await store.budget_status("U1")).remaining_micros == left  # the others still reserved
    other = await walk(store, plain.id)  # no result duration: the requested 4 s are billed
    assert billed_seconds(other) == 4
    await store.finish(plain.id, JobState.DELIVERED, expect=[JobState.UPLOADING], billed_seconds=4)
    short = await walk(store, shorter.id, result_duration=3)  # a shorter result charges less
    done = await store.finish(short.id, JobState.DELIVERED, expect=[JobState.UPLOADING], billed_seconds=3)
    assert (done.charged_micros, done.overage_micros) == (3 * PRICE, 0)
    [row] = await store.usage()
    assert row.seconds == 6 + 4 + 3 and row.spent_micros == 12 * PRICE and row.overage_micros == PRICE
    assert await store.audit() == []


async def test_a_result_far_longer_than_asked_never_overspends_a_budget(store_factory):
    store = await store_factory(default_budget_micros=100_000)  # $0.10
    job = await store.reserve(new_job(duration=5), owner="r1", lease_s=30)  # $0.055 reserved
    await walk(store, job.id, result_duration=15)
    done = await store.finish(job.id, JobState.DELIVERED, expect=[JobState.UPLOADING], billed_seconds=15)
    assert (done.charged_micros, done.overage_micros) == (5 * PRICE, 10 * PRICE)
    status = await store.budget_status("U1")
    assert status.spent_micros == 55_000 <= status.limit_micros
    assert await store.audit() == []


async def test_a_zero_or_negative_result_length_bills_what_was_asked(store):
    for reported in (0, -15):
        job = await store.reserve(new_job(duration=4), owner="r1", lease_s=30)
        walked = await walk(store, job.id, result_duration=reported)
        assert billed_seconds(walked) == 4
        done = await store.finish(
            job.id, JobState.DELIVERED, expect=[JobState.UPLOADING], billed_seconds=billed_seconds(walked)
        )
        assert (done.charged_micros, done.overage_micros) == (4 * PRICE, 0)
    assert (await store.usage())[0].seconds == 8


def test_cost_is_exact_and_refuses_negative_seconds():
    assert cost_micros(15, 11_000) == 165_000
    with pytest.raises(ValueError):
        cost_micros(-1, 11_000)
