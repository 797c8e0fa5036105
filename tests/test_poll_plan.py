"""The poll plan: sparse before the likely window, dense through it, the old pace without history;
Retry-After wins and the deadline clamps. And this process's view of recent generation times that
the plan reads before each poll (a real SQLite store behind it)."""

from __future__ import annotations

import asyncio
import random

import pytest

from bot.gateway.pace import HORIZON_S, RECENT, RELOAD_S, SCOUTS, GenerationTimes
from bot.gateway.polling import MAX_RETRY_AFTER_S, PollPlan, Window, generation_estimate, next_poll_delay
from storage import LedgerConfig, open_store

PLAN = PollPlan()  # dense 1.9 s, sparse ≤ 25 s, old pace 3 s ×1.5 up to 4.5 s, ±5%
WINDOW = Window(low=45.0, high=75.0)
KIND = ("bytedance/seedance-2.0-fast", 5)


def delay(elapsed: float, polls: int = 1, window: Window | None = WINDOW, **kw: float | bool | None) -> float:
    return next_poll_delay(PLAN, elapsed=elapsed, polls=polls, window=window, **kw)  # type: ignore[arg-type]


def test_no_history_keeps_the_old_pace():
    assert [delay(0, polls=n, window=None) for n in range(4)] == pytest.approx([3.0, 4.5, 4.5, 4.5])


def test_no_history_jobs_beyond_the_scouts_poll_sparsely_at_a_random_phase():
    firsts = [delay(0, polls=0, window=None, scout=False, r=r) for r in (0.0, 0.5, 0.99)]
    assert firsts == pytest.approx([25.0, 37.5, 49.75])  # a crowd started together spreads out
    assert delay(30, polls=1, window=None, scout=False) == pytest.approx(25.0)


def test_before_the_window_a_few_even_steps_land_on_its_start():
    first = delay(0, polls=0)
    assert first == pytest.approx(22.5)  # two steps of at most 25 s: 22.5 s, then 45 s
    assert delay(first) == pytest.approx(22.5)
    assert delay(30.0) == pytest.approx(15.0)  # one step: straight to the window's start


def test_dense_through_the_window_and_a_margin_after_it():
    for elapsed in (43.5, 45.0, 60.0, 75.0, 84.0):
        assert delay(elapsed, r=0.0) == pytest.approx(1.9)


def test_after_the_window_it_backs_off_as_before():
    late = [delay(elapsed) for elapsed in (85.01, 86.0, 87.0, 90.0, 300.0)]
    assert late[0] == pytest.approx(3.0, abs=0.01)
    assert late == sorted(late) and late[-1] == pytest.approx(4.5)


def test_jitter_is_small_and_never_stretches_a_dense_gap():
    low, high = delay(300.0, r=0.0), delay(300.0, r=0.999999)
    assert low == pytest.approx(4.5 * 0.95) and high == pytest.approx(4.5 * 1.05)
    low, high = delay(60.0, r=0.999999), delay(60.0, r=0.0)
    assert low == pytest.approx(1.9 * 0.9) and high == pytest.approx(1.9)


def test_retry_after_wins_over_every_phase():
    for elapsed in (0.0, 60.0, 300.0):
        assert delay(elapsed, retry_after=40.0) == pytest.approx(40.0)
    assert delay(60.0, retry_after=MAX_RETRY_AFTER_S * 10) == pytest.approx(MAX_RETRY_AFTER_S)
    assert delay(0.0, window=None, retry_after=7.0) == pytest.approx(7.0)


def test_the_deadline_clamps_even_a_retry_after():
    assert delay(0.0, deadline_left=5.0) == pytest.approx(5.0)
    assert delay(60.0, deadline_left=0.5) == pytest.approx(0.5)
    assert delay(60.0, retry_after=30.0, deadline_left=2.0) == pytest.approx(2.0)
    assert delay(60.0, deadline_left=-3.0) == 0.0


def test_the_plan_scales_with_the_poll_cap_setting():
    fast = PollPlan.for_cap(0.45)
    assert (fast.dense_s, fast.sparse_s, fast.start_s, fast.cap_s) == pytest.approx((0.19, 2.5, 0.3, 0.45))
    assert PollPlan.for_cap(4.5) == PLAN


def test_a_generation_time_is_the_middle_of_the_gap_the_poll_that_found_it_done_closes():
    assert generation_estimate(PLAN, 50.0, 48.4) == pytest.approx(49.2)  # dense: the gap's middle
    # A long gap (the first poll of the window, or the first ever): half a dense step before the poll.
    assert generation_estimate(PLAN, 45.0, 22.5) == pytest.approx(45.0 - 0.95)
    assert generation_estimate(PLAN, 3.0, 0.0) == pytest.approx(3.0 - 0.95)


@pytest.fixture
async def store(tmp_path):
    config = LedgerConfig(
        default_budget_micros=1_000_000,
        period="month",
        max_inflight_per_user=3,
        job_timeout_s=1800,
        clock=lambda: 0.0,
    )
    opened = await open_store(f"sqlite:///{tmp_path}/videobot.db", config)
    yield opened
    await opened.close()


async def test_view_is_seeded_from_the_store_and_fed_by_completions(store):
    for i, seconds in enumerate((50.0, 47.0, 70.0)):
        await store.record_generation_time(*KIND, seconds, float(i))
    now = [1000.0]
    times = GenerationTimes(clock=lambda: now[0])
    assert await times.window(store, KIND) == Window(low=47.0, high=70.0)
    assert await times.window(store, ("other/model", 5)) is None
    times.record(KIND, 72.5)  # this replica's completion
    times.record(KIND, 44.0)
    assert await times.window(store, KIND) == Window(low=44.0, high=72.5)
    # A crowd started together finishes in order: its fast end still counts after many slow ones.
    for _ in range(RECENT * 2):
        times.record(KIND, 60.0)
    now[0] += RELOAD_S
    assert await times.window(store, KIND) == Window(low=44.0, high=72.5)
    now[0] += HORIZON_S  # long after: what was seen here ages out, the store's recent times stay
    assert await times.window(store, KIND) == Window(low=47.0, high=70.0)


async def test_usual_time_is_the_stores_moving_median_without_a_query_each(store):
    times = GenerationTimes()
    assert await times.usual(store, KIND) is None
    for i, seconds in enumerate((40.0, 42.0, 300.0, 41.0, 39.0)):
        await store.record_generation_time(*KIND, seconds, 100.0 + i)
        times.record(KIND, seconds)
    assert await times.usual(store, KIND) == await store.generation_time_estimate(*KIND) == 41.0
    fresh = GenerationTimes()  # another process: seeded from the store
    assert await fresh.usual(store, KIND) == 41.0


async def test_waiting_jobs_are_woken_when_history_appears_or_moves_earlier():
    times = GenerationTimes()
    waiting = asyncio.ensure_future(times.sleep(KIND, 60.0))
    other_kind = asyncio.ensure_future(times.sleep(("other/model", 5), 60.0))
    await asyncio.sleep(0)
    times.record(KIND, 50.0)  # the first completion of this kind
    assert await waiting is True
    assert not other_kind.done()
    later = asyncio.ensure_future(times.sleep(KIND, 60.0))
    await asyncio.sleep(0)
    times.record(KIND, 49.8)  # hardly earlier: no re-planning for that
    times.record(KIND, 70.0)
    await asyncio.sleep(0)
    assert not later.done()
    times.record(KIND, 40.0)  # the window starts 10 s earlier than believed
    assert await later is True
    other_kind.cancel()
    assert await times.sleep(KIND, 0.001) is False  # a plain wait that ran out


def test_scouts_are_the_earliest_jobs_of_a_kind():
    times = GenerationTimes()
    for i in range(SCOUTS + 5):
        times.polling(KIND, f"job{i}", 100.0 + i)
    assert [times.is_scout(KIND, f"job{i}") for i in range(SCOUTS + 5)] == [True] * SCOUTS + [False] * 5
    times.done_polling(KIND, "job0")  # the next earliest takes its place
    assert times.is_scout(KIND, f"job{SCOUTS}")
    assert not times.is_scout(KIND, f"job{SCOUTS + 1}")


async def test_a_window_that_starts_too_late_walks_down_to_where_jobs_really_finish(store):
    """A job polled first at its window's start and found done there took less: recording that start
    would keep the window there forever, and every faster job would wait for it."""
    times = GenerationTimes()
    times.record(KIND, 21.2)  # a scout's late poll: these jobs really take 15 to 25 s
    rng = random.Random(18)
    waits, takes = [], []
    for _ in range(80):  # one after another, each polled as the window stands
        take = rng.uniform(15.0, 25.0)
        elapsed, before, polls = 0.0, 0.0, 0
        while elapsed < take:
            window = await times.window(store, KIND)
            before = elapsed
            elapsed += next_poll_delay(PLAN, elapsed=elapsed, polls=polls, window=window, r=rng.random())
            polls += 1
        waits.append(elapsed - take)
        takes.append(take)
        times.record(KIND, generation_estimate(PLAN, elapsed, before))
    window = await times.window(store, KIND)
    assert window is not None
    assert min(takes) - PLAN.dense_s / 2 - 0.01 <= window.low <= min(takes) + PLAN.dense_s
    # Once it has walked down, a finished job is seen within a dense step, however fast it was.
    assert max(waits[40:]) <= PLAN.dense_s


async def test_a_window_moving_earlier_in_small_steps_wakes_the_jobs_that_planned_with_its_old_start():
    times = GenerationTimes()
    times.record(KIND, 21.0)
    waiting = asyncio.ensure_future(times.sleep(KIND, 60.0))  # planned to poll first at 21 s
    await asyncio.sleep(0)
    times.record(KIND, 20.7)  # each step alone is too small to re-plan for
    await asyncio.sleep(0)
    assert not waiting.done()
    times.record(KIND, 20.4)  # together 0.6 s earlier than the start it planned with
    assert await waiting is True
