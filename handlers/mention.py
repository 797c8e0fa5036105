"""@videobot in a channel or a thread: the /video grammar, answered in that thread.

A mention inside a thread gets its video in that thread; one at the top of a channel threads under
the mention itself. Answers (refusals, help, the acceptance) reach only the user, ephemerally, where
they mentioned the bot.

Slack resends an event it believes was not acknowledged, with the same `event_id` and an
`X-Slack-Retry-Num` header (https://api.slack.com/apis/connections/events-api#retries), maybe to
another replica or after a restart. A mention that asks for a video stores its job under an id
derived from the event, in the same serialized transaction as the reservation: of all deliveries
only one stores the job, and the others (resends, or one racing the first on another replica) find
it there and say nothing. A delivery that died before it reserved leaves nothing behind, so a
resend still makes the video. Answers that store no job (refusals, help, parse errors) claim
`event:<event_id>` in the request store instead, so a resend does not say them twice.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext

from bot.commands import ParseError, VideoRequest, parse_video, strip_mention
from bot.deps import START_DEFER_MAX_S, Deps
from bot.jobs.delivery import tell
from bot.jobs.runner import JobRunner
from bot.logs import log_event
from bot.ui.words import video as words
from handlers.start import StartRequest, start_video
from handlers.video import answer_subcommand
from storage.errors import SlackDeliveryError

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


def register(app: AsyncApp, deps: Deps, runner: JobRunner) -> None:
    """Attach the app_mention listener (Bolt acknowledges the event when it returns)."""

    @app.event("app_mention")
    async def mentioned(body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext) -> None:
        await answer_mention(deps, runner, body, event, bot_user_id=context.bot_user_id)


async def answer_mention(
    deps: Deps, runner: JobRunner, body: dict[str, Any], event: dict[str, Any], *, bot_user_id: str | None
) -> None:
    """Everything a mention does before the ack (parse, reserve or claim); the answer follows in an
    owned task."""
    if not from_a_person(event):
        log_event(log, "mention.ignored", subtype=event.get("subtype"), bot=bool(event.get("bot_id")))
        return
    user, channel = str(event["user"]), str(event.get("channel", ""))
    in_thread = str(event["thread_ts"]) if event.get("thread_ts") else None
    text = strip_mention(str(event.get("text", "")), bot_user_id)
    parsed = parse_video(text, deps.settings) if text.strip() else None
    if isinstance(parsed, VideoRequest):
        request = StartRequest(
            video=parsed,
            team_id=str(body.get("team_id") or event.get("team", "")),
            user_id=user,
            channel_id=channel,
            origin="mention",
            thread_ts=in_thread or str(event.get("ts", "")),
            job_id=event_job_id(body),
        )
        answer = await start_video(deps, runner, request)
        if answer.duplicate or (answer.refused and not await _first_time(deps, body, event)):
            return
        reply = answer.text
    elif not await _first_time(deps, body, event):
        return
    elif parsed is None:
        reply = words.mention_empty(bot_user_id)
    elif isinstance(parsed, ParseError):
        reply = parsed.message
    else:
        reply = await answer_subcommand(deps, parsed, user)
    runner.spawn(_answer(deps, user, channel, in_thread, reply), name="mention-answer")


async def _first_time(deps: Deps, body: dict[str, Any], event: dict[str, Any]) -> bool:
    """Claim the event in the request store: False when a delivery of it was answered before."""
    key = f"event:{body.get('event_id') or event.get('ts')}"
    if (await deps.store.claim_request(key)).first:
        return True
    log_event(log, "mention.repeat", key=key)
    return False


async def _answer(deps: Deps, user: str, channel: str, thread_ts: str | None, text: str) -> None:
    # Unlike a command's, this answer is a Slack call of its own: in a flood of events it lets the
    # acks go first, as new jobs do (bot.slack.ingress), for at most a second.
    await deps.ingress.wait_quiet(START_DEFER_MAX_S)
    try:
        await tell(deps, user=user, channel=channel, response_url=None, text=text, thread_ts=thread_ts)
    except SlackDeliveryError as exc:
        log.warning("mention answer lost", extra={"event": "mention.error", "user": user, "error": repr(exc)})
