"""The words of the App Home tab: the budget gauge and spend, recent videos, and (for admins) the
workspace. Pure."""

from __future__ import annotations

from bot.money import format_usd
from bot.ui.words.format import elapsed, escape, link, mention, per_period, resets, shorten, state_word
from storage.api import PeriodKind
from storage.models import BudgetStatus, Job, JobState, UserUsage, WorkspaceStatus

GAUGE_CELLS = 10
BUDGET_HEADER = "Your video budget"
VIDEOS_HEADER = "Your recent videos"
NO_VIDEOS = "No videos yet: try `/video`."
WORKSPACE_HEADER = "Workspace (admins)"
NOBODY_YET = "Nobody has made a video this period yet."


def gauge(used: int, limit: int) -> str:
    """`▰▰▰▱▱▱▱▱▱▱ 30%` of the budget used."""
    share = 1.0 if limit <= 0 else min(1.0, used / limit)
    full = round(share * GAUGE_CELLS)
    return "▰" * full + "▱" * (GAUGE_CELLS - full) + f" {round(share * 100)}%"


def budget_summary(status: BudgetStatus, period: PeriodKind) -> str:
    """The gauge, then spent, reserved, limit, left and when it resets."""
    used = status.spent_micros + status.reserved_micros
    return (
        f"`{gauge(used, status.limit_micros)}`\n"
        f"*{format_usd(status.spent_micros)}* spent and {format_usd(status.reserved_micros)} reserved of "
        f"{format_usd(status.limit_micros)} {per_period(period)} · "
        f"*{format_usd(status.remaining_micros)}* left · {resets(status.resets_at)}"
    )


def price_hint(price_micros: int) -> str:
    """What a second costs and how to ask for a video."""
    return f"{format_usd(price_micros)} per second of video · `/video &lt;prompt&gt;`, or `/video` alone"


def video_line(job: Job, now: float) -> str:
    """One recent video: prompt · state · cost · age · link."""
    age = elapsed(max(0.0, now - job.created_at))
    where = f" · {link(job.permalink, 'open')}" if job.permalink else ""
    cost = format_usd(job.charged_micros) if job.state is JobState.DELIVERED else "—"
    return f"• “{escape(shorten(job.prompt, 60))}” · {state_word(job)} · {cost} · {age} ago{where}"


def workspace_summary(workspace: WorkspaceStatus) -> str:
    """The workspace's gauge (when capped), spend, reservations and cap."""
    cap = "no cap" if workspace.cap_micros is None else f"cap {format_usd(workspace.cap_micros)}"
    used = workspace.spent_micros + workspace.reserved_micros
    money = f"{format_usd(workspace.spent_micros)} spent, {format_usd(workspace.reserved_micros)} reserved"
    shown = f"`{gauge(used, workspace.cap_micros)}` " if workspace.cap_micros else ""
    return f"{shown}{money} · {cap}"


def user_spend_line(row: UserUsage) -> str:
    """One person's spend this period."""
    return f"• {mention(row.user_id)} {format_usd(row.spent_micros)} ({row.jobs} videos)"
