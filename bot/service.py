"""The running bot: dependencies, job runner, Bolt app and transport, started and stopped in order."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import sys
import time
from collections.abc import Callable
from contextlib import AsyncExitStack

from bot.app import create_app
from bot.checks import until_checked
from bot.deps import Deps, open_deps
from bot.health import HealthServer
from bot.jobs.runner import JobRunner
from bot.settings import Settings
from bot.slack.transports import HttpTransport, SocketTransport, Transport
from bot.stopping import unless_stopped
from handlers import video
from storage.errors import ListenError

log = logging.getLogger(__name__)

READY_TIMEOUT_S = 2.0
STOP_TIMEOUT_S = 9.0  # SIGTERM to exit within 10 s, whatever is in flight
# The collector's thresholds once started (CPython's default: 700, 10, 10). A request's objects are
# nearly all freed by their reference counts within a millisecond; at 700 allocations a young
# collection runs every few requests and walks the live ones of the 50 in flight, promoting them to be
# walked again. Measured in bench/ack_latency.py (1,000 commands, 50 at a time): CPU per command
# 0.29-0.32 -> 0.27 ms, p50 14-15 -> 13 ms. Cyclic garbage waits longer (at most ~50,000 objects).
GC_THRESHOLDS = (50_000, 20, 20)


class Service:
    """`await Service(settings).start()` serves until `stop()`; state survives any stop or crash."""

    def __init__(self, settings: Settings, *, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self._clock = clock
        self._stack = AsyncExitStack()
        self.deps: Deps | None = None
        self.runner: JobRunner | None = None
        self.transport: Transport | None = None
        self.health: HealthServer | None = None

    @property
    def events_url(self) -> str:
        """Where Slack posts in HTTP mode (empty in Socket Mode)."""
        return self.transport.url if isinstance(self.transport, HttpTransport) else ""

    async def start(self) -> None:
        """Open the dependencies, build the app and its transport, start serving and the lease loop."""
        deps = await self._stack.enter_async_context(open_deps(self.settings, clock=self._clock))
        self.deps = deps
        self.runner = JobRunner(deps)
        app = create_app(deps, self.runner)
        if self.settings.effective_mode == "socket":
            assert self.settings.slack_app_token is not None
            token = self.settings.slack_app_token.get_secret_value()
            await self.start_health()
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
                readiness=self.readiness,
                fast_lane=video.fast_lane(deps, self.runner),
            )
        await self.transport.start()
        self.runner.start_lease_loop()
        # Everything made at start-up (modules, the app, settings) lives as long as the process: move
        # it out of the collector's view, so a full collection in a flood of requests walks only
        # what the requests made (one had paused every ack for ~90 ms).
        gc.collect()
        gc.freeze()
        gc.set_threshold(*GC_THRESHOLDS)
        log.info(
            "videobot started",
            extra={
                "event": "service.started",
                "mode": self.settings.effective_mode,
                "health": self.health_url,
            },
        )

    async def start_health(self) -> None:
        """Socket Mode: serve /healthz, /readyz and /metrics on their own port, from before the
        start-up checks on, so a probe sees "alive, not ready" while Slack is out of reach."""
        if self.settings.effective_mode == "socket" and self.health is None:
            self.health = HealthServer(self.settings.host, self.settings.health_port, self.readiness)
            await self.health.start()

    @property
    def health_url(self) -> str:
        """Base URL of /healthz, /readyz and /metrics."""
        if self.health is not None:
            return self.health.url
        return self.events_url.removesuffix("/slack/events")

    async def readiness(self) -> dict[str, bool]:
        """What /readyz reports: the database answers, and Slack can reach us (or we it)."""
        database = False
        if self.deps is not None:
            try:
                await asyncio.wait_for(self.deps.store.ping(), timeout=READY_TIMEOUT_S)
                database = True
            except Exception as exc:
                log.warning("database not ready: %s", type(exc).__name__, extra={"event": "ready.db"})
        slack = self.transport is not None and await self.transport.ready()
        return {"database": database, "slack": slack}

    async def stop(self) -> None:
        """Stop taking commands, stop the jobs where they stand (all persisted), close everything."""
        if self.transport is not None:
            with contextlib.suppress(Exception):
                await self.transport.stop()
        if self.runner is not None:
            await self.runner.close()
        if self.health is not None:
            await self.health.stop()
        await self._stack.aclose()
        if self.deps is not None:
            log.info("videobot stopped", extra={"event": "service.stopped"})


async def serve_forever(settings: Settings) -> int:
    """`videobot run`: check, start and serve until SIGTERM or SIGINT; stop within 10 s in any state.

    Returns the exit status: 0 after a signal, 2 when a start-up check failed (printed, one line each).
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    service = Service(settings)
    problems: list[str] = []
    try:
        await service.start_health()
        problems = await until_checked(settings, stop)
        if not problems and not stop.is_set():
            # Connecting may take long (Slack out of reach): a signal meanwhile cancels it.
            started, _ = await unless_stopped(service.start(), stop)
            if started:
                await stop.wait()
            log.info("shutting down", extra={"event": "service.stopping"})
    except ListenError as exc:
        problems = [f"start-up check failed: {exc}"]
    finally:
        try:
            await asyncio.wait_for(service.stop(), timeout=STOP_TIMEOUT_S)
        except TimeoutError:
            # Everything is in the database already; the next start resumes what was left.
            log.error(
                "stop took over %.0f s; exiting anyway", STOP_TIMEOUT_S, extra={"event": "service.stop_slow"}
            )
    if problems:
        print("\n".join(problems), file=sys.stderr)  # last, after any log line, for the operator
        return 2
    return 0
