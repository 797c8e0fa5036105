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
from storage.api import Duplicate, NewJob, Refused

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StartAnswer:
    """What the user is told after asking for a video; `refused` when nothing was started."""

    text: str
    refused: bool
    duplicate: bool = False  # the request was handled before (a retried event): say nothing


async def start_video(
    deps: Deps, req: VideoRequest, command: dict[str, Any], *, origin: str, job_id: str | None = None
) -> StartAnswer:
    """Reserve the money and store the job, then hand it to the runner; returns the user's answer.

    `command["thread_ts"]` puts the video into that existing thread; a `job_id` derived from the
    request makes a repeat of the same request find the job already there (at most one job).
    """
    new = NewJob(
        id=job_id or uuid.uuid4().hex,
        team_id=str(command.get("team_id", "")),
        user_id=str(command.get("user_id", "")),
        channel_id=str(command.get("channel_id", "")),
        prompt=req.prompt,
        duration=req.duration,
        aspect_ratio=req.aspect_ratio,
        model=deps.settings.model,
        price_micros=deps.settings.price_micros,
        response_url=command.get("response_url") or None,
        origin=origin,
        thread_ts=command.get("thread_ts") or None,
    )
    try:
        job, status = await deps.store.reserve_with_status(
            new, owner=deps.owner, lease_s=deps.settings.lease_s
        )
    except Refused as refused:
        log_event(log, "job.refused", user=new.user_id, reason=refused.reason)
        return StartAnswer(messages.refusal(refused, deps.settings), refused=True)
    except Duplicate:
        log_event(log, "job.duplicate", job_id=new.id, user=new.user_id)
        return StartAnswer("", refused=True, duplicate=True)
    log_event(log, "job.accepted", job_id=job.id, user=job.user_id, estimate_micros=job.estimate_micros)
    deps.job_runner().start(job)
    return StartAnswer(messages.accepted(job, status), refused=False)
