"""Block Kit of the /video form (opened by `/video` alone, by Edit and regenerate and by the message
shortcut), and reading its state back. Pure: data in, Slack JSON out."""

from __future__ import annotations

import json
from typing import Any

from slack_sdk.models.blocks import (
    ContextBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    StaticSelectElement,
)

from bot.commands import MAX_PROMPT_CHARS
from bot.settings import Settings
from bot.slack.inbound import dig
from bot.ui.blocks.base import finish
from bot.ui.words import form as words
from storage.models import BudgetStatus

MODAL_CALLBACK = "video_modal"
SHORTCUT_CALLBACK = "video_from_message"  # the "Make a video" message shortcut (bot/manifest.py)
FORM_ACTIONS = ("form_duration", "form_ratio")


def _live_select(block_id: str, label: str, action_id: str, options: list[Option], value: str) -> InputBlock:
    """A form menu whose changes are sent to us at once (to refresh the estimate line)."""
    return InputBlock(
        block_id=block_id,
        label=label,
        dispatch_action=True,
        element=StaticSelectElement(
            action_id=action_id,
            options=options,
            initial_option=next(o for o in options if o.value == value),
        ),
    )


def video_modal(
    settings: Settings,
    status: BudgetStatus,
    *,
    channel_id: str,
    prompt: str = "",
    duration: int | None = None,
    ratio: str | None = None,
    thread: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The form that `/video` with no text opens (Edit and regenerate and the message shortcut
    prefilled); `thread` (thread_ts, response_url) is kept in its metadata for the submission."""
    duration = duration or settings.duration_default
    ratio = ratio if ratio in settings.aspect_ratios else settings.default_aspect_ratio
    seconds = [
        Option(text=words.length_option(n), value=str(n))
        for n in range(settings.duration_min, settings.duration_max + 1)
    ]
    ratios = [Option(text=r, value=r) for r in settings.aspect_ratios]
    blocks = [
        InputBlock(
            block_id="prompt",
            label=words.PROMPT_LABEL,
            element=PlainTextInputElement(
                action_id="prompt",
                multiline=True,
                max_length=MAX_PROMPT_CHARS,
                initial_value=prompt or None,
                placeholder=words.PROMPT_PLACEHOLDER,
            ),
        ),
        _live_select("duration", words.LENGTH_LABEL, FORM_ACTIONS[0], seconds, str(duration)),
        _live_select("ratio", words.RATIO_LABEL, FORM_ACTIONS[1], ratios, ratio),
        ContextBlock(
            block_id="estimate",
            elements=[MarkdownTextObject(text=words.estimate_line(settings, duration, status))],
        ),
    ]
    return {
        "type": "modal",
        "callback_id": MODAL_CALLBACK,
        "title": {"type": "plain_text", "text": words.TITLE},
        "submit": {"type": "plain_text", "text": words.SUBMIT},
        "close": {"type": "plain_text", "text": words.CLOSE},
        "private_metadata": json.dumps({"channel_id": channel_id} | (thread or {})),
        "blocks": finish(blocks),
    }


def form_values(view: Any) -> tuple[str, str | None, str | None]:
    """(prompt, duration, ratio) as the form holds them, unchecked text (`check_form` checks)."""
    values = dig(view, "state", "values")

    def text(value: Any) -> str | None:
        return value if isinstance(value, str) else None

    prompt = text(dig(values, "prompt", "prompt", "value")) or ""
    duration = text(dig(values, "duration", FORM_ACTIONS[0], "selected_option", "value"))
    ratio = text(dig(values, "ratio", FORM_ACTIONS[1], "selected_option", "value"))
    return prompt, duration, ratio


def form_channel(view: Any) -> str:
    """The channel the form was opened from (as we wrote it into private_metadata)."""
    metadata = dig(view, "private_metadata")
    try:
        channel = dig(json.loads(metadata), "channel_id") if isinstance(metadata, str) else None
    except (ValueError, RecursionError):
        return ""
    return channel if isinstance(channel, str) else ""


def form_thread(view: Any) -> dict[str, str]:
    """The thread the form's video goes into (`thread_ts`, and the shortcut's `response_url`), if any."""
    metadata = dig(view, "private_metadata")
    try:
        meta = json.loads(metadata) if isinstance(metadata, str) else None
    except (ValueError, RecursionError):
        return {}
    if not isinstance(meta, dict):
        return {}
    return {k: meta[k] for k in ("thread_ts", "response_url") if isinstance(meta.get(k), str) and meta[k]}
