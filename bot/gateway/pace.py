"""This process's view of recent generation times, for planning polls (see `bot.gateway.polling`).

A poll plan is decided before every poll, so it must not cost a database query: each model and
duration's recent times are read from the store once, then fed by this replica's completions and
read again every RELOAD_S (for other replicas' ones). Jobs waiting for their next poll wait here,
and are woken when their kind's window starts earlier than it did (its first completion, say), so
a crowd of jobs started without history is re-planned as soon as history appears.
"""

from __future__ import annotations

import asyncio
import heapq
import statistics
import time
from collections import deque
from collections.abc import Callable
from typing import Protocol

from bot.gateway.polling import Window
from storage.estimates import WINDOW as ESTIMATE_WINDOW

Kind = tuple[str, int]  # model, duration
RECENT = 64  # generation times per kind read from the store for its window
SCOUTS = 8  # without history, this many of a kind's earliest jobs keep the old pace
RELOAD_S = 60.0
HORIZON_S = 600.0  # every generation seen here this recently counts in the window
SEEN_MAX = 10_000
WAKE_EARLIER_S = 0.5  # a window starting this much earlier re-plans the jobs waiting for it (less than
# the half dense step a job found done at its first poll moves it: see `generation_estimate`)


class TimesSource(Protocol):
    async def recent_generation_times(self, model: str, duration_s: int, limit: int) -> list[float]: ...


def _settle(future: asyncio.Future[bool], woken: bool) -> None:
    if not future.done():
        future.set_result(woken)


class GenerationTimes:
    """Recent generation times per kind, the jobs polling for each kind, and their wake-ups."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._stored: dict[Kind, list[float]] = {}  # the last RECENT in the store, at the last read
        self._seen: dict[Kind, deque[tuple[float, float]]] = {}  # (when, seconds) finished here
        self._times: dict[Kind, deque[float]] = {}  # the last few, for the usual time
        self._windows: dict[Kind, Window] = {}
        self._loaded_at: dict[Kind, float] = {}
        self._waiters: dict[Kind, set[asyncio.Future[bool]]] = {}
        self._polling: dict[Kind, dict[str, float]] = {}  # job id → submitted_at
        self._scout_limit: dict[Kind, float] = {}  # the latest submitted_at among the scouts
        self._planned_low: dict[Kind, float] = {}  # the window's start the waiting jobs planned with

    async def window(self, store: TimesSource, kind: Kind) -> Window | None:
        """Where recent generations of `kind` ended; None without history."""
        now = self._clock()
        loaded = self._loaded_at.get(kind)
        if loaded is None or now - loaded >= RELOAD_S:
            self._loaded_at[kind] = now  # one read at a time: the others use what is here
            stored = await store.recent_generation_times(kind[0], kind[1], RECENT)
            self._stored[kind] = stored
            if kind not in self._times or not self._seen.get(kind):
                self._times[kind] = deque(stored[-ESTIMATE_WINDOW:], maxlen=ESTIMATE_WINDOW)
            self._rebuild(kind)
        return self._windows.get(kind)

    async def usual(self, store: TimesSource, kind: Kind) -> float | None:
        """The moving median of `kind`'s recent generation times, as `Store.generation_time_estimate`
        gives it for the same model and duration; None without history of that kind here."""
        await self.window(store, kind)
        times = self._times.get(kind)
        if not times:
            return None
        return float(statistics.median(times))

    def record(self, kind: Kind, seconds: float) -> None:
        """A job of `kind` finished generating after `seconds` (the store is told too)."""
        self._seen.setdefault(kind, deque(maxlen=SEEN_MAX)).append((self._clock(), seconds))
        self._times.setdefault(kind, deque(maxlen=ESTIMATE_WINDOW)).append(seconds)
        before = self._windows.get(kind)
        if before is None:
            self._update(kind, Window(low=seconds, high=seconds))
        elif not before.low <= seconds <= before.high:
            self._update(kind, Window(low=min(before.low, seconds), high=max(before.high, seconds)))

    def _rebuild(self, kind: Kind) -> None:
        """The window from the store's recent times and every one seen here within HORIZON_S: a crowd
        started together finishes in order, so the last few alone would only show its slow end."""
        seen = self._seen.get(kind)
        if seen:
            horizon = self._clock() - HORIZON_S
            while seen and seen[0][0] < horizon:
                seen.popleft()
        times = [*self._stored.get(kind, ()), *(s for _, s in seen or ())]
        if times:
            self._update(kind, Window(low=min(times), high=max(times)))

    def _update(self, kind: Kind, window: Window) -> None:
        """A new window for `kind`; its waiting jobs are woken to re-plan when it starts WAKE_EARLIER_S
        earlier than the start they planned with, whether at once or in small steps."""
        self._windows[kind] = window
        planned = self._planned_low.get(kind)
        if planned is None or window.low < planned - WAKE_EARLIER_S:
            self._planned_low[kind] = window.low
            for future in self._waiters.pop(kind, set()):
                _settle(future, True)
        elif window.low > planned:  # later (old times aged out): jobs plan with this start from now
            self._planned_low[kind] = window.low

    async def sleep(self, kind: Kind, seconds: float) -> bool:
        """Wait `seconds`; True when woken early because `kind`'s window moved earlier."""
        if seconds <= 0:
            return False
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()
        timer = loop.call_later(seconds, _settle, future, False)
        waiters = self._waiters.setdefault(kind, set())
        waiters.add(future)
        try:
            return await future
        finally:
            timer.cancel()
            self._waiters.get(kind, set()).discard(future)

    def polling(self, kind: Kind, job_id: str, submitted_at: float) -> None:
        """`job_id` of `kind` is being polled (for choosing scouts)."""
        self._polling.setdefault(kind, {})[job_id] = submitted_at
        self._scout_limit.pop(kind, None)

    def done_polling(self, kind: Kind, job_id: str) -> None:
        jobs = self._polling.get(kind)
        if jobs is not None and jobs.pop(job_id, None) is not None:
            self._scout_limit.pop(kind, None)
            if not jobs:
                del self._polling[kind]

    def is_scout(self, kind: Kind, job_id: str) -> bool:
        """Whether `job_id` is one of the SCOUTS earliest jobs of `kind` being polled here."""
        jobs = self._polling.get(kind, {})
        if len(jobs) <= SCOUTS or job_id not in jobs:
            return True
        limit = self._scout_limit.get(kind)
        if limit is None:
            limit = self._scout_limit[kind] = heapq.nsmallest(SCOUTS, jobs.values())[-1]
        return jobs[job_id] <= limit
