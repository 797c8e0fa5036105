"""`/video-admin`: admins only; everyone else is refused and nothing changes. Answers are ephemeral."""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.admin_commands import Export, SetBlocked, parse_admin
from bot.admin_ops import run_admin
from bot.commands import ParseError
from bot.deps import Deps
from bot.jobs.runner import JobRunner
from bot.logs import log_event
from bot.slack import api as slack_io
from bot.ui.words import admin as words
from storage.errors import VideobotError

log = logging.getLogger(__name__)


def register(app: AsyncApp, deps: Deps, runner: JobRunner) -> None:
    """Attach the /video-admin command listener."""

    @app.command("/video-admin")
    async def admin_command(ack: AsyncAck, command: dict[str, Any]) -> None:
        user_id = str(command.get("user_id", ""))
        if user_id not in deps.settings.admins:
            log_event(log, "admin.refused", user=user_id)
            await ack(response_type="ephemeral", text=words.admin_denied())
            return
        parsed = parse_admin(str(command.get("text", "")))
        if isinstance(parsed, ParseError):
            await ack(response_type="ephemeral", text=parsed.message)
            return
        log_event(log, "admin.command", user=user_id, command=type(parsed).__name__)
        if isinstance(parsed, Export):
            # Reading the period and uploading the CSV are slow: the ack goes first (and the listener
            # returns at once), the file follows in the admin's DM from an owned task.
            await ack(response_type="ephemeral", text=words.admin_export_started())
            runner.spawn(_send_export(deps, user_id, parsed, command.get("response_url")), name="export")
            return
        result = await run_admin(deps.store, parsed, actor=user_id)
        if isinstance(parsed, SetBlocked):
            deps.policy.forget()  # this replica applies the new policy at once
        await ack(response_type="ephemeral", text=result.text)


async def _send_export(deps: Deps, user_id: str, export: Export, response_url: Any) -> None:
    result = await run_admin(deps.store, export, actor=user_id)
    assert result.csv_text is not None and result.csv_name is not None
    try:
        dm = await slack_io.open_dm(client=deps.slack, user=user_id)
        files = [(result.csv_name, result.csv_text, result.text), *result.more_files]
        for filename, text, comment in files:
            await _upload_csv(deps, dm, filename, text, comment)
        log_event(log, "admin.export", user=user_id)
    except VideobotError as exc:
        log.warning("export failed", extra={"event": "admin.export_failed", "error": repr(exc)})
        if isinstance(response_url, str) and response_url:
            await slack_io.respond(
                http=deps.http, response_url=response_url, text=words.admin_export_failed()
            )


async def _upload_csv(deps: Deps, channel: str, filename: str, text: str, comment: str) -> None:
    """One CSV file into `channel`, through a temporary file."""
    fd, name = tempfile.mkstemp(suffix=".csv")
    path = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        await slack_io.upload_file(
            client=deps.slack,
            http=deps.http,
            path=path,
            filename=filename,
            title=filename,
            channel_id=channel,
            thread_ts=None,
            initial_comment=comment,
        )
    finally:
        path.unlink(missing_ok=True)
