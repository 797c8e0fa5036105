"""The words of the budget alerts sent by DM: a user past 80% of their budget, admins when the
workspace passes 50/80/100% of its cap. Pure."""

from __future__ import annotations

from bot.money import format_usd
from bot.ui.words.format import utc
from storage.models import BudgetStatus, WorkspaceStatus


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
