"""The billing rule: billed seconds, the charge and what is left, the same in Python and in SQL."""

from __future__ import annotations

import pytest

from storage import JobState
from storage.billing import billed_seconds, cost_micros, job_charge, remaining_after_charge
from tests.storage.helpers import PRICE, new_job, walk


async def test_charge_follows_the_gateway_duration_and_usage_agrees(store):
    longer = await store.reserve(new_job(duration=5), owner="r1", lease_s=30)
    plain = await store.reserve(new_job(duration=4), owner="r1", lease_s=30)
    before = await store.budget_status("U1")
    job = await walk(store, longer.id, result_duration=6)
    assert billed_seconds(job) == 6 and job_charge(job) == 6 * PRICE
    # What the user reads while the reservation is still held is what the ledger then records.
    left = remaining_after_charge(before, job)
    done = await store.finish(job.id, JobState.DELIVERED, expect=[JobState.UPLOADING], billed_seconds=6)
    assert done.charged_micros == job_charge(job)
    assert (await store.budget_status("U1")).remaining_micros == left  # plain's 4 s still reserved
    other = await walk(store, plain.id)  # no result duration: the requested 4 s are billed
    assert billed_seconds(other) == 4
    await store.finish(plain.id, JobState.DELIVERED, expect=[JobState.UPLOADING], billed_seconds=4)
    [row] = await store.usage()
    assert row.seconds == 6 + 4 and row.spent_micros == 10 * PRICE


def test_cost_is_exact_and_refuses_negative_seconds():
    assert cost_micros(15, 11_000) == 165_000
    with pytest.raises(ValueError):
        cost_micros(-1, 11_000)
