"""Transports: HTTP mode (aiohttp on /slack/events) and Socket Mode, started and stopped alike."""

from __future__ import annotations

import logging
from typing import Protocol

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest

from bot.health import Readiness, add_health_routes, listen
from bot.slack.ingress import Ingress

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 * 1024  # Slack's payloads are far smaller; anything bigger is refused with 413


class Transport(Protocol):
    async def start(self) -> None:
        """Start taking Slack's requests."""
        ...

    async def stop(self) -> None:
        """Stop taking Slack's requests and close the connection."""
        ...

    async def ready(self) -> bool:
        """Whether this transport can take Slack's requests now."""
        ...


async def _always_ready() -> dict[str, bool]:
    return {}


class HttpTransport:
    """Serves Slack's POSTs on /slack/events (signatures verified by Bolt), health and metrics."""

    def __init__(
        self,
        app: AsyncApp,
        host: str,
        port: int,
        ingress: Ingress | None = None,
        readiness: Readiness = _always_ready,
    ) -> None:
        self._app = app
        self._readiness = readiness
        self._ingress = ingress or Ingress()
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def _events(self, request: web.Request) -> web.Response:
        with self._ingress.serving():
            try:
                bolt_request = await to_bolt_request(request)
            except (ValueError, UnicodeDecodeError):
                # Bolt parses the body before checking the signature; a body it cannot read is refused.
                return web.Response(status=400, text="malformed request body")
            bolt_response = await self._app.async_dispatch(bolt_request)
            return await to_aiohttp_response(bolt_response)

    async def start(self) -> None:
        """Start taking Slack's requests."""
        web_app = web.Application(client_max_size=MAX_BODY_BYTES)
        web_app.router.add_post("/slack/events", self._events)
        add_health_routes(web_app, self._readiness)
        runner = web.AppRunner(web_app, access_log=None, handle_signals=False)
        await runner.setup()
        await listen(runner, self._host, self._port, "PORT")
        self._runner = runner
        port = runner.addresses[0][1]
        host = "127.0.0.1" if self._host in ("0.0.0.0", "") else self._host
        self.url = f"http://{host}:{port}/slack/events"
        log.info("listening", extra={"event": "http.listening", "url": self.url})

    async def stop(self) -> None:
        """Stop taking Slack's requests and close the connection."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def ready(self) -> bool:
        """Listening for Slack's requests."""
        return self._runner is not None


class _OneLine(logging.Filter):
    """slack_sdk logs every failed (re)connect with a full traceback, every 10 s: keep one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info:
            record.exc_info = None
            record.exc_text = None
        return True


# The Socket Mode client's own logger: its reconnect loop reports here, one line per attempt.
SOCKET_LOG = logging.getLogger("videobot.socket")
SOCKET_LOG.addFilter(_OneLine())


class _CountingSocketModeHandler(AsyncSocketModeHandler):
    """Bolt's Socket Mode handler, counting each envelope as a request in progress."""

    def __init__(self, app: AsyncApp, app_token: str, ingress: Ingress) -> None:
        super().__init__(app, app_token, logger=SOCKET_LOG)
        self._ingress = ingress

    async def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        """Answer one request Slack posted."""
        with self._ingress.serving():
            await super().handle(client, req)


class SocketTransport:
    """Socket Mode: one websocket to Slack (several replicas may each open one).

    `start()` returns once connected; while Slack cannot be reached it keeps trying (cancel it to
    give up: the service does so on SIGTERM). Reconnects after that are the SDK's, in the background.
    """

    def __init__(self, app: AsyncApp, app_token: str, ingress: Ingress | None = None) -> None:
        self._handler = _CountingSocketModeHandler(app, app_token, ingress or Ingress())

    async def start(self) -> None:
        """Start taking Slack's requests."""
        await self._handler.connect_async()  # type: ignore[no-untyped-call]
        log.info("socket mode connected", extra={"event": "socket.connected"})

    async def stop(self) -> None:
        """Stop taking Slack's requests and close the connection."""
        await self._handler.close_async()  # type: ignore[no-untyped-call]

    async def ready(self) -> bool:
        """The websocket to Slack is open."""
        sdk = self._handler.client
        return bool(await sdk.is_connected())
