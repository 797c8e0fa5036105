"""Thin Slack I/O: every Web API call the app makes, each paced and retried by `bot.slack.calls`.

Each function takes the priority its call waits with when Slack is busy (`bot.slack.pacer.Priority`);
the defaults suit their usual caller. File uploads live in `bot.slack.files` (re-exported here).
Failures are raised as the Slack branch of the tree in `storage.errors` (`SlackIOError` and below).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.calls import DEFAULT_RETRY, PacedWebClient, Retry, call, make_web_client
from bot.slack.files import (
    UploadTicket,
    complete_upload,
    file_shared_in,
    request_ticket,
    upload_file,
    wait_for_share,
)
from bot.slack.pacer import Dropped, Pacer, Priority
from storage.errors import (
    HttpStatusError,
    SlackIOError,
    SlackPermanentError,
)

__all__ = [
    "DEFAULT_RETRY",
    "Dropped",
    "PacedWebClient",
    "Pacer",
    "Priority",
    "Retry",
    "UploadTicket",
    "channel_name",
    "complete_upload",
    "file_shared_in",
    "join_channel",
    "make_web_client",
    "open_dm",
    "permalink",
    "post_ephemeral",
    "post_message",
    "request_ticket",
    "respond",
    "update_message",
    "upload_file",
    "user_name",
    "wait_for_share",
]

log = logging.getLogger(__name__)

_UNJOINABLE = {"method_not_supported_for_channel_type", "channel_not_found", "is_archived", "is_private"}


async def post_message(
    *,
    client: AsyncWebClient,
    channel: str,
    text: str,
    blocks: list[dict[str, Any]] | None = None,
    thread_ts: str | None = None,
    priority: Priority = Priority.ANNOUNCE,
    fence: Callable[[], Awaitable[None]] | None = None,
    retry: Retry = DEFAULT_RETRY,
) -> str:
    """Post a message (into a thread if `thread_ts`); return its ts. `fence` runs right before."""
    response = await call(
        "chat.postMessage",
        lambda: client.chat_postMessage(channel=channel, text=text, blocks=blocks, thread_ts=thread_ts),
        retry=retry,
        client=client,
        channel=channel,
        priority=priority,
        idempotent=False,
        fence=fence,
    )
    return str(response["ts"])


async def update_message(
    *,
    client: AsyncWebClient,
    channel: str,
    ts: str,
    text: str,
    blocks: list[dict[str, Any]] | None = None,
    priority: Priority = Priority.DELIVERY,
    max_wait_s: float | None = None,
    retry: Retry = DEFAULT_RETRY,
) -> None:
    """Edit a message in place; with `max_wait_s`, Dropped instead of waiting longer for Slack."""
    await call(
        "chat.update",
        lambda: client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks),
        retry=retry,
        client=client,
        priority=priority,
        max_wait_s=max_wait_s,
    )


async def post_ephemeral(
    *,
    client: AsyncWebClient,
    channel: str,
    user: str,
    text: str,
    thread_ts: str | None = None,
    priority: Priority = Priority.INTERACTIVE,
    retry: Retry = DEFAULT_RETRY,
) -> None:
    """Show `text` to `user` only, in `channel` (in the thread `thread_ts` when given)."""
    await call(
        "chat.postEphemeral",
        lambda: client.chat_postEphemeral(channel=channel, user=user, text=text, thread_ts=thread_ts),
        retry=retry,
        client=client,
        priority=priority,
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
    """Answer a command ephemerally through its response_url (Slack takes 5 posts in 30 minutes:
    callers count them, see bot.jobs.delivery.tell)."""
    body = {"response_type": "ephemeral", "text": text, "replace_original": replace_original}

    async def send() -> None:
        response = await http.post(response_url, json=body)
        if response.status_code >= 400:
            raise HttpStatusError(response.status_code, response.headers.get("Retry-After"), response.text)

    await call("response_url", send, retry=retry)


async def open_dm(
    *, client: AsyncWebClient, user: str, priority: Priority = Priority.ANNOUNCE, retry: Retry = DEFAULT_RETRY
) -> str:
    """The id of the bot's DM channel with `user`."""
    response = await call(
        "conversations.open",
        lambda: client.conversations_open(users=user),
        retry=retry,
        client=client,
        priority=priority,
    )
    return str(response["channel"]["id"])


async def join_channel(*, client: AsyncWebClient, channel: str, retry: Retry = DEFAULT_RETRY) -> bool:
    """Join a public channel; False if it cannot be joined (private, a DM, archived, gone)."""
    try:
        await call(
            "conversations.join",
            lambda: client.conversations_join(channel=channel),
            retry=retry,
            client=client,
        )
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
        response = await call(
            "chat.getPermalink",
            lambda: client.chat_getPermalink(channel=channel, message_ts=ts),
            retry=retry,
            client=client,
            priority=Priority.ANNOUNCE,
        )
    except SlackIOError as exc:
        log.info("no permalink for %s/%s: %s", channel, ts, exc.error)
        return None
    return str(response["permalink"])


async def open_view(
    *, client: AsyncWebClient, trigger_id: str, view: dict[str, Any], retry: Retry = DEFAULT_RETRY
) -> str:
    """views.open: show a modal for a trigger (valid 3 s, once); returns the view id."""
    response = await call(
        "views.open",
        lambda: client.views_open(trigger_id=trigger_id, view=view),
        retry=retry,
        client=client,
        priority=Priority.INTERACTIVE,
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
    await call(
        "views.update",
        lambda: client.views_update(view_id=view_id, view=view, hash=hash),
        retry=retry,
        client=client,
        priority=Priority.INTERACTIVE,
    )


async def publish_home(
    *, client: AsyncWebClient, user: str, view: dict[str, Any], retry: Retry = DEFAULT_RETRY
) -> None:
    """views.publish: the user's App Home tab."""
    await call(
        "views.publish",
        lambda: client.views_publish(user_id=user, view=view),
        retry=retry,
        client=client,
        priority=Priority.INTERACTIVE,
    )


async def user_name(
    *,
    client: AsyncWebClient,
    user: str,
    priority: Priority = Priority.INTERACTIVE,
    retry: Retry = DEFAULT_RETRY,
) -> str:
    """users.info: the name people see for `user` (display name, else real name, else handle)."""
    response = await call(
        "users.info", lambda: client.users_info(user=user), retry=retry, client=client, priority=priority
    )
    info = response["user"]
    profile = info.get("profile") or {}
    return str(profile.get("display_name") or info.get("real_name") or info.get("name") or user)


async def channel_name(
    *,
    client: AsyncWebClient,
    channel: str,
    priority: Priority = Priority.INTERACTIVE,
    retry: Retry = DEFAULT_RETRY,
) -> str:
    """conversations.info: a channel's name."""
    response = await call(
        "conversations.info",
        lambda: client.conversations_info(channel=channel),
        retry=retry,
        client=client,
        priority=priority,
    )
    return str(response["channel"].get("name") or channel)
