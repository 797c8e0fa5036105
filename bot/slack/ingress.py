"""Acks before background work: Slack requests being answered, and a way for jobs to step aside.

Slack gives an ack 3 seconds and we aim for well under 100 ms; a job's first steps (two Slack posts
and the gateway create) can wait a moment. In a flood of commands, jobs that were just accepted
wait for a quiet moment before they start, but never longer than `max_defer_s` after they were
accepted, so steady load delays them a little and starves none.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

QUIET_S = 0.02  # no request for this long counts as a quiet moment


class Ingress:
    """Counts the Slack requests in progress and when the last one ended."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, quiet_s: float = QUIET_S) -> None:
        self._clock = clock
        self._quiet_s = quiet_s
        self.busy = 0
        self._last_end = float("-inf")

    @contextmanager
    def serving(self) -> Iterator[None]:
        """Mark one request in progress for the duration of the block."""
        self.busy += 1
        try:
            yield
        finally:
            self.busy -= 1
            self._last_end = self._clock()

    def quiet(self) -> bool:
        """True when no request is in progress and none ended in the last `quiet_s`."""
        return self.busy == 0 and self._clock() - self._last_end >= self._quiet_s

    async def wait_quiet(self, max_wait_s: float) -> None:
        """Return at the next quiet moment, or after `max_wait_s` at the latest."""
        deadline = self._clock() + max_wait_s
        while not self.quiet():
            left = deadline - self._clock()
            if left <= 0:
                return
            await asyncio.sleep(min(self._quiet_s, left))
