"""The one status message in a job's thread, edited in place and paced (no edit storms).

Progress edits (elapsed time, "waiting for Slack") go out in the background at the lowest priority:
a newer one replaces one still waiting for its turn (the latest wins), and one that would wait long
for Slack is dropped. State edits (the final one above all) are awaited at delivery priority.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from bot.deps import Deps
from bot.slack import api as slack_io
from bot.slack.api import Dropped, Priority
from bot.ui.blocks.base import context, finish
from bot.ui.blocks.thread import status_view
from storage.errors import VideobotError
from storage.models import Job

log = logging.getLogger(__name__)

PROGRESS_MAX_WAIT_S = 5.0  # a progress edit Slack cannot take within this is dropped


class StatusMessage:
    """Edits the status message when its text changes, at most once per interval unless forced."""

    def __init__(self, deps: Deps) -> None:
        self._deps = deps
        self._last_text: str | None = None
        self._last_edit = 0.0
        self._progress: asyncio.Task[bool] | None = None

    async def show(
        self,
        job: Job,
        text: str,
        *,
        force: bool = False,
        final: bool = False,
        blocks: list[dict[str, Any]] | None = None,
    ) -> bool:
        """Edit the status message to `text` (and blocks: by default `text` alone, so buttons shown
        before go away); True when an edit was sent or queued.

        `force` skips the edit interval; a `final` edit is awaited at delivery priority, others are
        queued in the background as progress (see the module's docstring).
        """
        if blocks is None:
            blocks = finish([context(text)])
        if job.status_ts is None or job.delivery_channel is None or text == self._last_text:
            return False
        now = time.monotonic()
        if not (force or final) and now - self._last_edit < self._deps.settings.status_edit_interval_s:
            return False
        self._last_text, self._last_edit = text, now
        self._drop_progress()
        if final:
            return await self._edit(job, text, blocks, Priority.DELIVERY)
        self._progress = asyncio.create_task(
            self._edit(job, text, blocks, Priority.PROGRESS), name=f"status-{job.id}"
        )
        self._progress.add_done_callback(_log_crash)
        return True

    async def _edit(
        self, job: Job, text: str, blocks: list[dict[str, Any]] | None, priority: Priority
    ) -> bool:
        assert job.status_ts is not None and job.delivery_channel is not None
        try:
            await slack_io.update_message(
                client=self._deps.slack,
                channel=job.delivery_channel,
                ts=job.status_ts,
                text=text,
                blocks=blocks,
                priority=priority,
                max_wait_s=PROGRESS_MAX_WAIT_S if priority is Priority.PROGRESS else None,
            )
        except Dropped:
            log.info(
                "progress edit dropped: Slack is busy", extra={"event": "status.dropped", "job_id": job.id}
            )
            self._last_text = None  # the next progress edit may show it after all
            return False
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
        final: bool = False,
    ) -> bool:
        """Show the job's current state (`bot.ui.blocks.thread.status_view`); True when Slack was called."""
        text, blocks = status_view(job, now, ahead=ahead, estimate_s=estimate_s)
        return await self.show(job, text, force=force, final=final, blocks=blocks)

    def _drop_progress(self) -> None:
        """A newer edit supersedes a progress edit still waiting (or in flight): the latest wins."""
        if self._progress is not None and not self._progress.done():
            self._progress.cancel()
        self._progress = None

    def close(self) -> None:
        """Stop a progress edit still waiting (the job is over or moved elsewhere)."""
        self._drop_progress()


def _log_crash(task: asyncio.Task[bool]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("status edit crashed", exc_info=task.exception(), extra={"event": "status.crashed"})
