"""The "Make a video" message shortcut: the form, prefilled with the message's words; the video
goes into that message's thread.

A message shortcut's payload (`type: message_action`) carries the message, its channel, a trigger_id
valid for 3 s and a response_url (https://api.slack.com/reference/interaction-payloads/shortcuts).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.commands import MAX_PROMPT_CHARS, VideoRequest
from bot.deps import Deps
from bot.jobs.runner import JobRunner
from bot.slack.markup import lookup_names, plain_words
from bot.ui.blocks.form import SHORTCUT_CALLBACK
from bot.ui.words.format import shorten
from handlers.forms import open_form


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

        open_form(
            deps,
            runner,
            trigger_id=str(shortcut.get("trigger_id", "")),
            user_id=str(shortcut.get("user", {}).get("id", "")),
            channel_id=str(shortcut.get("channel", {}).get("id", "")),
            prefill=partial(_words, deps, str(message.get("text") or "")),
            thread=thread,
        )


async def _words(deps: Deps, text: str) -> VideoRequest:
    """The message as plain words, names looked up briefly (the form must open within 3 s); awaited in
    the form's task, after the ack."""
    prompt = shorten(plain_words(text, await lookup_names(deps.slack, text)), MAX_PROMPT_CHARS)
    return VideoRequest(prompt, deps.settings.duration_default, deps.settings.default_aspect_ratio)
