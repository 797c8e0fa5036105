"""@videobot in a channel or a thread: the /video grammar, answered in that thread.

A mention inside a thread gets its video in that thread; one at the top of a channel threads under
the mention itself. Answers (refusals, help, the acceptance) reach only the user, ephemerally, where
they mentioned the bot.

Slack resends an event it believes was not acknowledged, with the same `event_id` and an
`X-Slack-Retry-Num` header (https://api.slack.com/apis/connections/events-api#retries), maybe to
another replica or after a restart. Each event is claimed as `event:<event_id>` in the request store
and its answer recorded, so a resend is acknowledged and nothing more. Should the first delivery die
between its claim and its reservation, a resend still starts the video: the job's id is derived
from the event, so of all deliveries only one can store the job (checked in the same serialized
transaction as the reservation).
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext

from bot.commands import ParseError, VideoRequest, parse_video, strip_mention
from bot.deps import Deps
from bot.errors import SlackDeliveryError
from bot.jobs.delivery import tell
from bot.logs import log_event
from bot.ui import messages
from handlers.start import start_video
from handlers.video import answer_subcommand

log = logging.getLogger(__name__)

# Job ids of mentions are uuid5(this, team/event): the same event always names the same job.
EVENT_JOBS = uuid.UUID("5b0c6f1e-8a43-4d1c-9f3e-6c2b7d9a1e40")
# A message a person wrote; other subtypes are edits, deletions, other apps' posts and channel notices
# (https://api.slack.com/events/message#subtypes). A thread reply also sent to the channel is a person's.
_PERSON_SUBTYPES = (None, "thread_broadcast", "file_share")


def event_job_id(body: dict[str, Any]) -> str | None:
    """The id of the job an Events API request may start; None when the request has no event_id."""
    event_id = body.get("event_id")
    if not event_id:
        return None
    return uuid.uuid5(EVENT_JOBS, f"{body.get('team_id', '')}/{event_id}").hex


def from_a_person(event: dict[str, Any]) -> bool:
    """False for bots (this one included), edits and anything else that is not a person asking."""
    return (
        bool(event.get("user"))
        and not event.get("bot_id")
        and "edited" not in event
        and event.get("subtype") in _PERSON_SUBTYPES
    )


def register(app: AsyncApp, deps: Deps) -> None:
    """Attach the app_mention listener (Bolt acknowledges the event when it returns)."""

    @app.event("app_mention")
    async def mentioned(body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext) -> None:
        await answer_mention(deps, body, event, bot_user_id=context.bot_user_id)


async def answer_mention(
    deps: Deps, body: dict[str, Any], event: dict[str, Any], *, bot_user_id: str | None
) -> None:
    """Everything a mention does before the ack (claim, parse, reserve); the answer follows in an
    owned task."""
    if not from_a_person(event):
        log_event(log, "mention.ignored", subtype=event.get("subtype"), bot=bool(event.get("bot_id")))
        return
    key = f"event:{body.get('event_id') or event.get('ts')}"
    claim = await deps.store.claim_request(key)
    if not claim.first and claim.answer is not None:
        log_event(log, "mention.repeat", key=key)
        return  # answered already; Slack only missed the ack
    # A repeat with no answer recorded: the first delivery is still at work, or died before it
    # answered. A video request goes on (its event-derived job id lets only one job be stored);
    # anything else is left to the first delivery.
    user, channel = str(event["user"]), str(event.get("channel", ""))
    in_thread = str(event["thread_ts"]) if event.get("thread_ts") else None
    text = strip_mention(str(event.get("text", "")), bot_user_id)
    parsed = parse_video(text, deps.settings) if text.strip() else None
    if isinstance(parsed, VideoRequest):
        command = {
            "team_id": body.get("team_id") or event.get("team", ""),
            "user_id": user,
            "channel_id": channel,
            "thread_ts": in_thread or str(event.get("ts", "")),
        }
        answer = await start_video(deps, parsed, command, origin="mention", job_id=event_job_id(body))
        if answer.duplicate:
            return
        reply = answer.text
    elif not claim.first:
        return
    elif parsed is None:
        reply = messages.mention_empty(bot_user_id)
    elif isinstance(parsed, ParseError):
        reply = parsed.message
    else:
        reply = await answer_subcommand(deps, parsed, user)
    await deps.store.record_answer(key, json.dumps({"text": reply}))
    deps.job_runner().spawn(_answer(deps, user, channel, in_thread, reply), name="mention-answer")


async def _answer(deps: Deps, user: str, channel: str, thread_ts: str | None, text: str) -> None:
    try:
        await tell(deps, user=user, channel=channel, response_url=None, text=text, thread_ts=thread_ts)
    except SlackDeliveryError as exc:
        log.warning("mention answer lost", extra={"event": "mention.error", "user": user, "error": repr(exc)})
