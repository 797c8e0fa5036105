"""The app factory: a fresh Bolt AsyncApp per call, each handler module registering itself."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult

from bot.deps import Deps
from bot.slack.calls import DEFAULT_RETRY, call
from bot.slack.pacer import Priority
from handlers import admin, buttons, forms, home, video

log = logging.getLogger("videobot.bolt")


def create_app(deps: Deps) -> AsyncApp:
    """Build the Bolt app for these dependencies."""
    settings = deps.settings
    secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else ""
    app = AsyncApp(
        client=deps.slack,
        authorize=_authorizer(deps),
        signing_secret=secret,
        # Handlers only parse, reserve and ack; the slow work is owned by the job runner, so Bolt
        # may answer Slack as soon as the listener returns.
        process_before_response=True,
        request_verification_enabled=settings.effective_mode == "http",
        logger=log,
    )
    for module in (video, admin, forms, buttons, home):
        module.register(app, deps)
    return app


def _authorizer(deps: Deps) -> Any:
    """Bolt's authorize: one auth.test per process, paced like every other call (Bolt's own single-team
    authorization sends one per request until the first answer, a burst past auth.test's limit)."""
    lock = asyncio.Lock()
    cached: list[AuthorizeResult] = []

    async def authorize(**_: Any) -> AuthorizeResult:
        async with lock:
            if not cached:
                answer = await call(
                    "auth.test",
                    deps.slack.auth_test,
                    retry=DEFAULT_RETRY,
                    client=deps.slack,
                    priority=Priority.INTERACTIVE,
                )
                cached.append(
                    AuthorizeResult.from_auth_test_response(
                        bot_token=deps.slack.token, auth_test_response=answer
                    )
                )
        return cached[0]

    return authorize
