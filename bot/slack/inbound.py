"""What a request to /slack/events must pass before anything reads it, and what identifies it.

Signature first: the v0 signature and the timestamp are checked on the raw bytes before the body is
decoded or parsed (https://api.slack.com/authentication/verifying-requests-from-slack: "compare the
resulting signature with the header", timestamps older than five minutes are replays). Only then is
the body parsed, by the same rules Bolt uses, and refused when Bolt could not read it safely.
"""

from __future__ import annotations

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


def parse_body(text: str, content_type: str | None) -> dict[str, Any] | None:
    """The body as Bolt would read it (JSON, form, or a form's `payload` JSON); None when malformed."""
    if not text:
        return {}
    if content_type == "application/json" or text.startswith("{"):
        return _json_object(text)
    form = dict(parse_qsl(text, keep_blank_values=True))
    if "payload" in form:
        return _json_object(form["payload"])
    return form


def request_key(body: Mapping[str, Any]) -> str | None:
    """The identity a request is taken once by: `command:`, `action:`, `view:` + its trigger_id.

    Slack gives every slash command, click and view submission a fresh `trigger_id`
    (https://api.slack.com/interactivity/handling#modal_responses), and a retry or replay carries
    the same one. Events (`event:<event_id>`) are de-duplicated by their own handler; requests
    without a trigger_id (view_closed, suggestions) move no money and are not tracked.
    """
    trigger = body.get("trigger_id")
    if not isinstance(trigger, str) or not trigger:
        return None
    if "command" in body:
        return f"command:{trigger}"
    kind = body.get("type")
    if kind == "block_actions":
        return f"action:{trigger}"
    if kind == "view_submission":
        return f"view:{trigger}"
    return None
