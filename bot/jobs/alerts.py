"""Budget alerts, sent once per period: a user past 80% of their budget, and the admins when the
workspace passes 50%, 80% and 100% of its cap."""

from __future__ import annotations

import logging

from bot.deps import Deps
from bot.logs import log_event
from bot.slack import api as slack_io
from bot.ui.words.alerts import cap_alert, user_budget_alert
from storage.errors import VideobotError

log = logging.getLogger(__name__)

USER_THRESHOLD_PERCENT = 80
CAP_THRESHOLDS_PERCENT = (50, 80, 100)


async def _dm(deps: Deps, user: str, text: str) -> None:
    try:
        channel = await slack_io.open_dm(client=deps.slack, user=user)
        await slack_io.post_message(client=deps.slack, channel=channel, text=text)
    except VideobotError as exc:
        log.warning("alert not sent", extra={"event": "alert.error", "user": user, "error": repr(exc)})


async def check_alerts(deps: Deps, user_id: str) -> list[str]:
    """After money was charged: send the alerts whose threshold was passed; returns their keys."""
    sent: list[str] = []
    status = await deps.store.budget_status(user_id)
    if status.limit_micros > 0 and status.spent_micros * 100 >= status.limit_micros * USER_THRESHOLD_PERCENT:
        key = f"user{USER_THRESHOLD_PERCENT}:{user_id}"
        if await deps.store.claim_alert(key):
            await _dm(deps, user_id, user_budget_alert(status))
            sent.append(key)
    workspace = await deps.store.capped_workspace_status()
    if workspace is not None and workspace.cap_micros:
        for percent in CAP_THRESHOLDS_PERCENT:
            if (
                workspace.spent_micros * 100 >= workspace.cap_micros * percent
                and await deps.store.claim_alert(f"cap{percent}")
            ):
                for admin in deps.settings.admins:
                    await _dm(deps, admin, cap_alert(percent, workspace))
                sent.append(f"cap{percent}")
    for key in sent:
        log_event(log, "alert.sent", key=key, user=user_id)
    return sent
