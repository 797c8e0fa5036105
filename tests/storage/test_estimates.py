"""Generation-time estimates: a moving median per model and duration, shared by replicas, on both backends."""

from __future__ import annotations

import math

import pytest

from storage.estimates import KEEP, WINDOW

MODEL = "bytedance/seedance-2.0-fast"


async def test_no_history_no_estimate(store):
    assert await store.generation_time_estimate(MODEL, 5) is None
    await store.record_generation_time("other/model", 5, 30.0, 1.0)
    assert await store.generation_time_estimate(MODEL, 5) is None


async def test_median_of_recent_ignores_outliers(store):
    for i, seconds in enumerate([40.0, 42.0, 300.0, 41.0, 39.0]):
        await store.record_generation_time(MODEL, 5, seconds, 100.0 + i)
    assert await store.generation_time_estimate(MODEL, 5) == 41.0
    await store.record_generation_time(MODEL, 5, 44.0, 200.0)
    assert await store.generation_time_estimate(MODEL, 5) == 41.5  # even count: mean of the middle two


async def test_only_the_last_window_counts(store):
    for i in range(WINDOW):
        await store.record_generation_time(MODEL, 5, 100.0, float(i))
    for i in range(WINDOW // 2 + 1):  # a majority of the window is now fast
        await store.record_generation_time(MODEL, 5, 20.0, 1000.0 + i)
    assert await store.generation_time_estimate(MODEL, 5) == 20.0


async def test_recent_times_oldest_first_for_one_model_and_duration(store):
    for i, seconds in enumerate([61.0, 48.0, 70.0, 55.0]):
        await store.record_generation_time(MODEL, 5, seconds, 100.0 + i)
    await store.record_generation_time(MODEL, 10, 99.0, 200.0)
    await store.record_generation_time("other/model", 5, 5.0, 201.0)
    assert await store.recent_generation_times(MODEL, 5, 3) == [48.0, 70.0, 55.0]
    assert await store.recent_generation_times(MODEL, 5, 10) == [61.0, 48.0, 70.0, 55.0]
    assert await store.recent_generation_times(MODEL, 6, 10) == []


async def test_other_durations_scale(store):
    await store.record_generation_time(MODEL, 5, 50.0, 1.0)  # 10 s per second of video
    await store.record_generation_time(MODEL, 10, 80.0, 2.0)  # 8 s per second
    await store.record_generation_time(MODEL, 4, 36.0, 3.0)  # 9 s per second
    assert await store.generation_time_estimate(MODEL, 12) == pytest.approx(108.0)
    assert await store.generation_time_estimate(MODEL, 5) == 50.0  # its own history wins


async def test_shared_by_replicas_and_kept_bounded(store_factory):
    one = await store_factory()
    two = await store_factory()
    for i in range(KEEP + 10):
        await one.record_generation_time(MODEL, 6, 60.0 + (i % 3), float(i))
    assert await two.generation_time_estimate(MODEL, 6) == 61.0
    async with one.db.transaction() as tx:
        kept = await tx.fetchval("SELECT COUNT(*) FROM generation_times")
    assert int(kept) == KEEP


@pytest.mark.parametrize("duration, seconds", [(0, 10.0), (-5, 10.0), (5, -1.0), (5, math.nan)])
async def test_nonsense_is_refused(store, duration, seconds):
    with pytest.raises(ValueError):
        await store.record_generation_time(MODEL, duration, seconds, 1.0)
    assert await store.generation_time_estimate(MODEL, 5) is None
