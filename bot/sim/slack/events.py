"""Events API and message shortcuts from the stand-in, as Slack sends them.

A person's message that mentions the app is recorded in the workspace (so it can be threaded under)
and becomes an `app_mention` event in an `event_callback` envelope
(https://api.slack.com/events/app_mention). Over HTTP it is POSTed signed, as JSON; an attempt not
answered with a 2xx within 3 s is sent again with the same `event_id`, `X-Slack-Retry-Num` 1, 2, 3
and `X-Slack-Retry-Reason`, right away, then after 1 and 5 minutes, unless the app answered
`X-Slack-No-Retry: 1` (https://api.slack.com/apis/connections/events-api#retries). Over Socket Mode
the envelope carries `retry_attempt` / `retry_reason` instead (https://api.slack.com/apis/socket-mode).

A message shortcut is an interaction payload of `type: message_action` with the whole message, its
channel, a trigger_id and a response_url (https://api.slack.com/reference/interaction-payloads/shortcuts).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from bot.sim.signing import signed_headers
from bot.sim.slack.server import SlackStandIn
from bot.sim.slack.workspace import BOT_USER, TEAM_ID, Message

APP_ID = "A_STANDIN"
ACK_TIMEOUT_S = 3.0  # Slack's wait for an HTTP answer before it resends the event
RETRY_DELAYS_S = (0.0, 60.0, 300.0)  # the three resends: at once, after a minute, after five
_EVENT_IDS = itertools.count(1)


@dataclass
class Attempt:
    """One delivery of an event over HTTP: its retry number and what the app answered (None: no 2xx
    answer in time)."""

    retry_num: int
    reason: str | None
    status: int | None


def post_mention(
    slack: SlackStandIn, channel: str, user: str, text: str, *, thread_ts: str | None = None
) -> Message:
    """A person posts `text` in `channel`, or in the thread `thread_ts`.

    A mention of the app in a conversation the app is not in sends no event (Slack offers to invite
    it instead; https://api.slack.com/events/app_mention), nor does one to an app not granted
    `app_mentions:read` (the event's required scope), so the stand-in refuses to make one.
    """
    known = slack.workspace.channels.get(channel)
    if f"<@{BOT_USER}" in text and (known is None or not known.bot_member):
        raise ValueError(f"the app is not in {channel}: Slack sends no app_mention from there")
    if f"<@{BOT_USER}" in text and "app_mentions:read" not in slack.bot_scopes:
        raise ValueError("the app was not granted app_mentions:read: Slack sends it no app_mention")
    return slack.workspace.post(channel, text, user=user, thread_ts=thread_ts)


def mention_envelope(
    message: Message, *, event_id: str | None = None, edited: bool = False
) -> dict[str, Any]:
    """The `event_callback` body Slack sends for an app_mention in `message`."""
    event: dict[str, Any] = {
        "type": "app_mention",
        "user": message.user,
        "text": message.text,
        "ts": message.ts,
        "channel": message.channel,
        "event_ts": message.ts,
        "team": TEAM_ID,
    }
    if message.thread_ts is not None:
        event["thread_ts"] = message.thread_ts
    if message.user == BOT_USER:
        event["bot_id"] = "BBOT"
    if edited:
        event["edited"] = {"user": message.user, "ts": f"{time.time():.6f}"}
    return {
        "token": "deprecated-verification-token",
        "team_id": TEAM_ID,
        "api_app_id": APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{next(_EVENT_IDS):010d}",
        "event_time": int(float(message.ts)),
        "authorizations": [{"team_id": TEAM_ID, "user_id": BOT_USER, "is_bot": True}],
        "is_ext_shared_channel": False,
    }


async def send_event(
    http: httpx.AsyncClient,
    url: str,
    secret: str,
    envelope: dict[str, Any],
    *,
    retry_num: int = 0,
    retry_reason: str = "http_timeout",
    timeout_s: float | None = None,
) -> httpx.Response:
    """POST one delivery of `envelope`, signed; a resend (retry_num > 0) carries the retry headers."""
    body = json.dumps(envelope)
    headers = signed_headers(secret, body, content_type="application/json")
    if retry_num:
        headers |= {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": retry_reason}
    return await http.post(url, content=body.encode(), headers=headers, timeout=timeout_s)


async def deliver_event(
    http: httpx.AsyncClient,
    url: str,
    secret: str,
    envelope: dict[str, Any],
    *,
    ack_timeout_s: float = ACK_TIMEOUT_S,
    retry_delays_s: Sequence[float] = RETRY_DELAYS_S,
) -> list[Attempt]:
    """Deliver an event as Slack does, resending it until a 2xx answer (or the retries run out).

    An attempt that times out is not waited for: Slack resends while the app may still be working on
    the first one. Every attempt is awaited before returning, so nothing is left running.
    """
    attempts: list[Attempt] = []
    pending: list[asyncio.Task[httpx.Response]] = []
    reason: str | None = None
    try:
        for retry_num in range(len(retry_delays_s) + 1):
            if retry_num:
                await asyncio.sleep(retry_delays_s[retry_num - 1])
            task = asyncio.ensure_future(
                send_event(http, url, secret, envelope, retry_num=retry_num, retry_reason=reason or "")
            )
            pending.append(task)
            done, _ = await asyncio.wait([task], timeout=ack_timeout_s)
            if not done:
                attempts.append(Attempt(retry_num, reason, None))
                reason = "http_timeout"
                continue
            try:
                response = task.result()
            except httpx.HTTPError:
                attempts.append(Attempt(retry_num, reason, None))
                reason = "connection_failed"
                continue
            attempts.append(Attempt(retry_num, reason, response.status_code))
            if response.is_success or response.headers.get("X-Slack-No-Retry") == "1":
                break
            reason = "http_error"
    finally:
        await asyncio.gather(*pending, return_exceptions=True)
    return attempts


async def deliver_socket_event(
    slack: SlackStandIn,
    envelope: dict[str, Any],
    *,
    retry_attempt: int = 0,
    ack_timeout_s: float = ACK_TIMEOUT_S,
    retries: int = len(RETRY_DELAYS_S),
) -> dict[str, Any] | None:
    """Push `envelope` to a Socket Mode connection, resending it (`retry_attempt` counting up,
    `retry_reason: timeout`) while no ack arrives within `ack_timeout_s`; the ack's payload.

    Start at `retry_attempt` > 0 to send a resend directly. Raises TimeoutError when no attempt was
    acknowledged.
    """
    for attempt in range(retry_attempt, retry_attempt + retries + 1):
        try:
            return await slack.hub.send(
                "events_api",
                envelope,
                timeout=ack_timeout_s,
                retry_attempt=attempt,
                retry_reason="timeout" if attempt else "",
            )
        except TimeoutError:
            continue
    raise TimeoutError(f"no ack for event {envelope.get('event_id')}")


def message_action(
    slack: SlackStandIn,
    message: Message,
    user: str,
    *,
    callback_id: str,
    trigger_id: str | None = None,
) -> dict[str, Any]:
    """The payload of a message shortcut `user` picked on `message` (with a fresh response_url)."""
    channel = slack.workspace.channels.get(message.channel)
    return {
        "type": "message_action",
        "token": "deprecated-verification-token",
        "action_ts": f"{time.time():.6f}",
        "team": {"id": TEAM_ID, "domain": "standin"},
        "user": {"id": user, "name": slack.workspace.user_name(user), "team_id": TEAM_ID},
        "channel": {"id": message.channel, "name": channel.name if channel else message.channel.lower()},
        "is_enterprise_install": False,
        "callback_id": callback_id,
        "trigger_id": trigger_id or f"{int(time.time())}.{next(_EVENT_IDS)}.standin",
        "response_url": slack.new_response_url(),
        "message_ts": message.ts,
        "message": message.as_api(),
    }
