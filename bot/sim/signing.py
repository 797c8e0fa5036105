"""Driving the app over HTTP as Slack does: v0-signed slash commands and interaction payloads."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from typing import Any
from urllib.parse import urlencode

import httpx

FORM = "application/x-www-form-urlencoded"


def sign(secret: str, body: str, timestamp: int) -> str:
    """Slack's `X-Slack-Signature` for `body` sent at `timestamp`: `v0=` + HMAC-SHA256 hex."""
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(
    secret: str, body: str, *, timestamp: int | None = None, content_type: str = FORM
) -> dict[str, str]:
    """The headers Slack sends with a request: timestamp, signature, content type."""
    ts = int(time.time()) if timestamp is None else timestamp
    return {
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": sign(secret, body, ts),
        "Content-Type": content_type,
    }


def slash_command_body(
    command: str = "/video",
    text: str = "",
    user_id: str = "U_ALICE",
    channel_id: str = "C_PUBLIC",
    team_id: str = "T_STANDIN",
    response_url: str = "https://hooks.slack.com/commands/T_STANDIN/1/standin",
    trigger_id: str | None = None,
    *,
    user_name: str | None = None,
    channel_name: str | None = None,
) -> str:
    """A slash command request body, form-encoded as Slack posts it."""
    return urlencode(
        {
            "token": "deprecated-verification-token",
            "team_id": team_id,
            "team_domain": "standin",
            "channel_id": channel_id,
            "channel_name": channel_name or channel_id.lower(),
            "user_id": user_id,
            "user_name": user_name or user_id.lower(),
            "command": command,
            "text": text,
            "api_app_id": "A_STANDIN",
            "is_enterprise_install": "false",
            "response_url": response_url,
            # Slack gives every command a fresh trigger_id; the app takes each one once.
            "trigger_id": trigger_id or f"{int(time.time())}.{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex}",
        }
    )


def interaction_body(payload: dict[str, Any]) -> str:
    """An interactivity request body: `payload=<json>`, form-encoded."""
    return urlencode({"payload": json.dumps(payload)})


async def post_signed(
    http: httpx.AsyncClient,
    url: str,
    body: str,
    secret: str,
    *,
    timestamp: int | None = None,
    content_type: str = FORM,
) -> httpx.Response:
    """POST `body` to the app with a valid Slack signature (pass a stale `timestamp` to test replay)."""
    headers = signed_headers(secret, body, timestamp=timestamp, content_type=content_type)
    return await http.post(url, content=body.encode(), headers=headers)
