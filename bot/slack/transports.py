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


class HttpTransport:
    """Serves Slack's POSTs on /slack/events (signatures verified by Bolt) and GET /healthz."""

    def __init__(self, app: AsyncApp, host: str, port: int, ingress: Ingress | None = None) -> None:
        self._app = app
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

    async def _health(self, _request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def start(self) -> None:
        """Start taking Slack's requests."""
        web_app = web.Application(client_max_size=MAX_BODY_BYTES)
        web_app.router.add_post("/slack/events", self._events)
        web_app.router.add_get("/healthz", self._health)
        self._runner = web.AppRunner(web_app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        port = sockets[0].getsockname()[1] if sockets else self._port
        host = "127.0.0.1" if self._host in ("0.0.0.0", "") else self._host
        self.url = f"http://{host}:{port}/slack/events"
        log.info("listening", extra={"event": "http.listening", "url": self.url})

    async def stop(self) -> None:
        """Stop taking Slack's requests and close the connection."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


class _CountingSocketModeHandler(AsyncSocketModeHandler):
    """Bolt's Socket Mode handler, counting each envelope as a request in progress."""

    def __init__(self, app: AsyncApp, app_token: str, ingress: Ingress) -> None:
        super().__init__(app, app_token)
        self._ingress = ingress

    async def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        """Answer one request Slack posted."""
        with self._ingress.serving():
            await super().handle(client, req)


class SocketTransport:
    """Socket Mode: one websocket to Slack (several replicas may each open one)."""

    def __init__(self, app: AsyncApp, app_token: str, ingress: Ingress | None = None) -> None:
        self._handler = _CountingSocketModeHandler(app, app_token, ingress or Ingress())

    async def start(self) -> None:
        """Start taking Slack's requests."""
        await self._handler.connect_async()  # type: ignore[no-untyped-call]
        log.info("socket mode connected", extra={"event": "socket.connected"})

    async def stop(self) -> None:
        """Stop taking Slack's requests and close the connection."""
        await self._handler.close_async()  # type: ignore[no-untyped-call]
