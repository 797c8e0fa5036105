"""Polling as a small primitive: growing delays with jitter, Retry-After, and an overall deadline.

Everything here is pure (the random source and the clock are injectable), so the job runner and
the gateway client share one tested notion of "how long to wait next".
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime

MAX_RETRY_AFTER_S = 60.0


def jittered(delay: float, jitter: float, rng: random.Random | None = None) -> float:
    """`delay` spread uniformly by ±`jitter` (a fraction), never negative."""
    r = rng.random() if rng is not None else random.random()
    return max(0.0, delay * (1.0 + jitter * (2.0 * r - 1.0)))


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta seconds or HTTP date); None if unreadable."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


def retry_delay(
    attempt: int,
    *,
    base_s: float,
    cap_s: float,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Delay before retry number `attempt` (1-based): full-jitter exponential, at least Retry-After."""
    ceiling = min(cap_s, base_s * (2.0 ** max(0, attempt - 1)))
    r = rng.random() if rng is not None else random.random()
    # Full jitter between half and all of the ceiling keeps retries spread without going to zero.
    delay = ceiling * (0.5 + 0.5 * r)
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER_S))
    return delay


@dataclass
class Backoff:
    """Poll delays: `start_s`, then ×`factor` up to `cap_s`, each ±`jitter`; Retry-After wins if longer."""

    start_s: float = 2.0
    factor: float = 1.5
    cap_s: float = 30.0
    jitter: float = 0.1
    rng: random.Random | None = None
    _next: float = field(init=False, repr=False)
    _hold: float | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.start_s < 0 or self.cap_s < 0 or self.factor < 1 or not 0 <= self.jitter < 1:
            raise ValueError("Backoff needs start_s, cap_s >= 0, factor >= 1 and 0 <= jitter < 1")
        self._next = min(self.start_s, self.cap_s)

    def next_delay(self, retry_after: float | None = None) -> float:
        """The next delay to sleep; grows the following one."""
        delay = jittered(self._next, self.jitter, self.rng)
        self._next = min(self._next * self.factor, self.cap_s)
        if self._hold is not None:
            retry_after = max(retry_after or 0.0, self._hold)
            self._hold = None
        if retry_after is not None:
            delay = max(delay, min(retry_after, MAX_RETRY_AFTER_S))
        return delay

    def hold(self, retry_after: float) -> None:
        """Make the next delay at least `retry_after` seconds (a server's Retry-After)."""
        self._hold = max(self._hold or 0.0, retry_after)

    def reset(self) -> None:
        """Start again from `start_s` (e.g. after the job visibly moved)."""
        self._next = min(self.start_s, self.cap_s)


@dataclass(frozen=True)
class Deadline:
    """A point in time (on `clock`) after which polling gives up."""

    at: float
    clock: Callable[[], float] = time.monotonic

    @classmethod
    def after(cls, seconds: float, clock: Callable[[], float] = time.monotonic) -> Deadline:
        """A deadline `seconds` from now."""
        return cls(at=clock() + seconds, clock=clock)

    def remaining(self) -> float:
        """Seconds left, never negative."""
        return max(0.0, self.at - self.clock())

    @property
    def expired(self) -> bool:
        """True once the overall deadline has passed."""
        return self.clock() >= self.at


def poll_delay(backoff: Backoff, deadline: Deadline | None, retry_after: float | None = None) -> float | None:
    """How long to sleep before the next poll, clamped to the deadline; None once the deadline passed."""
    if deadline is not None and deadline.expired:
        return None
    delay = backoff.next_delay(retry_after)
    if deadline is not None:
        delay = min(delay, deadline.remaining())
    return delay


# --- predictive polling -------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """When recent generations of one model and duration finished, in seconds after submission."""

    low: float
    high: float


@dataclass(frozen=True)
class PollPlan:
    """How a job is polled: sparsely until its window, densely through it, then the old pace.

    Without a window (no history yet) a scout (one of the first jobs of its kind) keeps the old pace
    (`start_s`, ×`factor`, up to `cap_s`); the others poll every `sparse_s` at a random phase, so a
    crowd of them still notices the first completions soon, and are re-planned when history appears.
    """

    dense_s: float = 1.9  # through the window: a finished video is noticed within this
    sparse_s: float = 25.0  # longest wait before the window (and without history, for non-scouts)
    start_s: float = 3.0
    factor: float = 1.5
    cap_s: float = 4.5
    jitter: float = 0.05
    late_margin_s: float = 10.0  # dense this long past the slowest recent generation

    @classmethod
    def for_cap(cls, cap_s: float) -> PollPlan:
        """The plan whose old pace tops out at `cap_s` (the setting); every interval scales with it."""
        k = cap_s / cls.cap_s
        return cls(
            dense_s=cls.dense_s * k,
            sparse_s=cls.sparse_s * k,
            start_s=cls.start_s * k,
            cap_s=cap_s,
            late_margin_s=cls.late_margin_s * k,
        )


def generation_estimate(plan: PollPlan, seen_s: float, before_s: float) -> float:
    """A job's generation time, from the poll `seen_s` seconds after submission that found it done
    and the one before it, at `before_s` (0: none), that did not: the middle of that gap, or half a
    dense step before `seen_s` when the gap is longer.

    The poll that finds it done alone would be biased late, and could never move a window earlier:
    a job polled first at its window's start would record that start however early it finished, so
    the window would keep it forever. Half a step earlier each time such a poll finds the job done,
    the window's start walks down to where jobs really finish (at most half a step below them)."""
    gap = max(0.0, seen_s - before_s)
    return max(0.0, seen_s - min(gap, plan.dense_s) / 2.0)


def next_poll_delay(
    plan: PollPlan,
    *,
    elapsed: float,
    polls: int,
    window: Window | None,
    scout: bool = True,
    r: float = 0.5,
    retry_after: float | None = None,
    deadline_left: float | None = None,
) -> float:
    """Seconds from a poll (or the submission, `polls` == 0) made `elapsed` seconds after submission
    to the next poll. `r` in [0, 1) is this poll's random draw (jitter, phase). A Retry-After wins;
    the result never passes the job's deadline."""
    spread = 1.0 + plan.jitter * (2.0 * r - 1.0)
    if window is None:
        if scout:
            delay = min(plan.start_s * plan.factor**polls, plan.cap_s) * spread
        else:
            # The first wait at a random phase, so that polls of a crowd started together spread out.
            delay = plan.sparse_s * ((1.0 + r) if polls == 0 else spread)
    elif elapsed < window.low - plan.dense_s:
        gap = window.low - elapsed  # land on the window's start, in even steps of at most sparse_s
        delay = gap / math.ceil(gap / plan.sparse_s)
    elif elapsed <= window.high + plan.late_margin_s:
        delay = plan.dense_s * (1.0 - 2.0 * plan.jitter * r)  # jittered below: never a longer gap
    else:
        # Late: back off as before (geometric from start_s, as if the old pace began at the end).
        late = elapsed - window.high - plan.late_margin_s
        delay = min(plan.start_s + (plan.factor - 1.0) * late, plan.cap_s) * spread
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER_S))
    if deadline_left is not None:
        delay = min(delay, max(0.0, deadline_left))
    return delay
