"""The app factory: a fresh Bolt AsyncApp per call, each handler module registering itself."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped, warning_token_skipped

from bot.deps import Deps
from bot.jobs.runner import JobRunner
from bot.slack.calls import DEFAULT_RETRY, call
from bot.slack.pacer import Priority
from handlers import admin, buttons, forms, home, mention, shortcut, video

log = logging.getLogger("videobot.bolt")


class _NotOurConcern(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN from the environment by itself and then warns, on every start, that
    the client and the `authorize` we give it win over that token. They do, by design: drop those
    lines."""

    _EXPECTED = frozenset({warning_client_prioritized_and_token_skipped(), warning_token_skipped()})

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() not in self._EXPECTED


log.addFilter(_NotOurConcern())


def create_app(deps: Deps, runner: JobRunner) -> AsyncApp:
    """Build the Bolt app for these dependencies; `runner` drives the jobs and owns the follow-up tasks."""
    settings = deps.settings
    secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else ""
    app = AsyncApp(
        client=deps.slack,
        authorize=_authorizer(deps),
        signing_secret=secret,
        # Bolt answers Slack's HTTP request only when the listener returns, so every listener only
        # parses, reserves and acks, and returns: the slow work runs in tasks the runner owns.
        process_before_response=True,
        # The HTTP transport verifies every signature on the raw bytes before anything parses the
        # body (bot.slack.inbound); Bolt's own check would log a failing request's whole body.
        request_verification_enabled=False,
        logger=log,
    )
    for module in (video, admin, forms, buttons, home, mention, shortcut):
        module.register(app, deps, runner)
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
