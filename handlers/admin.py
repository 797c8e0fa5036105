"""`/video-admin`: admins only; everyone else is refused and nothing changes. Answers are ephemeral."""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.admin_ops import run_admin
from bot.commands import Export, ParseError, parse_admin
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
        result = await run_admin(deps.store, parsed)
        await ack(response_type="ephemeral", text=result.text)


async def _send_export(deps: Deps, user_id: str, export: Export, response_url: Any) -> None:
    result = await run_admin(deps.store, export)
    assert result.csv_text is not None and result.csv_name is not None
    fd, name = tempfile.mkstemp(suffix=".csv")
    path = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(result.csv_text)
        dm = await slack_io.open_dm(client=deps.slack, user=user_id)
        await slack_io.upload_file(
            client=deps.slack,
            http=deps.http,
            path=path,
            filename=result.csv_name,
            title=result.csv_name,
            channel_id=dm,
            thread_ts=None,
            initial_comment=result.text,
        )
        log_event(log, "admin.export", user=user_id)
    except VideobotError as exc:
        log.warning("export failed", extra={"event": "admin.export_failed", "error": repr(exc)})
        if isinstance(response_url, str) and response_url:
            await slack_io.respond(
                http=deps.http, response_url=response_url, text=words.admin_export_failed()
            )
    finally:
        path.unlink(missing_ok=True)
