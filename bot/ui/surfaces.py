"""Pure builders and wording for the interactive surfaces: the /video form, the buttons under a
finished video, and the App Home tab. Data in, Slack JSON out; no I/O."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    StaticSelectElement,
)

from bot.commands import MAX_PROMPT_CHARS
from bot.money import format_usd
from bot.settings import Settings
from bot.ui.blocks import context, finish, section
from bot.ui.messages import elapsed, escape, link, per_period, shorten, state_word, status_text, utc
from storage.models import CANCELLABLE_STATES, BudgetStatus, Job, JobState, UserUsage, WorkspaceStatus

MODAL_CALLBACK = "video_modal"
ACTION_REGENERATE = "video_regenerate"
ACTION_EDIT = "video_edit"
ACTION_RETRY = "video_retry"
ACTION_CANCEL = "video_cancel"
FORM_ACTIONS = ("form_duration", "form_ratio")
GAUGE_CELLS = 10


# --- the /video form -----------------------------------------------------------------------------


def estimate_line(settings: Settings, duration: int, status: BudgetStatus) -> str:
    """The live line under the form: what this video costs and what the user has left."""
    estimate = duration * settings.price_micros
    left = status.remaining_micros
    fits = "" if estimate <= left else " :warning: more than you have left; pick a shorter video"
    return f"Estimated cost *{format_usd(estimate)}* · you have {format_usd(left)} left{fits}"


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
        Option(text=f"{n} s", value=str(n)) for n in range(settings.duration_min, settings.duration_max + 1)
    ]
    ratios = [Option(text=r, value=r) for r in settings.aspect_ratios]
    blocks = [
        InputBlock(
            block_id="prompt",
            label="What should the video show?",
            element=PlainTextInputElement(
                action_id="prompt",
                multiline=True,
                max_length=MAX_PROMPT_CHARS,
                initial_value=prompt or None,
                placeholder="a slow drone shot over a mountain lake at dawn",
            ),
        ),
        _live_select("duration", "Length", FORM_ACTIONS[0], seconds, str(duration)),
        _live_select("ratio", "Aspect ratio", FORM_ACTIONS[1], ratios, ratio),
        ContextBlock(
            block_id="estimate", elements=[MarkdownTextObject(text=estimate_line(settings, duration, status))]
        ),
    ]
    return {
        "type": "modal",
        "callback_id": MODAL_CALLBACK,
        "title": {"type": "plain_text", "text": "Make a video"},
        "submit": {"type": "plain_text", "text": "Generate"},
        "close": {"type": "plain_text", "text": "Cancel"},
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


# --- buttons under a finished video ---------------------------------------------------------------


def finished_actions(job: Job) -> list[dict[str, Any]]:
    """Regenerate / Edit and regenerate under a delivered video; Try again under a failed one."""
    if job.state is JobState.DELIVERED:
        buttons = [
            ButtonElement(text="Regenerate", action_id=ACTION_REGENERATE, value=job.id),
            ButtonElement(text="Edit and regenerate", action_id=ACTION_EDIT, value=job.id),
        ]
    elif job.state.finished and job.state is not JobState.CANCELLED:
        buttons = [ButtonElement(text="Try again", action_id=ACTION_RETRY, value=job.id, style="primary")]
    else:
        return []
    return finish([ActionsBlock(block_id=f"actions-{job.id[:8]}", elements=buttons)])


def status_view(
    job: Job, now: float | None = None, *, ahead: int | None = None, estimate_s: float | None = None
) -> tuple[str, list[dict[str, Any]]]:
    """The status message in the thread: its text and blocks, with a Cancel button while the job has
    not reached the video service, and the next-step buttons once it is finished."""
    text = status_text(job, now, ahead=ahead, estimate_s=estimate_s)
    blocks: list[Any] = [context(text)]
    if job.state in CANCELLABLE_STATES:
        cancel = ButtonElement(text="Cancel", action_id=ACTION_CANCEL, value=job.id, style="danger")
        blocks.append(ActionsBlock(block_id=f"cancel-{job.id[:8]}", elements=[cancel]))
    return text, finish(blocks) + finished_actions(job)


def cancel_refused(job: Job) -> str:
    """Why a Cancel click changed nothing."""
    if job.state is JobState.CANCELLED:
        who = f" by <@{escape(job.cancelled_by)}>" if job.cancelled_by else ""
        return f"That video was already cancelled{who}; its money was released."
    if job.state.finished:
        return "That video is already finished, so there is nothing to cancel."
    return (
        "Too late to cancel: the video service has already started making it, and it cannot be stopped "
        "there. It will be delivered and charged as usual."
    )


def cancel_done(job: Job, remaining_micros: int) -> str:
    """The answer to a Cancel that worked."""
    return (
        f"Cancelled. The {format_usd(job.estimate_micros)} reserved for it was released; "
        f"<@{escape(job.user_id)}> has {format_usd(remaining_micros)} left."
    )


def only_owner_may_cancel(owner: str) -> str:
    """A click on someone else's Cancel."""
    return f"Only <@{escape(owner)}> or a video admin can cancel this video."


def click_taken(action: str) -> str:
    """The answer to a second click on the same button."""
    if action == ACTION_RETRY:
        return "You already tried this one again; follow the new video in its thread."
    return "You already regenerated this video; use the buttons under the new one for more."


def only_owner_may_retry(owner: str) -> str:
    """A click on someone else's Try again."""
    return f"Only <@{escape(owner)}> can try their video again; `/video` makes one of your own."


def job_gone() -> str:
    """A button whose job no longer exists."""
    return "I can't find that video any more; start a new one with `/video`."


# --- App Home -------------------------------------------------------------------------------------


def gauge(used: int, limit: int) -> str:
    """`▰▰▰▱▱▱▱▱▱▱ 30%` of the budget used."""
    share = 1.0 if limit <= 0 else min(1.0, used / limit)
    full = round(share * GAUGE_CELLS)
    return "▰" * full + "▱" * (GAUGE_CELLS - full) + f" {round(share * 100)}%"


def _video_line(job: Job, now: float) -> str:
    age = elapsed(max(0.0, now - job.created_at))
    state = state_word(job)
    where = f" · {link(job.permalink, 'open')}" if job.permalink else ""
    cost = format_usd(job.charged_micros) if job.state is JobState.DELIVERED else "—"
    return f"• “{escape(shorten(job.prompt, 60))}” · {state} · {cost} · {age} ago{where}"


def home_view(
    settings: Settings,
    status: BudgetStatus,
    jobs: Sequence[Job],
    *,
    now: float,
    admin: tuple[Sequence[UserUsage], WorkspaceStatus] | None = None,
) -> dict[str, Any]:
    """The App Home tab: the user's budget gauge, spend and recent videos; admins see everyone."""
    used = status.spent_micros + status.reserved_micros
    resets = "never resets" if status.resets_at is None else f"resets {utc(status.resets_at)}"
    blocks: list[Any] = [
        HeaderBlock(text="Your video budget"),
        section(
            f"`{gauge(used, status.limit_micros)}`\n"
            f"*{format_usd(status.spent_micros)}* spent and {format_usd(status.reserved_micros)} reserved of "
            f"{format_usd(status.limit_micros)} {per_period(settings.budget_period)} · "
            f"*{format_usd(status.remaining_micros)}* left · {resets}"
        ),
        context(
            f"{format_usd(settings.price_micros)} per second of video"
            " · `/video &lt;prompt&gt;`, or `/video` alone"
        ),
        DividerBlock(),
        HeaderBlock(text="Your recent videos"),
        section("\n".join(_video_line(j, now) for j in jobs) if jobs else "No videos yet: try `/video`."),
    ]
    if admin is not None:
        rows, workspace = admin
        cap = "no cap" if workspace.cap_micros is None else f"cap {format_usd(workspace.cap_micros)}"
        spent = workspace.spent_micros + workspace.reserved_micros
        money = (
            f"{format_usd(workspace.spent_micros)} spent, {format_usd(workspace.reserved_micros)} reserved"
        )
        lines = [
            f"• <@{escape(r.user_id)}> {format_usd(r.spent_micros)} ({r.jobs} videos)" for r in rows[:30]
        ]
        blocks += [
            DividerBlock(),
            HeaderBlock(text="Workspace (admins)"),
            section(
                (f"`{gauge(spent, workspace.cap_micros)}` " if workspace.cap_micros else "")
                + f"{money} · {cap}"
            ),
            section("\n".join(lines) if lines else "Nobody has made a video this period yet."),
        ]
    return {"type": "home", "blocks": finish(blocks)}


# --- alerts ---------------------------------------------------------------------------------------


def user_budget_alert(status: BudgetStatus) -> str:
    """DM to a user who passed 80% of their budget."""
    return (
        f":warning: You have used {format_usd(status.spent_micros)} of your "
        f"{format_usd(status.limit_micros)} video budget; {format_usd(status.remaining_micros)} is left"
        + ("." if status.resets_at is None else f" until {utc(status.resets_at)}.")
    )


def cap_alert(percent: int, workspace: WorkspaceStatus) -> str:
    """DM to admins when the workspace passes 50/80/100% of its cap."""
    assert workspace.cap_micros is not None
    return (
        f":rotating_light: The workspace has spent {format_usd(workspace.spent_micros)} of its "
        f"{format_usd(workspace.cap_micros)} video cap ({percent}% reached). `/video-admin usage` shows who."
    )
