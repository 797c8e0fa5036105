"""Starting a video, shared by the command, the form, the buttons and mentions: reserve, store,
hand over."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from typing import Literal

from bot import metrics
from bot.commands import VideoRequest
from bot.deps import Deps
from bot.jobs.runner import JobRunner
from bot.logs import log_event
from bot.ui.words import video as words
from storage.api import NewJob
from storage.errors import Duplicate, Refused, Repeated
from storage.models import JobState

log = logging.getLogger(__name__)

Origin = Literal["command", "modal", "regenerate", "mention"]


@dataclass(frozen=True)
class StartRequest:
    """Who asks for which video, and where: what the command, the form, the buttons and a mention know."""

    video: VideoRequest
    team_id: str
    user_id: str
    channel_id: str
    origin: Origin
    response_url: str | None = None  # the form has none; the job then speaks only in its thread
    # An existing thread the video answers in (a mention, the message shortcut): no parent message.
    thread_ts: str | None = None
    # An id derived from the request (a mention's event): a repeat finds its job stored, starts nothing.
    job_id: str | None = None
    # The Slack request to claim together with the reservation (the /video fast lane): a repeat of it
    # moves nothing and is answered with the first answer.
    request_key: str | None = None


@dataclass(frozen=True)
class StartAnswer:
    """What the user is told after asking for a video; `refused` when nothing was started."""

    text: str
    refused: bool
    form_block: str = "duration"  # where the form shows a refusal: the prompt for a policy refusal
    duplicate: bool = False  # the request was handled before (a retried event): say nothing
    # With `duplicate` for a claimed request (`request_key`): its first answer as stored, if any yet.
    first_answer: str | None = None


async def start_video(deps: Deps, runner: JobRunner, req: StartRequest) -> StartAnswer:
    """Check the content policy, reserve the money and store the job, then hand it to the runner;
    returns the user's answer. Every way to start a video (command, form, buttons, mentions) comes
    through here."""
    if await deps.policy.refuses(deps.store, req.video.prompt):
        # Refused before anything is reserved or stored; only the count is kept, never the prompt.
        # A request Slack may resend (a mention: its job id comes from the event) is counted once.
        if req.request_key is not None:
            claim = await deps.store.claim_request(req.request_key)
            if not claim.first:
                return StartAnswer("", refused=True, duplicate=True, first_answer=claim.answer)
        if req.job_id is None or (await deps.store.claim_request(f"policy:{req.job_id}")).first:
            await deps.store.count_policy_refusal(req.user_id)
        log_event(log, "job.refused", user=req.user_id, reason="policy", origin=req.origin)
        metrics.refusal("policy")
        return StartAnswer(words.POLICY_REFUSAL, refused=True, form_block="prompt")
    new = NewJob(
        id=req.job_id or secrets.token_hex(16),  # 32 hex digits, as uuid4().hex, a fifth of its cost
        team_id=req.team_id,
        user_id=req.user_id,
        channel_id=req.channel_id,
        prompt=req.video.prompt,
        duration=req.video.duration,
        aspect_ratio=req.video.aspect_ratio,
        model=deps.settings.model,
        price_micros=deps.settings.price_micros,
        response_url=req.response_url or None,
        origin=req.origin,
        thread_ts=req.thread_ts,
    )
    try:
        job, status = await deps.store.reserve_with_status(
            new, owner=deps.owner, lease_s=deps.settings.lease_s, request_key=req.request_key
        )
    except Repeated as repeated:
        log_event(log, "request.repeat", key="command")
        return StartAnswer("", refused=True, duplicate=True, first_answer=repeated.answer)
    except Refused as refused:
        log_event(log, "job.refused", user=new.user_id, reason=refused.reason)
        metrics.refusal(str(refused.reason))
        return StartAnswer(words.refusal(refused, deps.settings), refused=True)
    except Duplicate:
        log_event(log, "job.duplicate", job_id=new.id, user=new.user_id)
        return StartAnswer("", refused=True, duplicate=True)
    log_event(
        log,
        "job.accepted",
        job_id=job.id,
        user=job.user_id,
        estimate_micros=job.estimate_micros,
        state=job.state.value,
    )
    metrics.job_reached(job.state.value)
    if job.state is not JobState.QUEUED:
        runner.start(job)
        return StartAnswer(words.accepted(job, status), refused=False)
    ahead = await deps.store.queue_place(job.id)
    if ahead is not None:
        runner.notices.told[job.id] = ahead  # its thread starts with the same place
    runner.start(job)  # announced in its thread with its place and a Cancel button
    runner.want_dispatch()  # it may fit a slot that freed up meanwhile
    return StartAnswer(words.accepted(job, status, ahead), refused=False)
