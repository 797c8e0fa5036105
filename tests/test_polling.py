"""The polling primitive: delays, jitter, Retry-After, deadlines."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest

from bot.gateway.polling import (
    MAX_RETRY_AFTER_S,
    Backoff,
    Deadline,
    jittered,
    parse_retry_after,
    poll_delay,
    retry_delay,
)


class FakeClock:
    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_backoff_grows_by_factor_to_cap_within_jitter():
    backoff = Backoff(start_s=2.0, factor=1.5, cap_s=5.0, jitter=0.1, rng=random.Random(1))
    expected = [2.0, 3.0, 4.5, 5.0, 5.0, 5.0]
    for nominal in expected:
        delay = backoff.next_delay()
        assert nominal * 0.9 <= delay <= nominal * 1.1


def test_backoff_jitter_spreads_delays():
    delays = {Backoff(rng=random.Random(seed)).next_delay() for seed in range(20)}
    assert len(delays) > 10
    assert all(1.8 <= d <= 2.2 for d in delays)


def test_backoff_without_jitter_is_exact_and_reset_starts_over():
    backoff = Backoff(start_s=2.0, factor=1.5, cap_s=30.0, jitter=0.0)
    assert [backoff.next_delay() for _ in range(3)] == [2.0, 3.0, 4.5]
    backoff.reset()
    assert backoff.next_delay() == 2.0


def test_backoff_retry_after_wins_when_longer_but_not_when_shorter():
    backoff = Backoff(start_s=2.0, jitter=0.0)
    assert backoff.next_delay(retry_after=7.0) == 7.0
    assert backoff.next_delay(retry_after=0.5) == 3.0  # the growth continued underneath
    assert backoff.next_delay(retry_after=10_000) == MAX_RETRY_AFTER_S


def test_backoff_hold_applies_to_the_next_delay_only():
    backoff = Backoff(start_s=2.0, jitter=0.0)
    backoff.hold(9.0)
    assert backoff.next_delay() == 9.0
    assert backoff.next_delay() == 3.0


def test_backoff_refuses_nonsense():
    with pytest.raises(ValueError):
        Backoff(factor=0.5)
    with pytest.raises(ValueError):
        Backoff(jitter=1.5)


def test_deadline_and_poll_delay_clamp_then_stop():
    clock = FakeClock()
    deadline = Deadline.after(5.0, clock=clock)
    backoff = Backoff(start_s=2.0, factor=2.0, cap_s=30.0, jitter=0.0)
    assert poll_delay(backoff, deadline) == 2.0
    clock.now += 2.0
    assert poll_delay(backoff, deadline) == 3.0  # 4.0 wanted, 3.0 left
    clock.now += 3.0
    assert deadline.expired
    assert deadline.remaining() == 0.0
    assert poll_delay(backoff, deadline) is None


def test_poll_delay_without_deadline_never_stops():
    backoff = Backoff(start_s=1.0, jitter=0.0, cap_s=1.0)
    assert [poll_delay(backoff, None) for _ in range(3)] == [1.0, 1.0, 1.0]


def test_parse_retry_after_seconds_date_and_garbage():
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(" 2.5 ") == 2.5
    assert parse_retry_after("-4") == 0.0
    assert parse_retry_after("99999") == MAX_RETRY_AFTER_S
    assert parse_retry_after(None) is None
    assert parse_retry_after("") is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("nan") is None
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC).timestamp()
    date = format_datetime(datetime(2026, 1, 1, 12, 0, 20, tzinfo=UTC), usegmt=True)
    assert parse_retry_after(date, now=now) == 20.0
    past = format_datetime(datetime(2025, 1, 1, tzinfo=UTC), usegmt=True)
    assert parse_retry_after(past, now=now) == 0.0


def test_retry_delay_exponential_ceiling_and_retry_after():
    rng = random.Random(7)
    for attempt, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 8.0), (9, 8.0)]:
        delay = retry_delay(attempt, base_s=0.5, cap_s=8.0, rng=rng)
        assert ceiling / 2 <= delay <= ceiling
    assert retry_delay(1, base_s=0.5, cap_s=8.0, retry_after=30.0) == 30.0
    assert retry_delay(1, base_s=0.5, cap_s=8.0, retry_after=600.0) == MAX_RETRY_AFTER_S


def test_jittered_is_bounded_and_non_negative():
    rng = random.Random(3)
    values = [jittered(10.0, 0.1, rng) for _ in range(200)]
    assert min(values) >= 9.0 and max(values) <= 11.0
    assert jittered(0.0, 0.5) == 0.0
