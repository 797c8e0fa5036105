"""The job runner: owns one asyncio task per job this replica holds, and the lease loop.

Every task is kept in a registry with a done-callback that logs what it raised; `close()` cancels
and awaits them all. Leases make one replica the owner of a job; a replica that dies stops renewing,
and the next lease loop of another replica (or of this one after a restart) takes the job over.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Coroutine
from typing import Any

from bot import metrics
from bot.deps import Deps
from bot.jobs.flow import drive_job
from bot.jobs.queue import QueueNotices
from bot.logs import log_event
from storage.models import Job, JobState

log = logging.getLogger(__name__)


class JobRunner:
    """Start, track and stop the tasks that drive jobs to a finished state."""

    def __init__(self, deps: Deps) -> None:
        self._deps = deps
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._side_tasks: set[asyncio.Task[None]] = set()
        self._lease_task: asyncio.Task[None] | None = None
        self._dispatch_task: asyncio.Task[None] | None = None
        self._dispatch_wanted = asyncio.Event()
        self.notices = QueueNotices(deps)
        self._again: set[str] = set()  # started from the queue while their queued task was finishing
        self._closing = False
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def active(self) -> int:
        """Jobs being driven right now."""
        return len(self._tasks)

    def start(self, job: Job) -> None:
        """Drive `job` (as just stored) in a task of its own, unless one already does."""
        if self._closing or job.id in self._tasks:
            return
        task = asyncio.create_task(drive_job(self._deps, job, self.notices), name=f"job-{job.id}")
        self._tasks[job.id] = task
        metrics.JOBS_IN_FLIGHT.inc()
        self._idle.clear()
        task.add_done_callback(functools.partial(self._done, job.id))

    def _set_idle_if_none_left(self) -> None:
        if not self._tasks and not self._side_tasks and self._dispatch_task is None:
            self._idle.set()

    def _done(self, job_id: str, task: asyncio.Task[None]) -> None:
        self._tasks.pop(job_id, None)
        metrics.JOBS_IN_FLIGHT.dec()
        if job_id in self._again:
            self._again.discard(job_id)
            self.spawn(self._resume(job_id), name=f"resume-{job_id}")
        self.want_dispatch()  # a slot may have freed up
        self._set_idle_if_none_left()
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            log.error("job task crashed", exc_info=exc, extra={"event": "job.crashed", "job_id": job_id})

    def spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        """Run slow follow-up work of a handler (after its ack) in an owned, logged task."""
        if self._closing:
            coro.close()
            return
        task = asyncio.create_task(coro, name=name)
        self._side_tasks.add(task)
        self._idle.clear()
        task.add_done_callback(self._side_done)

    def _side_done(self, task: asyncio.Task[None]) -> None:
        self._side_tasks.discard(task)
        self._set_idle_if_none_left()
        if not task.cancelled() and task.exception() is not None:
            log.error("background task crashed", exc_info=task.exception(), extra={"event": "task.crashed"})

    def want_dispatch(self) -> None:
        """Ask for queued jobs to be started where slots are free (requests coalesce into one round)."""
        if self._closing:
            return
        self._dispatch_wanted.set()
        if self._dispatch_task is None:
            self._dispatch_task = asyncio.create_task(self._dispatch_loop(), name="queue-dispatch")
            self._idle.clear()

    async def _dispatch_loop(self) -> None:
        try:
            while self._dispatch_wanted.is_set() and not self._closing:
                self._dispatch_wanted.clear()
                try:
                    await self.dispatch_once()
                except Exception:
                    log.exception("queue dispatch failed", extra={"event": "queue.error"})
        finally:
            self._dispatch_task = None
            self._set_idle_if_none_left()

    async def dispatch_once(self) -> int:
        """Start the queued jobs the free slots allow (fair order, in the store); returns how many this
        replica started. Jobs another live replica holds are started by that replica's lease loop."""
        started = await self._deps.store.start_queued(self._deps.owner, self._deps.settings.lease_s)
        mine = 0
        for job in started:
            log_event(log, "job.dequeued", job_id=job.id, user=job.user_id, owner=job.owner)
            metrics.job_reached(job.state.value)
            if job.owner != self._deps.owner:
                continue
            if job.id in self._tasks:
                self._again.add(job.id)  # its queued task may have looked just before: go again after it
            else:
                self.start(job)
            mine += 1
        if started and self.notices.due():
            self.spawn(self._refresh_places(), name="queue-places")
        return mine

    async def _resume(self, job_id: str) -> None:
        """Drive a job that left the queue while its previous task was ending, if nobody does."""
        job = await self._deps.store.get_job(job_id)
        if job is not None and job.owner == self._deps.owner and job.state is not JobState.QUEUED:
            self.start(job)  # a finished job's task returns at once

    async def _refresh_places(self) -> None:
        await self.notices.refresh()

    async def wait_idle(self) -> None:
        """Until no job task runs (tests and the demo use it)."""
        await self._idle.wait()

    def start_lease_loop(self) -> None:
        """Claim unowned jobs now (restart recovery) and every few seconds after."""
        if self._lease_task is None:
            self._lease_task = asyncio.create_task(self._lease_loop(), name="lease-loop")

    async def claim_once(self) -> int:
        """Renew our leases, take over orphaned jobs and start them; returns how many were started."""
        settings = self._deps.settings
        store = self._deps.store
        await store.renew(self._deps.owner, settings.lease_s)
        # Replicas share the workspace's Slack rate limits: each paces at its share of them.
        self._deps.pacer.set_replicas(await store.heartbeat(self._deps.owner, settings.lease_s))
        started = 0
        # The jobs this replica drives already are leased, not read back (thousands in flight).
        held = await store.claim(self._deps.owner, settings.lease_s, known=frozenset(self._tasks))
        for job in held:
            if job.state is JobState.QUEUED and job.status_ts is not None:
                continue  # shown in its thread already; it waits for the queue, not for a task
            if job.id not in self._tasks:
                log_event(log, "job.resumed", job_id=job.id, user=job.user_id, state=job.state.value)
                self.start(job)
                started += 1
        await self._drop_lost()
        started += await self.dispatch_once()  # slots freed on other replicas, or by a crash
        if self.notices.due():
            await self.notices.refresh()  # places that moved since the last refresh was skipped
        return started

    async def _drop_lost(self) -> None:
        """Cancel the tasks of jobs another replica took over (we were stalled past our lease)."""
        lost = set(self._tasks) & await self._deps.store.taken_by_others(self._deps.owner)
        for job_id in lost:
            task = self._tasks.get(job_id)
            if task is not None:
                log_event(log, "job.lease_lost", job_id=job_id)
                task.cancel()

    async def _lease_loop(self) -> None:
        interval = max(0.2, self._deps.settings.lease_s / 3)
        while not self._closing:
            try:
                await self.claim_once()
            except Exception:
                log.exception("lease loop failed; retrying", extra={"event": "lease.error"})
            await asyncio.sleep(interval)

    async def close(self, timeout: float = 8.0) -> None:
        """Stop taking jobs, cancel every task, wait for them, and hand our leases back."""
        self._closing = True
        tasks = [*self._tasks.values(), *self._side_tasks]
        for loop_task in (self._lease_task, self._dispatch_task):
            if loop_task is not None:
                tasks.append(loop_task)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)
        with contextlib.suppress(Exception):
            await self._deps.store.drop_leases(self._deps.owner)
