"""The upload ticket asked for beside the download: one Slack round trip off the way to the video."""

from __future__ import annotations

import asyncio

from bot.deps import Deps
from bot.jobs.delivery import video_filename
from bot.slack.api import UploadTicket, request_ticket
from storage.models import Job


class EarlyTicket:
    """`files.getUploadURLExternal`, asked for as soon as the download declares its length."""

    def __init__(self, deps: Deps) -> None:
        self._deps = deps
        self.task: asyncio.Task[UploadTicket] | None = None

    def ask(self, job: Job, length: int) -> None:
        """Ask for a ticket for `length` bytes (forgetting an earlier one)."""
        self.drop()
        ticket = request_ticket(client=self._deps.slack, filename=video_filename(job), length=length)
        self.task = asyncio.create_task(ticket, name=f"ticket-{job.id}")

    def drop(self) -> None:
        """Forget a ticket not used (unused, it expires at Slack)."""
        task, self.task = self.task, None
        if task is not None and not task.done():
            task.cancel()
        elif task is not None and not task.cancelled():
            task.exception()  # retrieved: a failed one was asked again or is not needed
