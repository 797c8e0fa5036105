"""The app factory: a fresh Bolt AsyncApp per call, each handler module registering itself."""

from __future__ import annotations

import logging

from slack_bolt.async_app import AsyncApp

from bot.deps import Deps
from handlers import admin, buttons, forms, home, video

log = logging.getLogger("videobot.bolt")


def create_app(deps: Deps) -> AsyncApp:
    """Build the Bolt app for these dependencies."""
    settings = deps.settings
    secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else ""
    app = AsyncApp(
        client=deps.slack,
        signing_secret=secret,
        # Handlers only parse, reserve and ack; the slow work is owned by the job runner, so Bolt
        # may answer Slack as soon as the listener returns.
        process_before_response=True,
        # The HTTP transport verifies every signature on the raw bytes before anything parses the
        # body (bot.slack.inbound); Bolt's own check would log a failing request's whole body.
        request_verification_enabled=False,
        logger=log,
    )
    for module in (video, admin, forms, buttons, home):
        module.register(app, deps)
    return app
