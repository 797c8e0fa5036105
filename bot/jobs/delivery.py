"""Where a job talks to Slack: the parent message and status, the upload, the failure reply.

Channels the bot cannot post in fall back as SPEC.md says: a public channel takes posts without
joining (chat:write.public) but the bot joins before uploading, since a file share needs membership;
a private channel or DM it is not in means the user's DM with the bot, and the user is told so.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

from bot.deps import Deps
from bot.logs import log_event
from bot.slack import api as slack_io
from bot.slack.api import Priority, UploadTicket
from bot.ui.blocks.thread import parent_blocks, status_view
from bot.ui.words import thread as words
from storage.billing import job_charge, remaining_after_charge
from storage.errors import SlackChannelNotFound, SlackDeliveryError, SlackNotInChannel
from storage.models import BudgetStatus, Job

log = logging.getLogger(__name__)

# Re-asserts this replica's lease on the job (storing the given fields with it: the file id, when the
# share was sent) and raises when another replica owns the job now, so a replica that lost its lease
# never posts the video.
Hold = Callable[..., Awaitable[None]]
SHARE_WAIT_S = 10.0  # how long a restart waits for an interrupted share to show in files.info


async def announce(
    deps: Deps,
    job: Job,
    *,
    fence: Hold | None = None,
    ahead: int | None = None,
    estimate_s: float | None = None,
) -> Job:
    """Post the parent message and the status message in its thread (with a Cancel button; for a queued
    job its place and estimate); store both timestamps.

    A job that answers in an existing thread (a mention, a message shortcut) has no parent message of
    its own: the status goes into that thread, or, where the bot cannot post, into the user's DM.
    `fence` runs right before each post (after any wait for Slack), so a replica that lost the job
    while it waited never posts it a second time."""
    text, blocks = status_view(job, ahead=ahead, estimate_s=estimate_s)
    status_ts: str | None = None
    if job.parent_ts is not None and job.status_ts is None:
        status_ts = await _post_or_join(
            deps,
            job.delivery_channel or job.channel_id,
            text=text,
            blocks=blocks,
            thread_ts=job.parent_ts,
            fence=fence,
        )
        if status_ts is None:
            job = await _store(deps, job, *await _dm_parent(deps, job, fence))
    if job.parent_ts is None:
        job = await _store(deps, job, *await _post_parent(deps, job, fence))
    assert job.delivery_channel is not None and job.parent_ts is not None
    if status_ts is None:
        status_ts = await slack_io.post_message(
            client=deps.slack,
            channel=job.delivery_channel,
            thread_ts=job.parent_ts,
            text=text,
            blocks=blocks,
            fence=fence,
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
    fence: Hold | None = None,
) -> str | None:
    """Post in `channel` (a public channel takes posts without joining, chat:write.public), joining
    it when Slack still says not_in_channel; the message's ts, or None where the bot cannot post (a
    private channel it is not in, a DM between others)."""
    post = partial(
        slack_io.post_message,
        client=deps.slack,
        channel=channel,
        text=text,
        blocks=blocks,
        thread_ts=thread_ts,
        fence=fence,
    )
    try:
        return await post()
    except SlackNotInChannel:
        if await slack_io.join_channel(client=deps.slack, channel=channel):
            return await post()
    except SlackChannelNotFound:
        pass
    return None


async def _post_parent(deps: Deps, job: Job, fence: Hold | None) -> tuple[str, str]:
    ts = await _post_or_join(
        deps, job.channel_id, text=words.parent_text(job), blocks=parent_blocks(job), fence=fence
    )
    if ts is not None:
        return job.channel_id, ts
    return await _dm_parent(deps, job, fence)


async def _dm_parent(deps: Deps, job: Job, fence: Hold | None) -> tuple[str, str]:
    """The parent message in the user's DM with the bot, and a word to the user about it."""
    dm = await slack_io.open_dm(client=deps.slack, user=job.user_id)
    ts = await slack_io.post_message(
        client=deps.slack, channel=dm, text=words.parent_text(job), blocks=parent_blocks(job), fence=fence
    )
    log_event(log, "job.dm_fallback", job_id=job.id, user=job.user_id)
    await _tell_user(deps, job, words.DM_FALLBACK)
    return dm, ts


async def tell(
    deps: Deps,
    *,
    user: str,
    channel: str,
    response_url: str | None,
    text: str,
    issued_at: float | None = None,
    thread_ts: str | None = None,
) -> None:
    """A word only `user` sees: through the response_url while Slack still takes posts to it (5
    within 30 minutes of `issued_at`, default now), else chat.postEphemeral in `channel` (in the
    thread `thread_ts` when given), else the user's DM. Raises the last SlackDeliveryError when none
    took it."""
    now = deps.clock()
    if response_url and deps.response_urls.take(response_url, issued_at=issued_at or now, now=now):
        try:
            await slack_io.respond(http=deps.http, response_url=response_url, text=text)
            return
        except SlackDeliveryError:
            log.info("response_url refused a notice", extra={"event": "notice.response_url", "user": user})
    if channel:
        try:
            await slack_io.post_ephemeral(
                client=deps.slack, channel=channel, user=user, text=text, thread_ts=thread_ts
            )
            return
        except (SlackChannelNotFound, SlackNotInChannel):
            pass  # a DM between others, a private channel without the bot: the user's DM is left
    dm = await slack_io.open_dm(client=deps.slack, user=user, priority=Priority.INTERACTIVE)
    await slack_io.post_message(client=deps.slack, channel=dm, text=text, priority=Priority.INTERACTIVE)


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
            issued_at=job.created_at,
            thread_ts=thread_ts,
        )
    except SlackDeliveryError as exc:
        log.warning(
            "could not tell the user", extra={"event": "notice.error", "job_id": job.id, "error": repr(exc)}
        )


def _member_known(deps: Deps, channel: str) -> bool:
    """No join needed: a DM, or a channel this process joined (or found unjoinable) already."""
    return channel.startswith("D") or channel in deps.joined


async def ensure_member(deps: Deps, channel: str) -> None:
    """Join a public channel before sharing a file there (chat:write.public posts without joining,
    a file share does not); once per channel and process. DMs and private channels are skipped.
    Deliveries that need the same channel meanwhile wait for the join under way (one call to
    Slack's Tier 3 `conversations.join`, not one each)."""
    if _member_known(deps, channel):
        return
    joining = deps.joining.get(channel)
    if joining is None:
        joining = deps.joining[channel] = asyncio.ensure_future(_join(deps, channel))
        joining.add_done_callback(partial(_joined, deps, channel))
    await asyncio.shield(joining)  # a waiter given up on does not cancel the others' join


async def _join(deps: Deps, channel: str) -> None:
    if not await slack_io.join_channel(client=deps.slack, channel=channel):
        log_event(log, "channel.unjoinable", channel=channel)  # private, with the bot in it already
    deps.joined.add(channel)


def _joined(deps: Deps, channel: str, joining: asyncio.Future[None]) -> None:
    """The join is over: the next delivery that needs one (after a failure) starts its own."""
    deps.joining.pop(channel, None)
    if not joining.cancelled():
        joining.exception()  # its waiters have it; retrieved here too, for when all of them gave up


def video_filename(job: Job) -> str:
    """The name the video is uploaded under."""
    return f"video-{job.id[:8]}.mp4"


async def deliver(
    deps: Deps, job: Job, path: Path, *, hold: Hold, ticket: asyncio.Future[UploadTicket] | None = None
) -> None:
    """Upload the MP4 into the thread; if Slack keeps refusing, offer the result link instead.

    `hold` runs before every step that shows something in the thread (see `Hold`). `ticket`: the
    upload ticket asked for while the file was downloading, if any (one that failed is asked again).
    """
    assert job.delivery_channel is not None and job.parent_ts is not None
    await hold()
    status = await deps.store.budget_status(job.user_id)
    comment = words.delivered_comment(job, job_charge(job), remaining_after_charge(status, job))
    if job.file_id is not None and job.share_sent_at is not None:
        if await _finish_earlier_share(deps, job, job.file_id, comment):
            return  # shared before a restart; never post it twice
    try:
        await _upload(deps, job, path, comment, hold, ticket)
    except SlackNotInChannel:
        deps.joined.discard(job.delivery_channel)  # removed from the channel since: join again
        await _upload_or_fallback(deps, job, path, comment, hold)
    except SlackDeliveryError as exc:
        await _fallback(deps, job, comment, hold, exc)


async def _ready(ticket: asyncio.Future[UploadTicket] | None) -> UploadTicket | None:
    if ticket is None or ticket.cancelled():
        return None
    try:
        return await ticket
    except SlackDeliveryError as exc:
        log.info("upload ticket asked for early failed: %r", exc)
        return None  # asked for again, with the upload's own retries and fallback


async def _upload(
    deps: Deps,
    job: Job,
    path: Path,
    comment: str,
    hold: Hold,
    ticket: asyncio.Future[UploadTicket] | None = None,
) -> None:
    """Join (where needed) while the ticket is asked for and the bytes go up: only the share needs
    the membership, so the join's round trip is not one more step on the way to the video."""
    assert job.delivery_channel is not None
    joining = None
    if not _member_known(deps, job.delivery_channel):
        joining = asyncio.create_task(ensure_member(deps, job.delivery_channel), name=f"join-{job.id}")

    async def before_share() -> None:
        if joining is not None:
            await joining
        await hold(share_sent_at=deps.clock())

    try:
        ready = await _ready(ticket)
        await slack_io.upload_file(
            client=deps.slack,
            http=deps.http,
            path=path,
            filename=video_filename(job),
            title=words.file_title(job),
            channel_id=job.delivery_channel,
            thread_ts=job.parent_ts,
            initial_comment=comment,
            on_file_id=lambda file_id: hold(file_id=file_id, share_sent_at=None),
            before_share=before_share,
            bytes_gate=deps.upload_gate,
            ticket=ready,
        )
    finally:
        if joining is not None:
            joining.cancel()  # a no-op once it is done
            await asyncio.gather(joining, return_exceptions=True)


async def _upload_or_fallback(deps: Deps, job: Job, path: Path, comment: str, hold: Hold) -> None:
    try:
        await _upload(deps, job, path, comment, hold)
    except SlackDeliveryError as exc:
        await _fallback(deps, job, comment, hold, exc)


async def _fallback(deps: Deps, job: Job, comment: str, hold: Hold, exc: SlackDeliveryError) -> None:
    """Slack refused the file: the gateway's (temporary) link in the thread instead."""
    assert job.delivery_channel is not None and job.result_url is not None
    log_event(log, "job.upload_failed", job_id=job.id, user=job.user_id, error=repr(exc))
    await hold()
    await slack_io.post_message(
        client=deps.slack,
        channel=job.delivery_channel,
        thread_ts=job.parent_ts,
        text=words.upload_fallback(job, comment),
        priority=Priority.DELIVERY,
    )


async def _finish_earlier_share(deps: Deps, job: Job, file_id: str, comment: str) -> bool:
    """After a restart between "share sent" and its answer: True when that share went through.

    Slack processes shares asynchronously, so files.info is polled for a while rather than read
    once. A file Slack still does not know was never completed: its ticket is unused, and completing
    it now is the first completion, not a second. A file Slack knows but never shows in the thread
    is not completed again (an upload ticket is completed once): a new upload follows.
    """
    assert job.delivery_channel is not None
    state = await slack_io.wait_for_share(
        client=deps.slack, file_id=file_id, channel=job.delivery_channel, timeout_s=SHARE_WAIT_S
    )
    if state == "shared":
        return True
    if state == "processing":
        log_event(log, "job.share_lost", job_id=job.id, file_id=file_id)
        return False
    try:
        await slack_io.complete_upload(
            client=deps.slack,
            file_id=file_id,
            title=words.file_title(job),
            channel_id=job.delivery_channel,
            thread_ts=job.parent_ts,
            initial_comment=comment,
        )
    except SlackDeliveryError as exc:
        log_event(log, "job.share_retry_failed", job_id=job.id, file_id=file_id, error=repr(exc))
        return False
    return True


async def post_failure(deps: Deps, job: Job, status: BudgetStatus) -> None:
    """Tell the user, in the thread (or ephemerally when there is none), why the job failed."""
    text = words.failure_reply(job, status)
    if job.delivery_channel is None or job.parent_ts is None:
        await _tell_user(deps, job, text)
        return
    try:
        await slack_io.post_message(
            client=deps.slack,
            channel=job.delivery_channel,
            thread_ts=job.parent_ts,
            text=text,
            priority=Priority.DELIVERY,
        )
    except SlackDeliveryError as exc:
        log.warning(
            "failure reply not posted", extra={"event": "notice.error", "job_id": job.id, "error": repr(exc)}
        )
