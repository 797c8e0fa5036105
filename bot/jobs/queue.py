"""The queue as users see it: places and ready estimates in the status messages of queued jobs.

Which queued job starts next is decided in the store (`storage.queue`); the runner asks it whenever a
slot may have freed. This module keeps the waiting users informed without flooding Slack: a status
is edited only when its place changed, at most `MAX_EDITS` per round, front of the queue first.
"""

from __future__ import annotations

import logging
import time

from bot.deps import Deps
from bot.jobs.status import StatusMessage
from storage.models import Job, JobState

log = logging.getLogger(__name__)

# chat.update is Tier 3 (~50/min per workspace, https://api.slack.com/methods/chat.update): places take
# at most MAX_EDITS per MIN_INTERVAL_S of it (30/min), front of the queue first; running jobs need the rest.
MAX_EDITS = 5
MIN_INTERVAL_S = 10.0
ESTIMATE_TTL_S = 10.0  # a flood of queued jobs reads the usual generation time once, not once each


def ready_in(estimate_s: float | None, ahead: int, parallel: int) -> float | None:
    """Rough seconds until a queued job's video is ready: the jobs ahead go `parallel` at a time,
    then its own generation; None without any history of generation times."""
    if estimate_s is None:
        return None
    # Half a generation on average until the next slot frees, then one per round of `parallel` ahead.
    return estimate_s * (1.5 + ahead // max(1, parallel))


async def estimate_for(deps: Deps, job: Job) -> float | None:
    """The usual generation time of this job's model and duration (seconds), None when unknown."""
    return await deps.store.generation_time_estimate(job.model, job.duration)


async def usual_estimate(deps: Deps, job: Job, notices: QueueNotices | None) -> float | None:
    """The usual generation time for `job`: from this process's recent times of its model and
    duration (no query), else `estimate_for` through the runner's brief per-kind memory when there is
    one (a flood of jobs of a kind with no history yet reads the store once, not twice each)."""
    estimate = await deps.generation_times.usual(deps.store, (job.model, job.duration))
    if estimate is None:
        estimate = await (notices.usual_time(job) if notices is not None else estimate_for(deps, job))
    return estimate


async def queued_place(deps: Deps, job: Job, notices: QueueNotices | None) -> tuple[int, float | None]:
    """How many queued jobs start before `job` (the place its ack gave, when there was one), and
    roughly when its video will be ready."""
    ahead = notices.told.pop(job.id, None) if notices is not None else None
    if ahead is None:
        ahead = await deps.store.queue_place(job.id) or 0
    estimate = await usual_estimate(deps, job, notices)
    return ahead, ready_in(estimate, ahead, deps.settings.max_inflight_per_user)


class QueueNotices:
    """Keeps the places shown in this replica's queued jobs' status messages current."""

    def __init__(self, deps: Deps) -> None:
        self._deps = deps
        self._shown: dict[str, int] = {}
        self._busy = False
        self._last = float("-inf")
        self._estimates: dict[tuple[str, int], tuple[float | None, float]] = {}
        self.told: dict[str, int] = {}  # job id -> the place its ack gave (the thread shows the same)

    async def usual_time(self, job: Job) -> float | None:
        """`estimate_for`, remembered for ESTIMATE_TTL_S per model and duration."""
        key, now = (job.model, job.duration), time.monotonic()
        cached = self._estimates.get(key)
        if cached is None or now - cached[1] >= ESTIMATE_TTL_S:
            cached = (await estimate_for(self._deps, job), now)
            self._estimates[key] = cached
        return cached[0]

    def due(self) -> bool:
        """True when a refresh may run now: none running, and none in the last MIN_INTERVAL_S."""
        return not self._busy and time.monotonic() - self._last >= MIN_INTERVAL_S

    async def refresh(self) -> int:
        """Edit the status of queued jobs we own whose place changed; returns how many were edited."""
        if self._busy:
            return 0
        self._busy = True
        try:
            edited = await self._refresh()
        finally:
            self._busy = False
        if edited:  # only edits spend the interval: a round with nothing to say costs Slack nothing
            self._last = time.monotonic()
        return edited

    async def _refresh(self) -> int:
        deps = self._deps
        places = await deps.store.queue_ahead()
        self._shown = {job_id: ahead for job_id, ahead in self._shown.items() if job_id in places}
        changed = sorted(
            (ahead, job_id) for job_id, ahead in places.items() if self._shown.get(job_id) != ahead
        )
        edited = 0
        for ahead, job_id in changed:
            if edited >= MAX_EDITS:
                break
            job = await deps.store.get_job(job_id)
            if (
                job is None
                or job.state is not JobState.QUEUED
                or job.owner != deps.owner
                or job.status_ts is None
            ):
                continue
            estimate = ready_in(await estimate_for(deps, job), ahead, deps.settings.max_inflight_per_user)
            if await StatusMessage(deps).refresh(job, force=True, ahead=ahead, estimate_s=estimate):
                edited += 1
            self._shown[job_id] = ahead
        return edited

    def shown(self, job_id: str, ahead: int) -> None:
        """Note the place a status message was posted with (no edit needed until it changes)."""
        self._shown[job_id] = ahead
