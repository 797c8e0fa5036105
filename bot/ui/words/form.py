"""The words of the /video form: its title, labels and buttons, and the live cost line. Pure."""

from __future__ import annotations

from bot.money import format_usd
from bot.settings import Settings
from bot.ui.words.format import secs
from storage.billing import cost_micros
from storage.models import BudgetStatus

TITLE = "Make a video"
SUBMIT = "Generate"
CLOSE = "Cancel"
PROMPT_LABEL = "What should the video show?"
PROMPT_PLACEHOLDER = "a slow drone shot over a mountain lake at dawn"
LENGTH_LABEL = "Length"
RATIO_LABEL = "Aspect ratio"
TOO_LATE = (
    "The form could not open in time (Slack gives an app 3 seconds). Type `/video` again, "
    "or `/video <what the video should show>` to skip the form."
)


def length_option(seconds: int) -> str:
    """One choice of the Length menu."""
    return secs(seconds)


def estimate_line(settings: Settings, duration: int, status: BudgetStatus | None) -> str:
    """The live line under the form: what this video costs and what the user has left (None: the
    form opened before the budget was read, which follows within a moment)."""
    estimate = cost_micros(duration, settings.price_micros)
    if status is None:
        return f"Estimated cost *{format_usd(estimate)}* · checking what you have left…"
    left = status.remaining_micros
    fits = "" if estimate <= left else " :warning: more than you have left; pick a shorter video"
    return f"Estimated cost *{format_usd(estimate)}* · you have {format_usd(left)} left{fits}"
