"""The running bot: dependencies, job runner, Bolt app and transport, started and stopped in order."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Callable
from contextlib import AsyncExitStack

from bot.app import create_app
from bot.deps import Deps, open_deps
from bot.jobs.runner import JobRunner
from bot.settings import Settings
from bot.slack.transports import HttpTransport, SocketTransport, Transport

log = logging.getLogger(__name__)


class Service:
    """`await Service(settings).start()` serves until `stop()`; state survives any stop or crash."""

    def __init__(self, settings: Settings, *, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self._clock = clock
        self._stack = AsyncExitStack()
        self.deps: Deps | None = None
        self.runner: JobRunner | None = None
        self.transport: Transport | None = None

    @property
    def events_url(self) -> str:
        """Where Slack posts in HTTP mode (empty in Socket Mode)."""
        return self.transport.url if isinstance(self.transport, HttpTransport) else ""

    async def start(self) -> None:
        deps = await self._stack.enter_async_context(open_deps(self.settings, clock=self._clock))
        self.deps = deps
        self.runner = JobRunner(deps)
        deps.runner = self.runner
        app = create_app(deps)
        if self.settings.effective_mode == "socket":
            assert self.settings.slack_app_token is not None
            token = self.settings.slack_app_token.get_secret_value()
            self.transport = SocketTransport(app, token, deps.ingress, store=deps.store)
        else:
            secret = self.settings.slack_signing_secret
            assert secret is not None  # settings refuse HTTP mode without one
            self.transport = HttpTransport(
                app,
                self.settings.host,
                self.settings.port,
                deps.ingress,
                signing_secret=secret.get_secret_value(),
                store=deps.store,
            )
        await self.transport.start()
        self.runner.start_lease_loop()
        log.info("videobot started", extra={"event": "service.started", "mode": self.settings.effective_mode})

    async def stop(self) -> None:
        """Stop taking commands, stop the jobs where they stand (all persisted), close everything."""
        if self.transport is not None:
            with contextlib.suppress(Exception):
                await self.transport.stop()
        if self.runner is not None:
            await self.runner.close()
        await self._stack.aclose()
        log.info("videobot stopped", extra={"event": "service.stopped"})


async def serve_forever(settings: Settings) -> None:
    """`videobot run`: serve until SIGTERM or SIGINT, then shut down within 10 s."""
    service = Service(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await service.start()
    await stop.wait()
    log.info("shutting down", extra={"event": "service.stopping"})
    await asyncio.wait_for(service.stop(), timeout=9.5)
