"""The /video form: opened by `/video` with no text, by "Edit and regenerate" or by the message
shortcut, a live cost line, and its submission starting the same flow as the command."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.commands import VideoRequest, check_form, form_choices
from bot.deps import Deps
from bot.jobs.delivery import tell
from bot.jobs.runner import JobRunner
from bot.slack import api as slack_io
from bot.slack.inbound import dig
from bot.ui.blocks.form import (
    FORM_ACTIONS,
    MODAL_CALLBACK,
    form_channel,
    form_thread,
    form_values,
    video_modal,
)
from bot.ui.words import form as form_words
from handlers.start import StartRequest, start_video
from storage.errors import VideobotError
from storage.models import BudgetStatus

log = logging.getLogger(__name__)

# What a form found after it opened (Edit and regenerate: the job's settings, channel and thread;
# the message shortcut: the message's words with names looked up); None leaves it as it opened.
Loaded = tuple[VideoRequest, str, dict[str, str] | None]


def open_form(
    deps: Deps,
    runner: JobRunner,
    *,
    trigger_id: str,
    user_id: str,
    channel_id: str,
    prefill: VideoRequest | None = None,
    thread: dict[str, str] | None = None,
    load: Callable[[], Awaitable[Loaded | None]] | None = None,
) -> None:
    """Open the form in an owned task, the caller having acked: views.open goes first, before any
    database work or lookup (a trigger_id is good for 3 s, once), with `prefill`; then views.update
    fills in the budget and what `load` finds.

    `thread` (thread_ts, response_url) rides along in the form's metadata, so the video goes into
    that thread when the form is submitted.
    """

    def build(
        status: BudgetStatus | None, fill: VideoRequest | None, channel: str, where: dict[str, str] | None
    ) -> dict[str, Any]:
        return video_modal(
            deps.settings,
            status,
            channel_id=channel,
            prompt=fill.prompt if fill else "",
            duration=fill.duration if fill else None,
            ratio=fill.aspect_ratio if fill else None,
            thread=where,
        )

    async def _open() -> None:
        try:
            view_id = await slack_io.open_view(
                client=deps.slack, trigger_id=trigger_id, view=build(None, prefill, channel_id, thread)
            )
        except VideobotError as exc:
            # Slack refuses a late or reused trigger; it cannot be retried, but the user can try again.
            log.warning("form not opened", extra={"event": "form.error", "user": user_id, "error": repr(exc)})
            with contextlib.suppress(VideobotError):
                await tell(
                    deps,
                    user=user_id,
                    channel=channel_id,
                    response_url=(thread or {}).get("response_url"),
                    text=form_words.TOO_LATE,
                    thread_ts=(thread or {}).get("thread_ts"),
                )
            return
        try:
            fill, channel, where = prefill, channel_id, thread
            loaded = await load() if load is not None else None
            if loaded is not None:
                fill, channel, where = loaded
            status = await deps.store.budget_status(user_id)
            await slack_io.update_view(
                client=deps.slack, view_id=view_id, view=build(status, fill, channel, where)
            )
        except VideobotError as exc:
            log.warning("form not filled", extra={"event": "form.error", "user": user_id, "error": repr(exc)})

    runner.spawn(_open(), name=f"form-{user_id}")


async def _refresh(deps: Deps, body: dict[str, Any]) -> None:
    """Redraw the form after a change of length or ratio: the new cost line and what is left."""
    view = body.get("view")
    user_id = str(dig(body, "user", "id") or "")
    if not isinstance(view, dict) or not user_id:
        return
    prompt, duration, ratio = form_values(view)
    # Only checked values reach the estimate; a forged menu value leaves the default.
    seconds, shape = form_choices(duration, ratio, deps.settings)
    status = await deps.store.budget_status(user_id)
    updated = video_modal(
        deps.settings, status, channel_id=form_channel(view), prompt=prompt, duration=seconds, ratio=shape
    )
    updated["private_metadata"] = view.get("private_metadata") or updated["private_metadata"]
    try:
        await slack_io.update_view(
            client=deps.slack, view_id=str(view.get("id")), view=updated, hash=view.get("hash")
        )
    except VideobotError as exc:  # a newer edit won (hash_conflict) or the form was closed
        log.info("form not updated", extra={"event": "form.stale", "user": user_id, "error": repr(exc)})


def register(app: AsyncApp, deps: Deps, runner: JobRunner) -> None:
    """Attach the form's live updates and its submission."""

    @app.action(FORM_ACTIONS[0])
    @app.action(FORM_ACTIONS[1])
    async def form_changed(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        runner.spawn(_refresh(deps, body), name="form-refresh")

    @app.view(MODAL_CALLBACK)
    async def form_submitted(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        checked = check_form(*form_values(view), deps.settings)
        if not isinstance(checked, VideoRequest):
            await ack(response_action="errors", errors=checked)
            return
        thread = form_thread(view)
        start = StartRequest(
            video=checked,
            team_id=str(dig(body, "user", "team_id") or dig(body, "team", "id") or ""),
            user_id=str(dig(body, "user", "id") or ""),
            channel_id=form_channel(view),
            origin="modal",
            response_url=thread.get("response_url"),
            thread_ts=thread.get("thread_ts"),
        )
        answer = await start_video(deps, runner, start)
        if answer.refused:
            await ack(response_action="errors", errors={answer.form_block: answer.text[:150]})
            return
        await ack()
