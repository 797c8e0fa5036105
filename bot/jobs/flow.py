"""One job's life: submit, announce (at Slack's pace), poll, download, upload, finish. Every step is
persisted first.

Which state may follow which is `storage.states.TRANSITIONS`; the store checks every move against it.

A step that is repeated (after a crash, or by a second replica) does nothing twice: transitions are
compare-and-set in the store, and money moves only with the finishing transition.
"""

from __future__ import annotations

import contextlib
import logging
import random
from pathlib import Path
from typing import Any

from bot import metrics
from bot.deps import START_DEFER_MAX_S, Deps
from bot.gateway.client import CreateRequest, GatewayJob
from bot.gateway.media import download_result
from bot.gateway.pace import Kind
from bot.gateway.polling import PollPlan, generation_estimate, next_poll_delay
from bot.jobs.alerts import check_alerts
from bot.jobs.delivery import announce, deliver, post_failure
from bot.jobs.queue import QueueNotices, queued_place, usual_estimate
from bot.jobs.status import StatusMessage
from bot.jobs.ticket import EarlyTicket
from bot.logs import log_event
from bot.ui.words import reasons
from bot.ui.words.reasons import user_reason
from bot.ui.words.thread import STATUS_WAITING_FOR_SLACK
from storage.billing import billed_seconds
from storage.errors import GatewayBadResponse, GatewayError, JobLost, MediaError, VideobotError
from storage.models import Job, JobState

log = logging.getLogger(__name__)

S = JobState
_POLLING = (S.SUBMITTED, S.GENERATING)
MAX_UNREADABLE_POLLS = 3  # each already retried by the gateway client
WAITING_NOTICE_S = 3.0  # an upload that will wait longer than this for Slack says so in the status


async def drive_job(deps: Deps, job: Job, notices: QueueNotices | None = None) -> None:
    """Drive a job from where it stood when it was stored or claimed to a finished state (a stale
    copy does no harm: every step is a compare-and-set, and a job moved elsewhere is JobLost).
    `notices` (the runner's) keeps the places shown in queued jobs' threads current."""
    if job.state.finished:
        return
    flow = JobFlow(deps, job, notices)
    try:
        await flow.run()
    except JobLost:
        log_event(log, "job.lost", job_id=job.id, user=job.user_id)
        await flow.show_if_cancelled()
    finally:
        flow.cleanup()


class JobFlow:
    """The steps of one job; `self.job` is always the last stored version."""

    def __init__(self, deps: Deps, job: Job, notices: QueueNotices | None = None) -> None:
        self.deps = deps
        self.job = job
        self.notices = notices
        self.store = deps.store
        self.status = StatusMessage(deps)
        self.file: Path | None = None
        self._ticket = EarlyTicket(deps)  # asked for while downloading
        self.resumed = job.state not in (S.ACCEPTED, S.QUEUED) or job.status_ts is not None
        self._estimate: float | None = None
        self._estimated = False
        self._generation: tuple[float, float] | None = None  # seconds, when: to store after the download

    async def run(self) -> None:
        """Take the job step by step from its stored state to a finished one."""
        while not self.job.state.finished:
            state = self.job.state
            if state is S.QUEUED:
                if not await self._wait_in_queue():
                    return
            elif state is S.ACCEPTED:
                async with self.deps.start_gate:
                    await self._step_aside()
                    await self._submit()
            elif state is S.SUBMITTING:
                await self._unsure_create()
            elif state in _POLLING:
                if self.job.status_ts is None:
                    await self._announce()  # at Slack's pace, while the gateway already works
                await self._poll()
            elif state is S.DOWNLOADING:
                await self._download()
            else:
                await self._upload()

    async def _step_aside(self) -> None:
        """A new job lets the acks of a flood of commands go first (see bot.slack.ingress), for at most
        START_DEFER_MAX_S after it was accepted; a resumed job starts at once."""
        if self.resumed:
            return
        left = self.job.created_at + START_DEFER_MAX_S - self.deps.clock()
        if left > 0:
            await self.deps.ingress.wait_quiet(left)

    async def _wait_in_queue(self) -> bool:
        """Show a queued job in its thread (place, estimate, Cancel); True when it has started since."""
        if self.job.status_ts is None:
            # Announced like a starting job: a few at a time, after the acks of a flood of commands.
            async with self.deps.start_gate:
                await self._step_aside()
                ahead, ready = await queued_place(self.deps, self.job, self.notices)
                try:
                    self.job = await announce(
                        self.deps, self.job, fence=self._hold, ahead=ahead, estimate_s=ready
                    )
                except VideobotError as exc:
                    await self._fail(user_reason(exc))
                    return False
            if self.notices is not None:
                self.notices.shown(self.job.id, ahead)
        fresh = await self.store.get_job(self.job.id)
        if fresh is None or fresh.state is S.QUEUED:
            return False  # the runner starts it when the queue gives it a slot
        self.job = fresh
        if fresh.state is S.CANCELLED:
            await self._show_final()
            return False
        return not fresh.state.finished

    async def show_if_cancelled(self) -> None:
        """After losing the job: if it was cancelled meanwhile (maybe before its status message existed,
        so the canceller could not edit it), show that in the thread."""
        fresh = await self.store.get_job(self.job.id)
        if fresh is not None and fresh.state is S.CANCELLED:
            self.job = fresh
            await self._show_final()

    async def _usual_time(self) -> float | None:
        """The usual generation time for this job, read once per flow."""
        if not self._estimated:
            self._estimate, self._estimated = await usual_estimate(self.deps, self.job, self.notices), True
        return self._estimate

    def cleanup(self) -> None:
        """Delete the downloaded file, if any."""
        self.status.close()
        self._ticket.drop()
        if self.file is not None:
            with contextlib.suppress(OSError):
                self.file.unlink()
            self.file = None

    # --- persistence ----------------------------------------------------------------------------
    async def _store(self, to: JobState, **fields: Any) -> Job:
        """Compare-and-set from our last known state, as the owner; JobLost when it did not match."""
        new = await self.store.transition(
            self.job.id, to, expect=[self.job.state], owner=self.deps.owner, **fields
        )
        if new is None:
            raise JobLost(self.job.id)
        return new

    async def _move(self, to: JobState, **fields: Any) -> None:
        new = await self._store(to, **fields)
        log_event(
            log, "job.transition", job_id=new.id, user=new.user_id, src=self.job.state.value, dst=to.value
        )
        if to is not self.job.state:
            metrics.job_reached(to.value)
        self.job = new

    async def _finish(self, to: JobState, *, reason: str | None = None, billed: int | None = None) -> None:
        fields: dict[str, Any] = {}
        if reason is not None:
            fields["failure_reason"] = reason
        new = await self.store.finish(
            self.job.id, to, expect=[self.job.state], owner=self.deps.owner, billed_seconds=billed, **fields
        )
        if new is None:
            raise JobLost(self.job.id)
        log_event(
            log,
            "job.transition",
            job_id=new.id,
            user=new.user_id,
            src=self.job.state.value,
            dst=to.value,
            charged_micros=new.charged_micros,
            reason=reason,
        )
        metrics.job_finished(to.value, self.deps.clock() - new.created_at, new.charged_micros)
        self.job = new

    async def _hold(self, **fields: Any) -> None:
        """Fence before Slack sees anything: extend our lease on this job (an owner-guarded write that
        also stores `fields`), or raise JobLost when another replica took the job over meanwhile."""
        fields["lease_until"] = self.deps.clock() + self.deps.settings.lease_s
        self.job = await self._store(self.job.state, **fields)

    async def _fail(self, reason: str, *, expired: bool = False, announce: bool = True) -> None:
        if announce and self.job.status_ts is None:
            await self._announce()  # the failure is told in the request's thread, as any other
        await self._finish(S.EXPIRED if expired else S.FAILED, reason=reason)
        budget = await self.store.budget_status(self.job.user_id)
        await self._show_final()
        await post_failure(self.deps, self.job, budget)

    async def _show_final(self) -> None:
        """The last edit of the status message, with the buttons for what to do next."""
        await self.status.refresh(self.job, force=True, final=True)

    def _past_deadline(self) -> bool:
        return self.deps.clock() >= self.job.deadline_at

    # --- steps ----------------------------------------------------------------------------------
    async def _submit(self) -> None:
        """Straight to the gateway: Slack's pace never delays a generation (the thread follows)."""
        await self._move(S.SUBMITTING, attempts=self.job.attempts + 1)
        request = CreateRequest(
            model=self.job.model,
            prompt=self.job.prompt,
            duration=self.job.duration,
            aspect_ratio=self.job.aspect_ratio,
        )
        try:
            answer = await self.deps.gateway.create_job(request, idempotency_key=self.job.id)
        except GatewayError as exc:
            await self.store.update(self.job.id, last_error=repr(exc)[:500])
            await self._fail(user_reason(exc))
            return
        await self._move(S.SUBMITTED, gateway_job_id=answer.id, submitted_at=self.deps.clock())
        # This edit also takes the Cancel button away: the gateway cannot cancel.
        await self.status.refresh(self.job, force=True, estimate_s=await self._usual_time())

    async def _announce(self) -> bool:
        """The parent message and status in the channel (or the DM); False when Slack took neither
        (the job goes on, and delivery tries again)."""
        try:
            self.job = await announce(
                self.deps, self.job, fence=self._hold, estimate_s=await self._usual_time()
            )
        except VideobotError as exc:
            await self.store.update(self.job.id, last_error=repr(exc)[:500])
            log_event(log, "job.announce_failed", job_id=self.job.id, user=self.job.user_id, error=repr(exc))
            return False
        return True

    async def _unsure_create(self) -> None:
        # We crashed between "about to send the create" and "the gateway gave us an id": the job may
        # exist at the gateway, but sending the create again could start a second paid job.
        await self._fail(reasons.REASON_UNSURE_CREATE)

    async def _poll(self) -> None:
        kind = (self.job.model, self.job.duration)
        submitted = self.job.submitted_at if self.job.submitted_at is not None else self.deps.clock()
        self.deps.generation_times.polling(kind, self.job.id, submitted)
        try:
            await self._poll_until_done(kind, submitted)
        finally:
            self.deps.generation_times.done_polling(kind, self.job.id)

    async def _poll_until_done(self, kind: Kind, submitted: float) -> None:
        """Poll where the video is likely to be ready (see `PollPlan`) until the job moves on."""
        assert self.job.gateway_job_id is not None
        plan = PollPlan.for_cap(self.deps.settings.poll_max_interval_s)
        last, polls, unreadable = submitted, 0, 0
        answered = submitted  # the last poll answered "not done yet"
        retry_after: float | None = None
        while self.job.state in _POLLING:
            await self._wait_to_poll(plan, kind, submitted, last, polls, retry_after)
            if self._past_deadline():
                await self._fail(reasons.REASON_TIMEOUT, expired=True)
                return
            last, polls, retry_after = self.deps.clock(), polls + 1, None
            try:
                answer = await self.deps.gateway.get_job(self.job.gateway_job_id)
            except GatewayError as exc:
                await self.store.update(self.job.id, last_error=repr(exc)[:500])
                unreadable = unreadable + 1 if isinstance(exc, GatewayBadResponse) else 0
                # An answer we cannot read, again and again, will not heal by waiting 30 minutes.
                if not exc.retryable or unreadable >= MAX_UNREADABLE_POLLS:
                    await self._fail(user_reason(exc))
                    return
                last, retry_after = self.deps.clock(), exc.retry_after  # counted from the answer
                continue
            unreadable = 0
            await self._on_answer(answer, generation_estimate(plan, last - submitted, answered - submitted))
            answered = last

    async def _wait_to_poll(
        self, plan: PollPlan, kind: Kind, submitted: float, last: float, polls: int, retry_after: float | None
    ) -> None:
        """Sleep until the plan's next poll after the one at `last`; re-planned when woken because
        this kind's history moved (e.g. its first generation finished)."""
        times, r = self.deps.generation_times, random.random()
        while True:
            window = await times.window(self.store, kind)
            delay = next_poll_delay(
                plan,
                elapsed=last - submitted,
                polls=polls,
                window=window,
                scout=window is not None or times.is_scout(kind, self.job.id),
                r=r,
                retry_after=retry_after,
                deadline_left=self.job.deadline_at - last,
            )
            if not await times.sleep(kind, last + delay - self.deps.clock()):
                return

    async def _on_answer(self, answer: GatewayJob, generation_s: float) -> None:
        """`generation_s`: how long the job took to generate, if this answer says it is done."""
        if answer.status == "completed" and answer.result is not None:
            self._generated(generation_s)
            await self._move(
                S.DOWNLOADING,
                result_url=answer.result.url,
                result_duration=answer.result.duration,
                result_resolution=answer.result.resolution,
            )
        elif answer.status == "failed":
            detail = answer.error.message if answer.error is not None else None
            await self._fail(reasons.reason_gateway_failed(detail))
        elif answer.status == "processing" and self.job.state is S.SUBMITTED:
            await self._move(S.GENERATING)
        if self.job.state in _POLLING:
            now = self.deps.clock()
            await self.status.refresh(self.job, now=now, estimate_s=await self._usual_time())

    def _generated(self, seconds: float) -> None:
        """This job's generation time feeds the poll plans at once (the store follows the download)."""
        if self.job.submitted_at is None:  # submitted before the column existed
            return
        self._generation = (seconds, self.deps.clock())
        self.deps.generation_times.record((self.job.model, self.job.duration), seconds)

    async def _download(self) -> None:
        # No status edit here: the download starts the moment the job is seen completed, and the
        # next edit ("uploading") follows within seconds.
        fetched = await self._fetch()
        if self._generation is not None:  # for the estimates shown to later jobs (and other replicas)
            seconds, now = self._generation
            self._generation = None
            await self.store.record_generation_time(self.job.model, self.job.duration, seconds, now)
        if fetched:
            await self._move(S.UPLOADING)

    async def _fetch(self) -> bool:
        assert self.job.result_url is not None
        settings = self.deps.settings
        try:
            async with self.deps.download_gate:
                self.file = await download_result(
                    http=self.deps.http,
                    url=self.job.result_url,
                    allowed_origins=settings.media_origins,
                    max_bytes=settings.max_video_bytes,
                    min_rate_bytes_per_s=settings.download_min_rate_kbps * 1024,
                    rate_grace_s=settings.download_grace_s,
                    stall_timeout_s=max(settings.download_grace_s, 5.0),
                    on_length=lambda length: self._ticket.ask(self.job, length),
                )
        except MediaError as exc:
            self._ticket.drop()
            await self.store.update(self.job.id, last_error=repr(exc)[:500])
            log_event(log, "job.media_refused", job_id=self.job.id, user=self.job.user_id, error=repr(exc))
            await self._fail(user_reason(exc))
            return False
        return True

    async def _upload(self) -> None:
        if self.job.status_ts is None and not await self._announce():
            await self._fail(reasons.REASON_SLACK_UNREACHABLE, announce=False)
            return
        if self.deps.pacer.backlog_s("files.completeUploadExternal") > WAITING_NOTICE_S:
            await self.status.show(self.job, STATUS_WAITING_FOR_SLACK, force=True)
        else:
            await self.status.refresh(self.job, force=True)
        # The rest of the delivery, its last status edit and the alerts included, holds a slot: in a
        # wave of finished videos, deliveries queue here (costing nothing while they wait) instead of
        # taking the event loop from the polls and downloads that notice the next ones.
        async with self.deps.delivery_gate:
            if self.file is None and not await self._fetch():
                return
            assert self.file is not None
            try:
                await deliver(self.deps, self.job, self.file, hold=self._hold, ticket=self._ticket.task)
            finally:
                self.cleanup()
            await self._finish(S.DELIVERED, billed=billed_seconds(self.job))
            await self._show_final()
            await check_alerts(self.deps, self.job.user_id)
