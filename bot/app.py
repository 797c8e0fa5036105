"""The app factory: a fresh Bolt AsyncApp per call, each handler module registering itself."""

from __future__ import annotations

import logging

from slack_bolt.async_app import AsyncApp
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped

from bot.deps import Deps
from bot.jobs.runner import JobRunner
from handlers import admin, buttons, forms, home, mention, shortcut, video

log = logging.getLogger("videobot.bolt")


class _NotOurConcern(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN from the environment by itself and then warns, on every start, that
    the client we give it wins over that token. It does, by design: drop that one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


log.addFilter(_NotOurConcern())


def create_app(deps: Deps, runner: JobRunner) -> AsyncApp:
    """Build the Bolt app for these dependencies; `runner` drives the jobs and owns the follow-up tasks."""
    settings = deps.settings
    secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else ""
    app = AsyncApp(
        client=deps.slack,
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
