"""`/video`: parse, reserve, ack; the job runner does the slow work after the ack."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.commands import ParseError, Subcommand, parse_video
from bot.deps import Deps
from bot.jobs.runner import JobRunner
from bot.ui.words import video as words
from handlers.forms import open_form
from handlers.start import StartRequest, start_video


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
    request = StartRequest(
        video=parsed,
        team_id=str(command.get("team_id", "")),
        user_id=user_id,
        channel_id=channel_id,
        origin="command",
        response_url=str(command.get("response_url") or "") or None,
    )
    return (await start_video(deps, runner, request)).text


async def answer_subcommand(deps: Deps, sub: Subcommand, user_id: str) -> str:
    """The answer to `help`, `budget` or `history` (after /video or a mention)."""
    if sub.name == "help":
        return words.video_help(deps.settings)
    if sub.name == "budget":
        return words.budget_answer(await deps.store.budget_status(user_id))
    jobs = await deps.store.user_jobs(user_id, 10)
    return words.history_answer(jobs)
