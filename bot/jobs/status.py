"""The one status message in a job's thread, edited in place and throttled (no edit storms)."""

from __future__ import annotations

import logging
import time
from typing import Any

from bot.deps import Deps
from bot.slack import api as slack_io
from bot.ui.blocks.base import context, finish
from bot.ui.blocks.thread import status_view
from storage.errors import VideobotError
from storage.models import Job

log = logging.getLogger(__name__)


class StatusMessage:
    """Edits the status message when its text changes, at most once per interval unless forced."""

    def __init__(self, deps: Deps) -> None:
        self._deps = deps
        self._last_text: str | None = None
        self._last_edit = 0.0

    async def show(
        self, job: Job, text: str, *, force: bool = False, blocks: list[dict[str, Any]] | None = None
    ) -> bool:
        """Edit the status message to `text` (and blocks: by default `text` alone, so buttons shown
        before go away); True when Slack was called."""
        if blocks is None:
            blocks = finish([context(text)])
        if job.status_ts is None or job.delivery_channel is None or text == self._last_text:
            return False
        now = time.monotonic()
        if not force and now - self._last_edit < self._deps.settings.status_edit_interval_s:
            return False
        self._last_text, self._last_edit = text, now
        try:
            await slack_io.update_message(
                client=self._deps.slack,
                channel=job.delivery_channel,
                ts=job.status_ts,
                text=text,
                blocks=blocks,
            )
        except VideobotError as exc:
            # A status edit is cosmetic; the job goes on and the next edit may succeed.
            log.warning(
                "status edit failed", extra={"event": "status.error", "job_id": job.id, "error": repr(exc)}
            )
            return False
        return True

    async def refresh(
        self,
        job: Job,
        *,
        force: bool = False,
        now: float | None = None,
        ahead: int | None = None,
        estimate_s: float | None = None,
    ) -> bool:
        """Show the job's current state (`bot.ui.blocks.thread.status_view`); True when Slack was called."""
        text, blocks = status_view(job, now, ahead=ahead, estimate_s=estimate_s)
        return await self.show(job, text, force=force, blocks=blocks)
