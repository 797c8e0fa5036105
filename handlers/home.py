"""App Home: the user's budget gauge, spend and recent videos; admins also see the workspace."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.deps import Deps
from bot.jobs.runner import JobRunner
from bot.slack import api as slack_io
from bot.ui.blocks.home import home_view
from storage.errors import VideobotError

log = logging.getLogger(__name__)


async def publish_home(deps: Deps, user_id: str) -> None:
    """Build and publish `user_id`'s Home tab."""
    status = await deps.store.budget_status(user_id)
    jobs = await deps.store.user_jobs(user_id, 10)
    admin = None
    if user_id in deps.settings.admins:
        admin = (await deps.store.usage(), await deps.store.workspace_status())
    view = home_view(deps.settings, status, jobs, now=deps.clock(), admin=admin)
    try:
        await slack_io.publish_home(client=deps.slack, user=user_id, view=view)
    except VideobotError as exc:
        log.warning("home not published", extra={"event": "home.error", "user": user_id, "error": repr(exc)})


def register(app: AsyncApp, deps: Deps, runner: JobRunner) -> None:
    """Attach the app_home_opened listener."""

    @app.event("app_home_opened")
    async def home_opened(event: dict[str, Any]) -> None:
        if event.get("tab", "home") == "home":
            runner.spawn(publish_home(deps, str(event.get("user", ""))), name="home")
