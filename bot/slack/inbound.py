"""What a request to /slack/events must pass before anything reads it, and what identifies it.

Signature first: the v0 signature and the timestamp are checked on the raw bytes before the body is
decoded or parsed (https://api.slack.com/authentication/verifying-requests-from-slack: "compare the
resulting signature with the header", timestamps older than five minutes are replays). Only then is
the body parsed, by the same rules Bolt uses, and refused when Bolt could not read it safely.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from slack_sdk.signature import SignatureVerifier

_TIMESTAMP = re.compile(r"^[0-9]{1,12}$")  # epoch seconds; anything else is not Slack's
_SIGNATURE = re.compile(r"^v0=[0-9a-f]{64}$")


def signature_ok(verifier: SignatureVerifier, headers: Mapping[str, str], body: bytes) -> bool:
    """True when the request carries Slack's v0 signature of `body`, signed in the last 5 minutes."""
    timestamp = headers.get("X-Slack-Request-Timestamp", "")
    signature = headers.get("X-Slack-Signature", "")
    # slack_sdk's verifier calls int() on the timestamp: check its shape first, never raise.
    if not _TIMESTAMP.match(timestamp) or not _SIGNATURE.match(signature):
        return False
    return verifier.is_valid(body=body, timestamp=timestamp, signature=signature)


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: JSON nested thousands deep
        return None
    return value if isinstance(value, dict) else None


# The parts of a payload Bolt's matchers and context builders index without checking their type
# (slack_bolt/request/internals.py, listener_matcher/builtins.py): a wrong type there is a 500.
_OBJECTS = ("user", "team", "channel", "container", "view", "event", "enterprise", "message", "state")
_LISTS_OF_OBJECTS = ("actions", "authorizations")
_STRINGS = (
    "type", "callback_id", "trigger_id", "team_id", "user_id", "channel_id", "enterprise_id",
    "command", "text", "response_url", "api_app_id", "event_id",
)  # fmt: skip


def _shape_ok(body: dict[str, Any]) -> bool:
    """True when every part Bolt reads blindly has the type Slack sends."""
    if any(body.get(k) is not None and not isinstance(body[k], dict) for k in _OBJECTS):
        return False
    if any(body.get(k) is not None and not isinstance(body[k], str) for k in _STRINGS):
        return False
    for key in _LISTS_OF_OBJECTS:
        items = body.get(key)
        if items is not None and not (isinstance(items, list) and all(isinstance(i, dict) for i in items)):
            return False
    if any(not isinstance(a.get("action_id"), str) for a in body.get("actions") or []):
        return False
    view, event = body.get("view") or {}, body.get("event") or {}
    if not isinstance(view.get("callback_id", ""), str) or not isinstance(event.get("type", ""), str):
        return False
    return isinstance(event.get("subtype") or "", str)


def parse_body(text: str, content_type: str | None) -> dict[str, Any] | None:
    """The body as Bolt would read it (JSON, form, or a form's `payload` JSON); None when malformed."""
    if not text:
        return {}
    if content_type == "application/json" or text.startswith("{"):
        body = _json_object(text)
    else:
        form = dict(parse_qsl(text, keep_blank_values=True))
        body = _json_object(form["payload"]) if "payload" in form else form
    return body if body is not None and _shape_ok(body) else None


def dig(data: Any, *keys: str) -> Any:
    """data[k1][k2]…, or None as soon as something is not an object (payloads are untrusted)."""
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def request_key(body: Mapping[str, Any]) -> str | None:
    """The identity a request is taken once by: `command:`, `action:`, `view:` + its trigger_id.

    Slack gives every slash command, click and view submission a fresh `trigger_id`
    (https://api.slack.com/interactivity/handling), and a retry or a replay carries the same one;
    without one, the request's content stands in (a byte-for-byte repeat is a replay). Events
    (`event:<event_id>`) are de-duplicated by their own handler; other requests move no money.
    """
    if "command" in body:
        kind = "command"
    elif body.get("type") == "block_actions":
        kind = "action"
    elif body.get("type") == "view_submission":
        kind = "view"
    else:
        return None
    trigger = body.get("trigger_id")
    if isinstance(trigger, str) and trigger:
        return f"{kind}:{trigger}"
    content = json.dumps(body, sort_keys=True, default=str).encode()
    return f"{kind}:sha256:{hashlib.sha256(content).hexdigest()}"
