"""Where a job talks to Slack: the parent message and status, the upload, the failure reply.

Channels the bot cannot post in fall back as SPEC.md says: join a public channel, else the user's
DM with the bot, and the user is told so ephemerally.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

from bot.deps import Deps
from bot.logs import log_event
from bot.slack import api as slack_io
from bot.ui.blocks.thread import parent_blocks, status_view
from bot.ui.words import thread as words
from storage.billing import job_charge, remaining_after_charge
from storage.errors import SlackChannelNotFound, SlackDeliveryError, SlackNotInChannel
from storage.models import BudgetStatus, Job

log = logging.getLogger(__name__)

# Re-asserts this replica's lease on the job (storing the file id with it when given) and raises when
# another replica owns the job now, so a replica that lost its lease never posts the video.
Hold = Callable[[str | None], Awaitable[None]]


async def announce(deps: Deps, job: Job, *, ahead: int | None = None, estimate_s: float | None = None) -> Job:
    """Post the parent message and the status message in its thread (with a Cancel button; for a queued
    job its place and estimate); store both timestamps.

    A job that answers in an existing thread (a mention, a message shortcut) has no parent message of
    its own: the status goes into that thread, or, where the bot cannot post, into the user's DM.
    """
    text, blocks = status_view(job, ahead=ahead, estimate_s=estimate_s)
    status_ts: str | None = None
    if job.parent_ts is not None and job.status_ts is None:
        status_ts = await _post_or_join(
            deps, job.delivery_channel or job.channel_id, text=text, blocks=blocks, thread_ts=job.parent_ts
        )
        if status_ts is None:
            job = await _store(deps, job, *await _dm_parent(deps, job))
    if job.parent_ts is None:
        job = await _store(deps, job, *await _post_parent(deps, job))
    assert job.delivery_channel is not None and job.parent_ts is not None
    if status_ts is None:
        status_ts = await slack_io.post_message(
            client=deps.slack, channel=job.delivery_channel, thread_ts=job.parent_ts, text=text, blocks=blocks
        )
    # The permalink lets /video history and App Home link to the thread; None if Slack has none.
    link = await slack_io.permalink(client=deps.slack, channel=job.delivery_channel, ts=job.parent_ts)
    updated = await deps.store.update(job.id, status_ts=status_ts, permalink=link)
    assert updated is not None
    return updated


async def _store(deps: Deps, job: Job, channel: str, ts: str) -> Job:
    updated = await deps.store.update(job.id, delivery_channel=channel, parent_ts=ts)
    assert updated is not None
    return updated


async def _post_or_join(
    deps: Deps,
    channel: str,
    *,
    text: str,
    blocks: list[dict[str, Any]] | None = None,
    thread_ts: str | None = None,
) -> str | None:
    """Post in `channel`, joining it first when it is public and the bot is not in it; the message's
    ts, or None where the bot cannot post (a private channel it is not in, a DM between others)."""
    post = partial(
        slack_io.post_message,
        client=deps.slack,
        channel=channel,
        text=text,
        blocks=blocks,
        thread_ts=thread_ts,
    )
    try:
        return await post()
    except SlackNotInChannel:
        if await slack_io.join_channel(client=deps.slack, channel=channel):
            return await post()
    except SlackChannelNotFound:
        pass
    return None


async def _post_parent(deps: Deps, job: Job) -> tuple[str, str]:
    ts = await _post_or_join(deps, job.channel_id, text=words.parent_text(job), blocks=parent_blocks(job))
    if ts is not None:
        return job.channel_id, ts
    return await _dm_parent(deps, job)


async def _dm_parent(deps: Deps, job: Job) -> tuple[str, str]:
    """The parent message in the user's DM with the bot, and a word to the user about it."""
    dm = await slack_io.open_dm(client=deps.slack, user=job.user_id)
    ts = await slack_io.post_message(
        client=deps.slack, channel=dm, text=words.parent_text(job), blocks=parent_blocks(job)
    )
    log_event(log, "job.dm_fallback", job_id=job.id, user=job.user_id)
    await _tell_user(deps, job, words.DM_FALLBACK)
    return dm, ts


async def tell(
    deps: Deps, *, user: str, channel: str, response_url: str | None, text: str, thread_ts: str | None = None
) -> None:
    """A word only `user` sees: through the response_url when there is one, else (or when that
    fails) chat.postEphemeral in `channel` (in the thread `thread_ts` when given). Raises the last
    SlackDeliveryError when neither took it."""
    if response_url:
        try:
            await slack_io.respond(http=deps.http, response_url=response_url, text=text)
            return
        except SlackDeliveryError:
            if not channel:
                raise
    if channel:
        await slack_io.post_ephemeral(
            client=deps.slack, channel=channel, user=user, text=text, thread_ts=thread_ts
        )


async def _tell_user(deps: Deps, job: Job, text: str) -> None:
    try:
        # In the thread the request came from, when the job answers there.
        thread_ts = job.parent_ts if job.delivery_channel == job.channel_id else None
        await tell(
            deps,
            user=job.user_id,
            channel=job.channel_id,
            response_url=job.response_url,
            text=text,
            thread_ts=thread_ts,
        )
    except SlackDeliveryError as exc:
        log.warning(
            "could not tell the user", extra={"event": "notice.error", "job_id": job.id, "error": repr(exc)}
        )


async def deliver(deps: Deps, job: Job, path: Path, *, hold: Hold) -> None:
    """Upload the MP4 into the thread; if Slack keeps refusing, offer the result link instead.

    `hold` runs before every step that shows something in the thread (see `Hold`).
    """
    assert job.delivery_channel is not None and job.parent_ts is not None
    await hold(None)
    status = await deps.store.budget_status(job.user_id)
    comment = words.delivered_comment(job, job_charge(job), remaining_after_charge(status, job))
    if job.file_id is not None and await _finish_earlier_upload(deps, job, job.file_id, comment):
        return  # uploaded before a restart; never post it twice
    try:
        await slack_io.upload_file(
            client=deps.slack,
            http=deps.http,
            path=path,
            filename=f"video-{job.id[:8]}.mp4",
            title=words.file_title(job),
            channel_id=job.delivery_channel,
            thread_ts=job.parent_ts,
            initial_comment=comment,
            on_file_id=hold,
            before_share=lambda: hold(None),
        )
    except SlackDeliveryError as exc:
        log_event(log, "job.upload_failed", job_id=job.id, user=job.user_id, error=repr(exc))
        assert job.result_url is not None
        await hold(None)
        await slack_io.post_message(
            client=deps.slack,
            channel=job.delivery_channel,
            thread_ts=job.parent_ts,
            text=words.upload_fallback(job, comment),
        )


async def _finish_earlier_upload(deps: Deps, job: Job, file_id: str, comment: str) -> bool:
    """After a restart mid-upload: True when the earlier file is (now) shared in the thread.

    The share may have been sent just before the crash and land at any moment, so it is checked,
    then completed again with the same file id (Slack shares one file once), then checked again;
    only a file that never finished uploading is uploaded anew.
    """
    assert job.delivery_channel is not None
    if await slack_io.file_shared_in(client=deps.slack, file_id=file_id, channel=job.delivery_channel):
        return True
    try:
        await slack_io.complete_upload(
            client=deps.slack,
            file_id=file_id,
            title=words.file_title(job),
            channel_id=job.delivery_channel,
            thread_ts=job.parent_ts,
            initial_comment=comment,
        )
        return True
    except SlackDeliveryError:
        return await slack_io.file_shared_in(client=deps.slack, file_id=file_id, channel=job.delivery_channel)


async def post_failure(deps: Deps, job: Job, status: BudgetStatus) -> None:
    """Tell the user, in the thread (or ephemerally when there is none), why the job failed."""
    text = words.failure_reply(job, status)
    if job.delivery_channel is None or job.parent_ts is None:
        await _tell_user(deps, job, text)
        return
    try:
        await slack_io.post_message(
            client=deps.slack, channel=job.delivery_channel, thread_ts=job.parent_ts, text=text
        )
    except SlackDeliveryError as exc:
        log.warning(
            "failure reply not posted", extra={"event": "notice.error", "job_id": job.id, "error": repr(exc)}
        )
