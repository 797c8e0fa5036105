"""Thin Slack I/O: every Web API call the app makes, each waiting out rate limits and brief failures.

The `AsyncWebClient` from `make_web_client` has no retry handlers of its own: this module does all
the waiting, so one policy (`Retry`) covers 429 + Retry-After, 5xx and network errors. Calls that
post something (post_message, post_ephemeral, files.completeUploadExternal) are only repeated when
Slack certainly did not take them (429, connection refused), so nothing appears twice.

Failures are raised as the Slack branch of the tree in `storage.errors` (`SlackIOError` and below).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import httpx
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot import metrics
from bot.gateway.polling import retry_delay
from bot.slack.errors import classify
from storage.errors import (
    HttpStatusError,
    SlackIOError,
    SlackPermanentError,
    SlackRateLimited,
    SlackTransientError,
)

__all__ = [
    "DEFAULT_RETRY",
    "Retry",
    "channel_name",
    "file_shared_in",
    "join_channel",
    "make_web_client",
    "open_dm",
    "permalink",
    "post_ephemeral",
    "post_message",
    "respond",
    "update_message",
    "upload_file",
    "user_name",
]

log = logging.getLogger(__name__)

T = TypeVar("T")
UPLOAD_CHUNK = 1 << 20
_ERROR_CODE = re.compile(r"[a-z_]{1,40}")
_UNJOINABLE = {"method_not_supported_for_channel_type", "channel_not_found", "is_archived", "is_private"}


@dataclass(frozen=True)
class Retry:
    """How often and how long to wait: `attempts` tries in all, growing delays, Retry-After honoured."""

    attempts: int = 5
    base_s: float = 0.5
    cap_s: float = 10.0
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep


DEFAULT_RETRY = Retry()


def make_web_client(
    token: str,
    base_url: str = "https://slack.com/api/",
    *,
    timeout: int = 30,
    session: aiohttp.ClientSession | None = None,
) -> AsyncWebClient:
    """An AsyncWebClient without retry handlers (this module retries), pointed at `base_url`.

    With `session`, every call (and every per-request client Bolt derives from this one) reuses its
    pooled keep-alive connections; without, slack-sdk opens a new session and connection per call.
    """
    return AsyncWebClient(token=token, base_url=base_url, timeout=timeout, retry_handlers=[], session=session)


_CAUGHT = (
    SlackApiError,
    SlackClientError,
    HttpStatusError,
    aiohttp.ClientError,
    httpx.HTTPError,
    TimeoutError,
)


async def _call(method: str, fn: Callable[[], Awaitable[T]], *, retry: Retry, idempotent: bool = True) -> T:
    """Run `fn`, retrying what may pass; a non-idempotent call only when Slack surely did not take it."""
    attempt = 0
    while True:
        attempt += 1
        try:
            result = await fn()
        except _CAUGHT as exc:
            err = classify(exc, method)
            metrics.slack_call(method, _outcome(err))
            retryable = isinstance(err, SlackRateLimited | SlackTransientError)
            if not retryable or (err.maybe_delivered and not idempotent) or attempt >= retry.attempts:
                raise err from exc
            delay = retry_delay(attempt, base_s=retry.base_s, cap_s=retry.cap_s, retry_after=err.retry_after)
            log.warning("slack %s failed (%s), retry %d in %.2fs", method, err.error or err, attempt, delay)
            await retry.sleep(delay)
        else:
            metrics.slack_call(method, "ok")
            return result


def _outcome(err: SlackIOError) -> str:
    """A metrics label: Slack's error code, else the HTTP status, else the kind of failure."""
    if err.error and _ERROR_CODE.fullmatch(err.error):
        return err.error
    return f"http_{err.status}" if err.status else type(err).__name__


async def post_message(
    *,
    client: AsyncWebClient,
    channel: str,
    text: str,
    blocks: list[dict[str, Any]] | None = None,
    thread_ts: str | None = None,
    retry: Retry = DEFAULT_RETRY,
) -> str:
    """Post a message (into a thread if `thread_ts`); return its ts."""
    response = await _call(
        "chat.postMessage",
        lambda: client.chat_postMessage(channel=channel, text=text, blocks=blocks, thread_ts=thread_ts),
        retry=retry,
        idempotent=False,
    )
    return str(response["ts"])


async def update_message(
    *,
    client: AsyncWebClient,
    channel: str,
    ts: str,
    text: str,
    blocks: list[dict[str, Any]] | None = None,
    retry: Retry = DEFAULT_RETRY,
) -> None:
    """Edit a message in place."""
    await _call(
        "chat.update",
        lambda: client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks),
        retry=retry,
    )


async def post_ephemeral(
    *,
    client: AsyncWebClient,
    channel: str,
    user: str,
    text: str,
    thread_ts: str | None = None,
    retry: Retry = DEFAULT_RETRY,
) -> None:
    """Show `text` to `user` only, in `channel` (in the thread `thread_ts` when given)."""
    await _call(
        "chat.postEphemeral",
        lambda: client.chat_postEphemeral(channel=channel, user=user, text=text, thread_ts=thread_ts),
        retry=retry,
        idempotent=False,
    )


async def respond(
    *,
    http: httpx.AsyncClient,
    response_url: str,
    text: str,
    replace_original: bool = False,
    retry: Retry = DEFAULT_RETRY,
) -> None:
    """Answer a command ephemerally through its response_url."""
    body = {"response_type": "ephemeral", "text": text, "replace_original": replace_original}

    async def send() -> None:
        response = await http.post(response_url, json=body)
        if response.status_code >= 400:
            raise HttpStatusError(response.status_code, response.headers.get("Retry-After"), response.text)

    await _call("response_url", send, retry=retry)


async def open_dm(*, client: AsyncWebClient, user: str, retry: Retry = DEFAULT_RETRY) -> str:
    """The id of the bot's DM channel with `user`."""
    response = await _call("conversations.open", lambda: client.conversations_open(users=user), retry=retry)
    return str(response["channel"]["id"])


async def join_channel(*, client: AsyncWebClient, channel: str, retry: Retry = DEFAULT_RETRY) -> bool:
    """Join a public channel; False if it cannot be joined (private, a DM, archived, gone)."""
    try:
        await _call("conversations.join", lambda: client.conversations_join(channel=channel), retry=retry)
    except SlackPermanentError as exc:
        if exc.error in _UNJOINABLE:
            return False
        raise
    return True


async def permalink(
    *, client: AsyncWebClient, channel: str, ts: str, retry: Retry = DEFAULT_RETRY
) -> str | None:
    """A link to the message, or None when Slack will not give one (a link must never block delivery)."""
    try:
        response = await _call(
            "chat.getPermalink", lambda: client.chat_getPermalink(channel=channel, message_ts=ts), retry=retry
        )
    except SlackIOError as exc:
        log.info("no permalink for %s/%s: %s", channel, ts, exc.error)
        return None
    return str(response["permalink"])


async def _file_chunks(path: Path) -> AsyncIterator[bytes]:
    handle = await asyncio.to_thread(path.open, "rb")
    try:
        while chunk := await asyncio.to_thread(handle.read, UPLOAD_CHUNK):
            yield chunk
    finally:
        await asyncio.to_thread(handle.close)


async def _post_file(http: httpx.AsyncClient, url: str, path: Path, size: int) -> None:
    # A fresh generator per attempt: a retry re-reads the file from the start.
    response = await http.post(
        url,
        content=_file_chunks(path),
        headers={"Content-Length": str(size), "Content-Type": "application/octet-stream"},
        timeout=httpx.Timeout(120.0, connect=10.0),
    )
    if response.status_code >= 400:
        raise HttpStatusError(response.status_code, response.headers.get("Retry-After"), response.text)


async def upload_file(
    *,
    client: AsyncWebClient,
    http: httpx.AsyncClient,
    path: Path,
    filename: str,
    title: str,
    channel_id: str,
    thread_ts: str | None,
    initial_comment: str,
    on_file_id: Callable[[str], Awaitable[None]] | None = None,
    before_share: Callable[[], Awaitable[None]] | None = None,
    retry: Retry = DEFAULT_RETRY,
) -> str:
    """Upload `path` into a thread, streamed from disk in chunks; return the file id.

    `on_file_id` is awaited with the id before the file is shared, so a restart can ask
    `file_shared_in` whether the share went through instead of uploading twice. `before_share`
    is awaited after the bytes went up, right before the share; either may raise to stop.
    """
    size = (await asyncio.to_thread(path.stat)).st_size
    ticket = await _call(
        "files.getUploadURLExternal",
        lambda: client.files_getUploadURLExternal(filename=filename, length=size),
        retry=retry,
    )
    upload_url, file_id = str(ticket["upload_url"]), str(ticket["file_id"])
    if on_file_id is not None:
        await on_file_id(file_id)
    await _call("upload", lambda: _post_file(http, upload_url, path, size), retry=retry)
    if before_share is not None:
        await before_share()
    await complete_upload(
        client=client,
        file_id=file_id,
        title=title,
        channel_id=channel_id,
        thread_ts=thread_ts,
        initial_comment=initial_comment,
        retry=retry,
    )
    return file_id


async def complete_upload(
    *,
    client: AsyncWebClient,
    file_id: str,
    title: str,
    channel_id: str,
    thread_ts: str | None,
    initial_comment: str,
    retry: Retry = DEFAULT_RETRY,
) -> None:
    """files.completeUploadExternal: share an uploaded file into the channel (and thread)."""
    await _call(
        "files.completeUploadExternal",
        lambda: client.files_completeUploadExternal(
            files=[{"id": file_id, "title": title}],
            channel_id=channel_id,
            initial_comment=initial_comment,
            thread_ts=thread_ts,
        ),
        retry=retry,
        idempotent=False,
    )


def _file_channels(file: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    for key in ("channels", "groups", "ims"):
        found.update(file.get(key) or [])
    for visibility in (file.get("shares") or {}).values():
        found.update(visibility or {})
    return found


async def file_shared_in(
    *, client: AsyncWebClient, file_id: str, channel: str, retry: Retry = DEFAULT_RETRY
) -> bool:
    """Whether the file is already shared in `channel` (False if Slack does not know the file)."""
    try:
        response = await _call("files.info", lambda: client.files_info(file=file_id), retry=retry)
    except SlackPermanentError as exc:
        if exc.error in ("file_not_found", "file_deleted"):
            return False
        raise
    return channel in _file_channels(response["file"])


async def open_view(
    *, client: AsyncWebClient, trigger_id: str, view: dict[str, Any], retry: Retry = DEFAULT_RETRY
) -> str:
    """views.open: show a modal for a trigger (valid 3 s); returns the view id."""
    response = await _call(
        "views.open", lambda: client.views_open(trigger_id=trigger_id, view=view), retry=retry
    )
    return str(response["view"]["id"])


async def update_view(
    *,
    client: AsyncWebClient,
    view_id: str,
    view: dict[str, Any],
    hash: str | None = None,
    retry: Retry = DEFAULT_RETRY,
) -> None:
    """views.update: replace an open modal (the hash guards against a newer edit)."""
    await _call(
        "views.update", lambda: client.views_update(view_id=view_id, view=view, hash=hash), retry=retry
    )


async def publish_home(
    *, client: AsyncWebClient, user: str, view: dict[str, Any], retry: Retry = DEFAULT_RETRY
) -> None:
    """views.publish: the user's App Home tab."""
    await _call("views.publish", lambda: client.views_publish(user_id=user, view=view), retry=retry)


async def user_name(*, client: AsyncWebClient, user: str, retry: Retry = DEFAULT_RETRY) -> str:
    """users.info: the name people see for `user` (display name, else real name, else handle)."""
    response = await _call("users.info", lambda: client.users_info(user=user), retry=retry)
    info = response["user"]
    profile = info.get("profile") or {}
    return str(profile.get("display_name") or info.get("real_name") or info.get("name") or user)


async def channel_name(*, client: AsyncWebClient, channel: str, retry: Retry = DEFAULT_RETRY) -> str:
    """conversations.info: a channel's name."""
    response = await _call(
        "conversations.info", lambda: client.conversations_info(channel=channel), retry=retry
    )
    return str(response["channel"].get("name") or channel)
