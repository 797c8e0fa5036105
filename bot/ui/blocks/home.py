"""Block Kit of the App Home tab: the user's budget, their recent videos, and the workspace for
admins. Pure: data in, Slack JSON out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import DividerBlock, HeaderBlock

from bot.settings import Settings
from bot.ui.blocks.base import context, finish, section
from bot.ui.words import home as words
from bot.ui.words.admin import overage_note
from storage.models import BudgetStatus, Job, UserUsage, WorkspaceStatus

MAX_USERS_SHOWN = 30


def home_view(
    settings: Settings,
    status: BudgetStatus,
    jobs: Sequence[Job],
    *,
    now: float,
    admin: tuple[Sequence[UserUsage], WorkspaceStatus] | None = None,
) -> dict[str, Any]:
    """The App Home tab: the user's budget gauge, spend and recent videos; admins see everyone."""
    blocks: list[Any] = [
        HeaderBlock(text=words.BUDGET_HEADER),
        section(words.budget_summary(status, settings.budget_period)),
        context(words.price_hint(settings.price_micros)),
        DividerBlock(),
        HeaderBlock(text=words.VIDEOS_HEADER),
        section("\n".join(words.video_line(j, now) for j in jobs) if jobs else words.NO_VIDEOS),
    ]
    if admin is not None:
        rows, workspace = admin
        lines = [words.user_spend_line(r) for r in rows[:MAX_USERS_SHOWN]]
        blocks += [
            DividerBlock(),
            HeaderBlock(text=words.WORKSPACE_HEADER),
            section(words.workspace_summary(workspace)),
            section(("\n".join(lines) if lines else words.NOBODY_YET) + overage_note(rows)),
        ]
    return {"type": "home", "blocks": finish(blocks)}
