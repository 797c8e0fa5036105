"""Uploading a file into a thread (files.getUploadURLExternal, the bytes, files.completeUploadExternal)
and reading back whether a share went through.

Slack processes a share asynchronously: files.info lists the channel only some time after
files.completeUploadExternal answered, and an upload ticket is completed once
(https://docs.slack.dev/reference/methods/files.completeUploadExternal). So a share interrupted by
a crash is checked with `wait_for_share`, never completed a second time.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import httpx
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.calls import DEFAULT_RETRY, Retry, call
from storage.errors import HttpStatusError, SlackPermanentError

UPLOAD_CHUNK = 1 << 20
ShareState = Literal["shared", "processing", "never_completed"]


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


@dataclass(frozen=True)
class UploadTicket:
    """What files.getUploadURLExternal gave for a file of `length` bytes: where to send them, and the
    id to share. Unused, it expires at Slack and nobody sees it."""

    upload_url: str
    file_id: str
    length: int


async def request_ticket(
    *, client: AsyncWebClient, filename: str, length: int, retry: Retry = DEFAULT_RETRY
) -> UploadTicket:
    """files.getUploadURLExternal for a file of `length` bytes."""
    answer = await call(
        "files.getUploadURLExternal",
        lambda: client.files_getUploadURLExternal(filename=filename, length=length),
        retry=retry,
        client=client,
    )
    return UploadTicket(str(answer["upload_url"]), str(answer["file_id"]), length)


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
    bytes_gate: asyncio.Semaphore | None = None,
    ticket: UploadTicket | None = None,
    retry: Retry = DEFAULT_RETRY,
) -> str:
    """Upload `path` into a thread, streamed from disk in chunks; return the file id.

    `on_file_id` is awaited with the id before the bytes go up, `before_share` right before the share
    (a restart then knows the share may have been sent and checks with `wait_for_share` instead of
    completing again); either may raise to stop. `bytes_gate` is held while the bytes go up (the part
    that costs this process CPU), not across the Web API round trips before and after. `ticket`, asked
    for beforehand (`request_ticket`, while the file was still downloading), is used when its length
    matches the file's; else a new one is asked for.
    """
    size = (await asyncio.to_thread(path.stat)).st_size
    if ticket is None or ticket.length != size:
        ticket = await request_ticket(client=client, filename=filename, length=size, retry=retry)
    upload_url, file_id = ticket.upload_url, ticket.file_id
    if on_file_id is not None:
        await on_file_id(file_id)
    async with bytes_gate or contextlib.nullcontext():
        await call("upload", lambda: _post_file(http, upload_url, path, size), retry=retry)
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
    """files.completeUploadExternal: share an uploaded file into the channel (and thread), once."""
    await call(
        "files.completeUploadExternal",
        lambda: client.files_completeUploadExternal(
            files=[{"id": file_id, "title": title}],
            channel_id=channel_id,
            initial_comment=initial_comment,
            thread_ts=thread_ts,
        ),
        retry=retry,
        client=client,
        idempotent=False,
    )


def _file_channels(file: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    for key in ("channels", "groups", "ims"):
        found.update(file.get(key) or [])
    for visibility in (file.get("shares") or {}).values():
        found.update(visibility or {})
    return found


async def share_state(
    *, client: AsyncWebClient, file_id: str, channel: str, retry: Retry = DEFAULT_RETRY
) -> ShareState:
    """What files.info says now: shared in `channel`, known but not (yet) shared there, or unknown
    (never completed: the upload ticket is still unused)."""
    try:
        response = await call(
            "files.info", lambda: client.files_info(file=file_id), retry=retry, client=client
        )
    except SlackPermanentError as exc:
        if exc.error in ("file_not_found", "file_deleted"):
            return "never_completed"
        raise
    return "shared" if channel in _file_channels(response["file"]) else "processing"


async def file_shared_in(
    *, client: AsyncWebClient, file_id: str, channel: str, retry: Retry = DEFAULT_RETRY
) -> bool:
    """Whether the file is already shared in `channel` (False if Slack does not know the file)."""
    return await share_state(client=client, file_id=file_id, channel=channel, retry=retry) == "shared"


async def wait_for_share(
    *,
    client: AsyncWebClient,
    file_id: str,
    channel: str,
    timeout_s: float = 30.0,
    interval_s: float = 1.0,
    retry: Retry = DEFAULT_RETRY,
) -> ShareState:
    """Poll files.info until the share shows in `channel` or `timeout_s` passed; the last state seen.

    A share Slack is still processing, or one whose completion was in flight when we crashed, shows up
    within seconds; only a file Slack still does not know after the whole wait was never completed.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        state = await share_state(client=client, file_id=file_id, channel=channel, retry=retry)
        if state == "shared" or time.monotonic() + interval_s > deadline:
            return state
        await asyncio.sleep(interval_s)
