"""Buttons in a video's thread: Cancel while it waits; Regenerate, Edit and regenerate, Try again after.

Anyone may regenerate (charged to whoever clicks, same budget checks); only the asker may try a
failed video again. A click is recorded before anything starts, so a double click starts one job.
Only the asker and admins may cancel; the cancel is one compare-and-set, so a double click cancels
(and releases the money) once.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot import metrics
from bot.commands import VideoRequest
from bot.deps import Deps
from bot.jobs.delivery import tell
from bot.jobs.runner import JobRunner
from bot.jobs.status import StatusMessage
from bot.logs import log_event
from bot.slack.inbound import dig
from bot.ui.blocks.thread import ACTION_CANCEL, ACTION_EDIT, ACTION_REGENERATE, ACTION_RETRY
from bot.ui.words.thread import (
    cancel_done,
    cancel_refused,
    click_taken,
    job_gone,
    only_owner_may_cancel,
    only_owner_may_retry,
)
from handlers.forms import Loaded, open_form
from handlers.start import StartRequest, start_video
from storage.errors import SlackDeliveryError
from storage.models import Job

log = logging.getLogger(__name__)


async def _tell(deps: Deps, body: dict[str, Any], user: str, channel: str, text: str) -> None:
    """An ephemeral answer to the clicker, through the response_url when there is one."""
    response_url = str(body.get("response_url") or "") or None
    try:
        await tell(deps, user=user, channel=channel, response_url=response_url, text=text)
    except SlackDeliveryError as exc:
        log.warning("click answer lost", extra={"event": "click.error", "user": user, "error": repr(exc)})


def _same_settings(job: Job) -> VideoRequest:
    """What `job` asked for, to ask for it again."""
    return VideoRequest(prompt=job.prompt, duration=job.duration, aspect_ratio=job.aspect_ratio)


async def _clicked(deps: Deps, body: dict[str, Any]) -> tuple[str, Job | None]:
    """Who clicked, and the job the button names; a value that names no job is no job."""
    user = dig(body, "user", "id")
    actions = body.get("actions")
    job_id = dig(actions[0], "value") if isinstance(actions, list) and actions else None
    if not isinstance(user, str) or not isinstance(job_id, str) or not 0 < len(job_id) <= 64:
        return str(user or ""), None
    return user, await deps.store.get_job(job_id)


async def _rerun(deps: Deps, runner: JobRunner, body: dict[str, Any], action: str) -> None:
    user, job = await _clicked(deps, body)
    channel = job.channel_id if job else str(dig(body, "channel", "id") or "")
    if job is None:
        await _tell(deps, body, user, channel, job_gone())
        return
    if action == ACTION_RETRY and user != job.user_id:
        await _tell(deps, body, user, channel, only_owner_may_retry(job.user_id))
        return
    # Recorded first, atomically, in the request store (an hour, across replicas): the second of two
    # quick clicks, each with its own trigger_id, finds the key taken.
    if not (await deps.store.claim_request(f"click:{action}:{job.id}:{user}")).first:
        await _tell(deps, body, user, channel, click_taken(retry=action == ACTION_RETRY))
        return
    request = StartRequest(
        video=_same_settings(job),
        team_id=job.team_id,
        user_id=user,
        channel_id=job.channel_id,
        origin="regenerate",
        response_url=str(body.get("response_url") or "") or None,
        thread_ts=job.thread_ts,  # a video asked for in a team's thread is made again there
    )
    answer = await start_video(deps, runner, request)
    log_event(log, "click", user=user, job_id=job.id, action=action, refused=answer.refused)
    await _tell(deps, body, user, channel, answer.text)


async def _cancel(deps: Deps, runner: JobRunner, body: dict[str, Any]) -> None:
    user, job = await _clicked(deps, body)
    channel = str(dig(body, "channel", "id") or "") or (job.channel_id if job else "")
    if job is None:
        await _tell(deps, body, user, channel, job_gone())
        return
    if user != job.user_id and user not in deps.settings.admins:
        await _tell(deps, body, user, channel, only_owner_may_cancel(job.user_id))
        return
    done = await deps.store.cancel(job.id, user)
    log_event(log, "click", user=user, job_id=job.id, action=ACTION_CANCEL, refused=done is None)
    if done is None:
        await _tell(deps, body, user, channel, cancel_refused(await deps.store.get_job(job.id) or job))
        return
    metrics.job_reached(done.state.value)
    runner.want_dispatch()  # its slot or its place in the queue is free now
    await StatusMessage(deps).refresh(done, force=True, final=True)
    status = await deps.store.budget_status(done.user_id)
    await _tell(deps, body, user, channel, cancel_done(done, status.remaining_micros))


def _edit(deps: Deps, runner: JobRunner, body: dict[str, Any]) -> None:
    """Open the form, then fill it in with the clicked job's settings: views.open goes first (the
    trigger_id is good for 3 s, once), the job is read after it."""
    user = str(dig(body, "user", "id") or "")
    channel = str(dig(body, "channel", "id") or "")

    async def load() -> Loaded | None:
        _, job = await _clicked(deps, body)
        if job is None:
            await _tell(deps, body, user, channel, job_gone())
            return None
        return _same_settings(job), job.channel_id, {"thread_ts": job.thread_ts} if job.thread_ts else None

    open_form(
        deps,
        runner,
        trigger_id=str(body.get("trigger_id", "")),
        user_id=user,
        channel_id=channel,
        load=load,
    )


def register(app: AsyncApp, deps: Deps, runner: JobRunner) -> None:
    """Attach the button listeners."""

    @app.action(ACTION_CANCEL)
    async def cancel(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        runner.spawn(_cancel(deps, runner, body), name="click-cancel")

    @app.action(ACTION_REGENERATE)
    async def regenerate(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        runner.spawn(_rerun(deps, runner, body, ACTION_REGENERATE), name="click-regenerate")

    @app.action(ACTION_RETRY)
    async def retry(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        runner.spawn(_rerun(deps, runner, body, ACTION_RETRY), name="click-retry")

    @app.action(ACTION_EDIT)
    async def edit(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        _edit(deps, runner, body)
