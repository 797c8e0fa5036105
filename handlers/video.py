"""`/video`: parse, reserve, ack; the job runner does the slow work after the ack."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot import messages
from bot.commands import ParseError, Subcommand, VideoRequest, parse_video
from bot.deps import Deps
from bot.logs import log_event
from storage.api import NewJob, Refused

log = logging.getLogger(__name__)


def register(app: AsyncApp, deps: Deps) -> None:
    """Attach the /video command listener."""

    @app.command("/video")
    async def video_command(ack: AsyncAck, command: dict[str, Any]) -> None:
        text = await answer_video(deps, command)
        if text is None:
            await ack()
        else:
            await ack(response_type="ephemeral", text=text)


@dataclass(frozen=True)
class StartAnswer:
    """What the user is told after asking for a video; `refused` when nothing was started."""

    text: str
    refused: bool


async def answer_video(deps: Deps, command: dict[str, Any]) -> str | None:
    """Everything /video does before the ack; returns the ephemeral answer (None: nothing to say)."""
    settings = deps.settings
    user_id = str(command.get("user_id", ""))
    text = str(command.get("text", ""))
    if not text.strip() and command.get("trigger_id"):
        from handlers.forms import open_form  # the form module builds on this one

        open_form(
            deps,
            trigger_id=str(command["trigger_id"]),
            user_id=user_id,
            channel_id=str(command.get("channel_id", "")),
        )
        return None
    parsed = parse_video(text, settings)
    if isinstance(parsed, ParseError):
        return parsed.message
    if isinstance(parsed, Subcommand):
        return await _subcommand(deps, parsed, user_id)
    return (await start_video(deps, parsed, command, origin="command")).text


async def _subcommand(deps: Deps, sub: Subcommand, user_id: str) -> str:
    if sub.name == "help":
        return messages.video_help(deps.settings)
    if sub.name == "budget":
        return messages.budget_answer(await deps.store.budget_status(user_id))
    jobs = await deps.store.user_jobs(user_id, 10)
    return messages.history_answer(jobs)


async def start_video(deps: Deps, req: VideoRequest, command: dict[str, Any], *, origin: str) -> StartAnswer:
    """Reserve the money and store the job, then hand it to the runner; returns the user's answer."""
    new = NewJob(
        id=uuid.uuid4().hex,
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
    )
    try:
        job, status = await deps.store.reserve_with_status(
            new, owner=deps.owner, lease_s=deps.settings.lease_s
        )
    except Refused as refused:
        log_event(log, "job.refused", user=new.user_id, reason=refused.reason)
        return StartAnswer(messages.refusal(refused, deps.settings), refused=True)
    log_event(log, "job.accepted", job_id=job.id, user=job.user_id, estimate_micros=job.estimate_micros)
    deps.job_runner().start(job.id)
    return StartAnswer(messages.accepted(job, status), refused=False)
