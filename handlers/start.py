"""Starting a video, shared by the command, the form and the buttons: reserve, store, hand over."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from bot.commands import VideoRequest
from bot.deps import Deps
from bot.logs import log_event
from bot.ui import messages
from storage.api import NewJob, Refused
from storage.models import JobState

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StartAnswer:
    """What the user is told after asking for a video; `refused` when nothing was started."""

    text: str
    refused: bool
    form_block: str = "duration"  # where the form shows a refusal: the prompt for a policy refusal


async def start_video(deps: Deps, req: VideoRequest, command: dict[str, Any], *, origin: str) -> StartAnswer:
    """Check the content policy, reserve the money and store the job, then hand it to the runner;
    returns the user's answer. Every way to start a video (command, form, buttons) comes through here."""
    user_id = str(command.get("user_id", ""))
    if await deps.policy.refuses(deps.store, req.prompt):
        # Refused before anything is reserved or stored; only the count is kept, never the prompt.
        await deps.store.count_policy_refusal(user_id)
        log_event(log, "job.refused", user=user_id, reason="policy", origin=origin)
        return StartAnswer(messages.POLICY_REFUSAL, refused=True, form_block="prompt")
    new = NewJob(
        id=uuid.uuid4().hex,
        team_id=str(command.get("team_id", "")),
        user_id=user_id,
        channel_id=str(command.get("channel_id", "")),
        prompt=req.prompt,
        duration=req.duration,
        aspect_ratio=req.aspect_ratio,
        model=deps.settings.model,
        price_micros=deps.settings.price_micros,
        response_url=command.get("response_url") or None,
        origin=origin,
    )
    try:
        job, status = await deps.store.reserve_with_status(
            new, owner=deps.owner, lease_s=deps.settings.lease_s
        )
    except Refused as refused:
        log_event(log, "job.refused", user=new.user_id, reason=refused.reason)
        return StartAnswer(messages.refusal(refused, deps.settings), refused=True)
    log_event(
        log,
        "job.accepted",
        job_id=job.id,
        user=job.user_id,
        estimate_micros=job.estimate_micros,
        state=job.state.value,
    )
    runner = deps.job_runner()
    if job.state is not JobState.QUEUED:
        runner.start(job)
        return StartAnswer(messages.accepted(job, status), refused=False)
    ahead = await deps.store.queue_place(job.id)
    if ahead is not None:
        runner.notices.told[job.id] = ahead  # its thread starts with the same place
    runner.start(job)  # announced in its thread with its place and a Cancel button
    runner.want_dispatch()  # it may fit a slot that freed up meanwhile
    return StartAnswer(messages.accepted(job, status, ahead), refused=False)
