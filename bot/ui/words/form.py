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


def length_option(seconds: int) -> str:
    """One choice of the Length menu."""
    return secs(seconds)


def estimate_line(settings: Settings, duration: int, status: BudgetStatus) -> str:
    """The live line under the form: what this video costs and what the user has left."""
    estimate = cost_micros(duration, settings.price_micros)
    left = status.remaining_micros
    fits = "" if estimate <= left else " :warning: more than you have left; pick a shorter video"
    return f"Estimated cost *{format_usd(estimate)}* · you have {format_usd(left)} left{fits}"
