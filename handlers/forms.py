"""The /video form: opened by `/video` with no text or by "Edit and regenerate", a live cost line,
and its submission starting the same flow as the command."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.commands import MAX_PROMPT_CHARS, VideoRequest, clean_text
from bot.deps import Deps
from bot.errors import VideobotError
from bot.jobs.delivery import tell
from bot.slack import api as slack_io
from bot.ui import messages
from bot.ui.surfaces import (
    FORM_ACTIONS,
    MODAL_CALLBACK,
    form_channel,
    form_values,
    video_modal,
)
from handlers.start import start_video
from storage.models import BudgetStatus

log = logging.getLogger(__name__)


def open_form(
    deps: Deps,
    *,
    trigger_id: str,
    user_id: str,
    channel_id: str,
    prefill: VideoRequest | None = None,
    load: Callable[[], Awaitable[tuple[VideoRequest, str] | None]] | None = None,
) -> None:
    """Open the form in an owned task, the caller having acked: views.open goes first, before any
    database work (a trigger_id is good for 3 s, once), then views.update fills in the budget and
    what `load` finds (a prefill and its channel)."""

    def build(status: BudgetStatus | None, fill: VideoRequest | None, channel: str) -> dict[str, Any]:
        return video_modal(
            deps.settings,
            status,
            channel_id=channel,
            prompt=fill.prompt if fill else "",
            duration=fill.duration if fill else None,
            ratio=fill.aspect_ratio if fill else None,
        )

    async def _open() -> None:
        try:
            view_id = await slack_io.open_view(
                client=deps.slack, trigger_id=trigger_id, view=build(None, prefill, channel_id)
            )
        except VideobotError as exc:
            # Slack refuses a late or reused trigger; it cannot be retried, but the user can try again.
            log.warning("form not opened", extra={"event": "form.error", "user": user_id, "error": repr(exc)})
            with contextlib.suppress(VideobotError):
                await tell(
                    deps, user=user_id, channel=channel_id, response_url=None, text=messages.FORM_TOO_LATE
                )
            return
        try:
            loaded = await load() if load is not None else None
            fill, channel = loaded if loaded is not None else (prefill, channel_id)
            status = await deps.store.budget_status(user_id)
            await slack_io.update_view(client=deps.slack, view_id=view_id, view=build(status, fill, channel))
        except VideobotError as exc:
            log.warning("form not filled", extra={"event": "form.error", "user": user_id, "error": repr(exc)})

    deps.job_runner().spawn(_open(), name=f"form-{user_id}")


def register(app: AsyncApp, deps: Deps) -> None:
    """Attach the form's live updates and its submission."""

    @app.action(FORM_ACTIONS[0])
    @app.action(FORM_ACTIONS[1])
    async def form_changed(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
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

    @app.view(MODAL_CALLBACK)
    async def form_submitted(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        prompt, duration, ratio = form_values(view)
        prompt = " ".join(clean_text(prompt).split())
        settings = deps.settings
        if not prompt:
            await ack(response_action="errors", errors={"prompt": messages.err_empty_prompt()})
            return
        if len(prompt) > MAX_PROMPT_CHARS:
            await ack(
                response_action="errors",
                errors={"prompt": messages.err_prompt_too_long(len(prompt), MAX_PROMPT_CHARS)},
            )
            return
        request = VideoRequest(
            prompt=prompt,
            duration=duration or settings.duration_default,
            aspect_ratio=ratio if ratio in settings.aspect_ratios else settings.default_aspect_ratio,
        )
        user = body.get("user", {})
        command = {
            "team_id": user.get("team_id") or body.get("team", {}).get("id", ""),
            "user_id": user.get("id", ""),
            "channel_id": form_channel(view),
        }
        answer = await start_video(deps, request, command, origin="modal")
        if answer.refused:
            await ack(response_action="errors", errors={"duration": answer.text[:150]})
            return
        await ack()
