"""`/video`: parse, reserve, ack; the job runner does the slow work after the ack."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.response import BoltResponse

from bot.commands import ParseError, Subcommand, VideoRequest, parse_video
from bot.deps import Deps
from bot.jobs.runner import JobRunner
from bot.slack.inbound import request_key
from bot.slack.once import replayed_answer, stored_answer
from bot.slack.transports import FastLane
from bot.ui.words import video as words
from handlers.forms import open_form
from handlers.start import StartRequest, start_video

log = logging.getLogger(__name__)


def register(app: AsyncApp, deps: Deps, runner: JobRunner) -> None:
    """Attach the /video command listener."""

    @app.command("/video")
    async def video_command(ack: AsyncAck, command: dict[str, Any]) -> None:
        text = await answer_video(deps, runner, command)
        if text is None:
            await ack()
        else:
            await ack(response_type="ephemeral", text=text)


async def answer_video(deps: Deps, runner: JobRunner, command: dict[str, Any]) -> str | None:
    """Everything /video does before the ack; returns the ephemeral answer (None: nothing to say)."""
    settings = deps.settings
    user_id = str(command.get("user_id", ""))
    channel_id = str(command.get("channel_id", ""))
    text = str(command.get("text", ""))
    if not text.strip() and command.get("trigger_id"):
        open_form(deps, runner, trigger_id=str(command["trigger_id"]), user_id=user_id, channel_id=channel_id)
        return None
    parsed = parse_video(text, settings)
    if isinstance(parsed, ParseError):
        return parsed.message
    if isinstance(parsed, Subcommand):
        return await answer_subcommand(deps, parsed, user_id)
    return (await start_video(deps, runner, _start_request(command, parsed))).text


def _start_request(command: dict[str, Any], video: VideoRequest, key: str | None = None) -> StartRequest:
    return StartRequest(
        video=video,
        team_id=str(command.get("team_id", "")),
        user_id=str(command.get("user_id", "")),
        channel_id=str(command.get("channel_id", "")),
        origin="command",
        response_url=str(command.get("response_url") or "") or None,
        request_key=key,
    )


def fast_lane(deps: Deps, runner: JobRunner) -> FastLane:
    """`/video <prompt>` past Bolt's dispatch (HTTP mode), for the ack's latency under a flood.

    The request arrives verified and parsed (`bot.slack.transports`); the answer is what the Bolt
    listener above gives, made by Bolt's own `ack`, so Slack cannot tell the two apart. The request
    is claimed in the reservation's own transaction (one trip to the database instead of three):
    a repeat moves nothing and gets the first answer. Everything else (the form, help, budget,
    history, other commands and payloads) takes Bolt's path: the lane answers None.
    """

    async def lane(body: dict[str, Any]) -> BoltResponse | None:
        text = body.get("text") or ""
        if body.get("command") != "/video" or "ssl_check" in body or not text.strip():
            return None
        parsed = parse_video(text, deps.settings)
        if isinstance(parsed, Subcommand):
            return None
        ack = AsyncAck()  # type: ignore[no-untyped-call]
        if isinstance(parsed, ParseError):  # the same answer every time, nothing moved: nothing to claim
            return await ack(response_type="ephemeral", text=parsed.message)
        key = request_key(body)
        try:
            started = await start_video(deps, runner, _start_request(body, parsed, key))
        except Exception:
            log.exception("the /video fast lane failed")  # as Bolt's listener error handler: a 500
            return BoltResponse(status=500)
        if started.duplicate:
            return replayed_answer(started.first_answer)
        response = await ack(response_type="ephemeral", text=started.text)
        if key is not None:
            # For repeats only: the claim (and the job) committed before this answer goes out.
            runner.spawn(deps.store.record_answer(key, stored_answer(response)), name="record-answer")
        return response

    return lane


async def answer_subcommand(deps: Deps, sub: Subcommand, user_id: str) -> str:
    """The answer to `help`, `budget` or `history` (after /video or a mention)."""
    if sub.name == "help":
        return words.video_help(deps.settings)
    if sub.name == "budget":
        return words.budget_answer(await deps.store.budget_status(user_id))
    jobs = await deps.store.user_jobs(user_id, 10)
    return words.history_answer(jobs)
