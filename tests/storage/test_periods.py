"""Budget periods on the UTC calendar, and roll-over of spend (reservations carry over) on both backends."""

from __future__ import annotations

import pytest

from storage.periods import period_key, period_start, resets_at
from tests.storage.helpers import EST_DEFAULT, at, new_job


@pytest.mark.parametrize(
    ("kind", "now", "key", "start", "reset"),
    [
        ("day", "2026-11-10T23:59:59", "2026-11-10", "2026-11-10T00:00:00", "2026-11-11T00:00:00"),
        ("day", "2026-12-31T12:00:00", "2026-12-31", "2026-12-31T00:00:00", "2027-01-01T00:00:00"),
        ("week", "2026-11-10T12:00:00", "2026-W46", "2026-11-09T00:00:00", "2026-11-16T00:00:00"),
        ("week", "2026-11-15T23:59:59", "2026-W46", "2026-11-09T00:00:00", "2026-11-16T00:00:00"),
        ("week", "2026-11-16T00:00:00", "2026-W47", "2026-11-16T00:00:00", "2026-11-23T00:00:00"),
        # ISO week-years: 2027-01-01 (a Friday) still belongs to 2026's week 53.
        ("week", "2027-01-01T08:00:00", "2026-W53", "2026-12-28T00:00:00", "2027-01-04T00:00:00"),
        ("month", "2026-11-30T23:59:59", "2026-11", "2026-11-01T00:00:00", "2026-12-01T00:00:00"),
        ("month", "2026-12-15T00:00:00", "2026-12", "2026-12-01T00:00:00", "2027-01-01T00:00:00"),
        ("month", "2028-02-29T10:00:00", "2028-02", "2028-02-01T00:00:00", "2028-03-01T00:00:00"),
    ],
)
def test_period_calendar(kind, now, key, start, reset):
    assert period_key(kind, at(now)) == key
    assert period_start(kind, at(now)) == at(start)
    assert resets_at(kind, at(now)) == at(reset)


def test_total_never_resets():
    for when in ("1999-01-01T00:00:00", "2026-11-10T12:00:00"):
        assert period_key("total", at(when)) == "total"
        assert resets_at("total", at(when)) is None
        assert period_start("total", at(when)) is None


def test_unknown_period_refused():
    with pytest.raises(ValueError):
        period_key("year", 0.0)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kind", "first", "same", "next_period"),
    [
        ("day", "2026-11-10T08:00:00", "2026-11-10T23:59:59", "2026-11-11T00:00:00"),
        ("week", "2026-11-09T00:00:00", "2026-11-15T23:59:00", "2026-11-16T00:00:01"),
        ("month", "2026-11-01T00:00:00", "2026-11-30T23:59:59", "2026-12-01T00:00:00"),
    ],
)
async def test_spent_resets_reserved_carries(store_factory, clock, kind, first, same, next_period):
    store = await store_factory(period=kind, default_budget_micros=3 * EST_DEFAULT)
    clock.set(first)
    charged = await store.reserve(new_job(), owner="r1", lease_s=30)
    await store.settle(charged.id, 5)
    held = await store.reserve(new_job(), owner="r1", lease_s=30)
    clock.set(same)
    status = await store.budget_status("U1")
    assert (status.spent_micros, status.reserved_micros) == (EST_DEFAULT, EST_DEFAULT)
    assert status.resets_at == resets_at(kind, at(first))
    clock.set(next_period)
    status = await store.budget_status("U1")
    assert (status.spent_micros, status.reserved_micros) == (0, EST_DEFAULT)
    assert status.period == period_key(kind, at(next_period)) != charged.period
    # The held job settles later, but counts in the period it was reserved in.
    await store.settle(held.id, 5)
    assert (await store.budget_status("U1")).spent_micros == 0
    assert (await store.workspace_status()).spent_micros == 0
    # Room for three again: spent is zero this period.
    for _ in range(3):
        await store.reserve(new_job(), owner="r1", lease_s=30)
    assert [u.jobs for u in await store.usage()] == [3]
    assert len(await store.period_jobs()) == 3


async def test_total_period_accumulates_forever(store_factory, clock):
    store = await store_factory(period="total", default_budget_micros=2 * EST_DEFAULT)
    job = await store.reserve(new_job(), owner="r1", lease_s=30)
    await store.settle(job.id, 5)
    clock.set("2031-06-01T00:00:00")
    status = await store.budget_status("U1")
    assert (status.period, status.spent_micros, status.resets_at) == ("total", EST_DEFAULT, None)
    await store.reserve(new_job(), owner="r1", lease_s=30)
    with pytest.raises(Exception, match="budget"):
        await store.reserve(new_job(), owner="r1", lease_s=30)
