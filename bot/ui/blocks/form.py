"""Block Kit of the /video form (opened by `/video` alone and by Edit and regenerate), and reading
its state back. Pure: data in, Slack JSON out."""

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
from bot.ui.blocks.base import finish
from bot.ui.words import form as words
from storage.models import BudgetStatus

MODAL_CALLBACK = "video_modal"
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
) -> dict[str, Any]:
    """The form that `/video` with no text opens (and Edit and regenerate, prefilled)."""
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
        "private_metadata": json.dumps({"channel_id": channel_id}),
        "blocks": finish(blocks),
    }


def form_values(view: dict[str, Any]) -> tuple[str, int | None, str | None]:
    """(prompt, duration, ratio) as the form currently holds them."""
    values = view.get("state", {}).get("values", {})

    def selected(block: str, action: str) -> str | None:
        option = values.get(block, {}).get(action, {}).get("selected_option") or {}
        return option.get("value")

    prompt = values.get("prompt", {}).get("prompt", {}).get("value") or ""
    duration = selected("duration", FORM_ACTIONS[0])
    return (
        prompt,
        int(duration) if duration and duration.isdigit() else None,
        selected("ratio", FORM_ACTIONS[1]),
    )


def form_channel(view: dict[str, Any]) -> str:
    """The channel the form was opened from."""
    try:
        return str(json.loads(view.get("private_metadata") or "{}").get("channel_id", ""))
    except ValueError:
        return ""
