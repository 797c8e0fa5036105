"""The "Make a video" message shortcut: the form, prefilled with the message's words; the video
goes into that message's thread.

A message shortcut's payload (`type: message_action`) carries the message, its channel, a trigger_id
valid for 3 s and a response_url (https://api.slack.com/reference/interaction-payloads/shortcuts).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.commands import MAX_PROMPT_CHARS, VideoRequest
from bot.deps import Deps
from bot.jobs.runner import JobRunner
from bot.slack.markup import lookup_names, plain_words
from bot.ui.blocks.form import SHORTCUT_CALLBACK
from bot.ui.words.format import shorten
from handlers.forms import Loaded, open_form


def register(app: AsyncApp, deps: Deps, runner: JobRunner) -> None:
    """Attach the message shortcut."""

    @app.message_shortcut(SHORTCUT_CALLBACK)
    async def make_video(ack: AsyncAck, shortcut: dict[str, Any]) -> None:
        await ack()
        message = shortcut.get("message") or {}
        # A reply names its thread's root; a top-level message becomes the root of a new thread.
        thread = {
            "thread_ts": str(message.get("thread_ts") or message.get("ts") or shortcut.get("message_ts"))
        }
        if shortcut.get("response_url"):
            thread["response_url"] = str(shortcut["response_url"])

        text = str(message.get("text") or "")
        channel_id = str(shortcut.get("channel", {}).get("id", ""))
        # The form opens with the message's words at once (ids for names: the trigger is good for 3 s);
        # the names are looked up after it opened, in the form's task, and fill it in.
        open_form(
            deps,
            runner,
            trigger_id=str(shortcut.get("trigger_id", "")),
            user_id=str(shortcut.get("user", {}).get("id", "")),
            channel_id=channel_id,
            prefill=_request(deps, text, {}),
            thread=thread,
            load=partial(_named, deps, text, channel_id, thread),
        )


def _request(deps: Deps, text: str, names: Mapping[str, str]) -> VideoRequest:
    """The message as plain words (names as `names` has them), at the default length and ratio."""
    prompt = shorten(plain_words(text, names), MAX_PROMPT_CHARS)
    return VideoRequest(prompt, deps.settings.duration_default, deps.settings.default_aspect_ratio)


async def _named(deps: Deps, text: str, channel_id: str, thread: dict[str, str]) -> Loaded | None:
    """The message's words with the names of the people and channels it mentions, looked up briefly
    (users.info, conversations.info, paced like every call); None when it names nobody."""
    names = await lookup_names(deps.slack, text)
    return (_request(deps, text, names), channel_id, thread) if names else None
