"""`/video`: parse, reserve, ack; the job runner does the slow work after the ack."""

from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.commands import ParseError, Subcommand, VideoRequest, parse_video
from bot.deps import Deps
from bot.jobs.runner import JobRunner
from bot.slack.inbound import request_key
from bot.slack.once import BOLT_JSON, AnswerBook, answer_to_keep, replayed_answer
from bot.slack.transports import FastLane
from bot.ui.words import video as words
from handlers.forms import open_form
from handlers.start import StartRequest, start_video

log = logging.getLogger(__name__)
_JSON = "application/json"


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

    The request arrives verified and parsed (`bot.slack.transports`); the answer is byte for byte
    what the Bolt listener above gives (`ephemeral`; a test compares them), so Slack cannot tell the
    two apart. The request is claimed in the reservation's own transaction (one trip to the database
    instead of three): a repeat moves nothing and gets the first answer. Everything else (the form,
    help, budget, history, other commands and payloads) takes Bolt's path: the lane answers None.
    """
    answers = AnswerBook(deps.store, runner.spawn)

    async def lane(body: dict[str, Any]) -> web.Response | None:
        text = body.get("text") or ""
        if body.get("command") != "/video" or "ssl_check" in body or not text.strip():
            return None
        parsed = parse_video(text, deps.settings)
        if isinstance(parsed, Subcommand):
            return None
        if isinstance(parsed, ParseError):  # the same answer every time, nothing moved: nothing to claim
            return web.Response(body=_ephemeral_body(parsed.message).encode(), content_type=_JSON)
        key = request_key(body)
        try:
            started = await start_video(deps, runner, _start_request(body, parsed, key))
        except Exception:
            log.exception("the /video fast lane failed")  # as Bolt's listener error handler: a 500
            return web.Response(status=500)
        if started.duplicate:
            return await to_aiohttp_response(replayed_answer(started.first_answer))
        answer = _ephemeral_body(started.text)
        if key is not None:
            # For repeats only: the claim (and the job) committed before this answer goes out.
            answers.keep(key, answer_to_keep(200, answer, BOLT_JSON))
        return web.Response(body=answer.encode(), content_type=_JSON)

    return lane


def _ephemeral_body(text: str) -> str:
    """The body Bolt answers for `ack(response_type="ephemeral", text=text)` (slack_bolt's
    `_set_response`, sent by its aiohttp adapter as application/json)."""
    return json.dumps({"text": text, "response_type": "ephemeral"})


async def answer_subcommand(deps: Deps, sub: Subcommand, user_id: str) -> str:
    """The answer to `help`, `budget` or `history` (after /video or a mention)."""
    if sub.name == "help":
        return words.video_help(deps.settings)
    if sub.name == "budget":
        return words.budget_answer(await deps.store.budget_status(user_id))
    jobs = await deps.store.user_jobs(user_id, 10)
    return words.history_answer(jobs)
