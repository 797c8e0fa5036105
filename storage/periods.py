"""Budget periods on the UTC calendar: the key a job counts in and when the period resets."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

from storage.api import PeriodKind

TOTAL_KEY = "total"
_EPOCH_DAY = date(1970, 1, 1)
DAY_S = 86_400  # a UTC day in POSIX time (no leap seconds)


def _utc_date(now: float) -> date:
    return _day(math.floor(now / DAY_S))


@lru_cache(maxsize=16)
def _day(number: int) -> date:
    """UTC day `number` since the epoch (every reservation asks; the answer changes once a day)."""
    return _EPOCH_DAY + timedelta(days=number)


def _epoch(day: date) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()


def period_key(kind: PeriodKind, now: float) -> str:
    """The key of the period containing `now`: "2026-11-05", "2026-W45", "2026-11" or "total"."""
    return _period_key(kind, math.floor(now / DAY_S))


@lru_cache(maxsize=16)
def _period_key(kind: PeriodKind, day: int) -> str:
    today = _day(day)
    if kind == "day":
        return today.isoformat()
    if kind == "week":
        year, week, _ = today.isocalendar()
        return f"{year}-W{week:02d}"
    if kind == "month":
        return f"{today.year:04d}-{today.month:02d}"
    if kind == "total":
        return TOTAL_KEY
    raise ValueError(f"unknown budget period {kind!r}")


def period_start(kind: PeriodKind, now: float) -> float | None:
    """Epoch seconds at which the period containing `now` began; None for `total`."""
    today = _utc_date(now)
    if kind == "day":
        return _epoch(today)
    if kind == "week":
        return _epoch(today - timedelta(days=today.weekday()))  # ISO weeks start on Monday
    if kind == "month":
        return _epoch(today.replace(day=1))
    if kind == "total":
        return None
    raise ValueError(f"unknown budget period {kind!r}")


def resets_at(kind: PeriodKind, now: float) -> float | None:
    """Epoch seconds at which the next period starts; None for `total`, which never resets."""
    return _resets_at(kind, math.floor(now / DAY_S))


@lru_cache(maxsize=16)
def _resets_at(kind: PeriodKind, day: int) -> float | None:
    today = _day(day)
    if kind == "day":
        return _epoch(today + timedelta(days=1))
    if kind == "week":
        return _epoch(today + timedelta(days=7 - today.weekday()))
    if kind == "month":
        if today.month == 12:
            return _epoch(date(today.year + 1, 1, 1))
        return _epoch(date(today.year, today.month + 1, 1))
    if kind == "total":
        return None
    raise ValueError(f"unknown budget period {kind!r}")
