"""Block Kit of a job's thread: the parent message, the status line (with Cancel while it may be
cancelled), the failure reply and the buttons under a finished video. Pure; each builder returns a
plain list a caller may extend."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import ActionsBlock, ButtonElement

from bot.ui.blocks.base import MAX_SECTION_CHARS, context, finish, section, truncate_mrkdwn
from bot.ui.words import thread as thread_words
from bot.ui.words.format import quote
from storage.models import CANCELLABLE_STATES, BudgetStatus, Job, JobState

ACTION_REGENERATE = "video_regenerate"
ACTION_EDIT = "video_edit"
ACTION_RETRY = "video_retry"
ACTION_CANCEL = "video_cancel"


def parent_blocks(job: Job) -> list[dict[str, Any]]:
    """The channel message: who asked, the quoted prompt, duration · ratio · estimated cost."""
    header = thread_words.parent_header(job)
    body = truncate_mrkdwn(quote(job.prompt), MAX_SECTION_CHARS - len(header) - 1)
    return finish([section(f"{header}\n{body}"), context(thread_words.parent_details(job))])


def status_blocks(job: Job, now: float | None = None) -> list[dict[str, Any]]:
    """The status message in the thread (see `status_view`)."""
    return status_view(job, now)[1]


def status_view(
    job: Job, now: float | None = None, *, ahead: int | None = None, estimate_s: float | None = None
) -> tuple[str, list[dict[str, Any]]]:
    """The status message in the thread: its text and blocks, with a Cancel button while the job has
    not reached the video service, and the next-step buttons once it is finished."""
    text = thread_words.status_text(job, now, ahead=ahead, estimate_s=estimate_s)
    blocks: list[Any] = [context(text)]
    if job.state in CANCELLABLE_STATES:
        cancel = ButtonElement(
            text=thread_words.CANCEL, action_id=ACTION_CANCEL, value=job.id, style="danger"
        )
        blocks.append(ActionsBlock(block_id=f"cancel-{job.id[:8]}", elements=[cancel]))
    return text, finish(blocks) + finished_actions(job)


def failure_blocks(job: Job, status: BudgetStatus) -> list[dict[str, Any]]:
    """The thread reply for a failed or given-up job."""
    return finish([section(thread_words.failure_reply(job, status))])


def finished_actions(job: Job) -> list[dict[str, Any]]:
    """Regenerate / Edit and regenerate under a delivered video; Try again under a failed one."""
    if job.state is JobState.DELIVERED:
        buttons = [
            ButtonElement(text=thread_words.REGENERATE, action_id=ACTION_REGENERATE, value=job.id),
            ButtonElement(text=thread_words.EDIT, action_id=ACTION_EDIT, value=job.id),
        ]
    elif job.state.finished and job.state is not JobState.CANCELLED:
        buttons = [
            ButtonElement(text=thread_words.TRY_AGAIN, action_id=ACTION_RETRY, value=job.id, style="primary")
        ]
    else:
        return []
    return finish([ActionsBlock(block_id=f"actions-{job.id[:8]}", elements=buttons)])
