"""The /video form: opened by `/video` with no text or by "Edit and regenerate", a live cost line,
and its submission starting the same flow as the command."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.commands import MAX_PROMPT_CHARS, VideoRequest, clean_text
from bot.deps import Deps
from bot.jobs.runner import JobRunner
from bot.slack import api as slack_io
from bot.ui.blocks.form import FORM_ACTIONS, MODAL_CALLBACK, form_channel, form_values, video_modal
from bot.ui.words import video as words
from handlers.start import StartRequest, start_video
from storage.errors import VideobotError

log = logging.getLogger(__name__)


def open_form(
    deps: Deps,
    runner: JobRunner,
    *,
    trigger_id: str,
    user_id: str,
    channel_id: str,
    prefill: VideoRequest | None = None,
) -> None:
    """Open the form in an owned task: the caller acks first, views.open follows within the 3 s."""

    async def _open() -> None:
        status = await deps.store.budget_status(user_id)
        view = video_modal(
            deps.settings,
            status,
            channel_id=channel_id,
            prompt=prefill.prompt if prefill else "",
            duration=prefill.duration if prefill else None,
            ratio=prefill.aspect_ratio if prefill else None,
        )
        try:
            await slack_io.open_view(client=deps.slack, trigger_id=trigger_id, view=view)
        except VideobotError as exc:
            log.warning("form not opened", extra={"event": "form.error", "user": user_id, "error": repr(exc)})

    runner.spawn(_open(), name=f"form-{user_id}")


async def _refresh(deps: Deps, body: dict[str, Any]) -> None:
    """Redraw the form after a change of length or ratio: the new cost line and what is left."""
    view = body.get("view") or {}
    prompt, duration, ratio = form_values(view)
    user_id = str(body.get("user", {}).get("id", ""))
    status = await deps.store.budget_status(user_id)
    updated = video_modal(
        deps.settings,
        status,
        channel_id=form_channel(view),
        prompt=prompt,
        duration=duration,
        ratio=ratio,
    )
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
        prompt, duration, ratio = form_values(view)
        prompt = " ".join(clean_text(prompt).split())
        settings = deps.settings
        if not prompt:
            await ack(response_action="errors", errors={"prompt": words.err_empty_prompt()})
            return
        if len(prompt) > MAX_PROMPT_CHARS:
            await ack(
                response_action="errors",
                errors={"prompt": words.err_prompt_too_long(len(prompt), MAX_PROMPT_CHARS)},
            )
            return
        request = VideoRequest(
            prompt=prompt,
            duration=duration or settings.duration_default,
            aspect_ratio=ratio if ratio in settings.aspect_ratios else settings.default_aspect_ratio,
        )
        user = body.get("user", {})
        start = StartRequest(
            video=request,
            team_id=str(user.get("team_id") or body.get("team", {}).get("id", "")),
            user_id=str(user.get("id", "")),
            channel_id=form_channel(view),
            origin="modal",
        )
        answer = await start_video(deps, runner, start)
        if answer.refused:
            await ack(response_action="errors", errors={answer.form_block: answer.text[:150]})
            return
        await ack()
