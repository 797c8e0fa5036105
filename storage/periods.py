"""Budget periods on the UTC calendar: the key a job counts in and when the period resets."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from storage.api import PeriodKind

TOTAL_KEY = "total"


def _utc_date(now: float) -> date:
    return datetime.fromtimestamp(now, UTC).date()


def _epoch(day: date) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()


def period_key(kind: PeriodKind, now: float) -> str:
    """The key of the period containing `now`: "2026-11-05", "2026-W45", "2026-11" or "total"."""
    today = _utc_date(now)
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
    today = _utc_date(now)
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
