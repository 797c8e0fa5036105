"""Transports: HTTP mode (aiohttp on /slack/events) and Socket Mode, started and stopped alike."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.adapter.socket_mode.async_internals import send_async_response
from slack_bolt.adapter.socket_mode.internals import build_headers
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest

from bot.health import HEADER_TIMEOUT_S, Readiness, add_health_routes, listen, one_line_for_bad_http
from bot.slack.inbound import parse_body, signature_ok
from bot.slack.ingress import Ingress
from bot.slack.once import dispatch_once
from storage.api import Store

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 * 1024  # Slack's payloads are far smaller; anything bigger is refused with 413
BODY_TIMEOUT_S = 10.0  # a body (at most MAX_BODY_BYTES) must arrive within this after its headers

# A verified, parsed body to the HTTP answer, past Bolt's dispatch; None: not the lane's, Bolt takes it.
FastLane = Callable[[dict[str, Any]], Awaitable[web.Response | None]]


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


def _refuse(status: int, reason: str, request: web.Request, size: int) -> web.Response:
    """One log line (path, size, why; never the body or its headers) and a short answer."""
    log.warning(
        "request refused",
        extra={
            "event": "http.refused",
            "status": status,
            "reason": reason,
            "path": request.path,
            "bytes": size,
        },
    )
    return web.Response(status=status, text=reason)


class HttpTransport:
    """Serves Slack's POSTs on /slack/events, health and metrics.

    Signature first: a request is verified on its raw bytes before anything parses it; an unsigned
    one is a 401, a signed one Bolt could not read a 400, each logged as one line without the body.
    """

    def __init__(
        self,
        app: AsyncApp,
        host: str,
        port: int,
        ingress: Ingress | None = None,
        *,
        signing_secret: str,
        store: Store | None = None,
        readiness: Readiness = _always_ready,
        header_timeout_s: float = HEADER_TIMEOUT_S,
        fast_lane: FastLane | None = None,
    ) -> None:
        self._app = app
        self._fast_lane = fast_lane
        self._readiness = readiness
        self._ingress = ingress or Ingress()
        self._verifier = SignatureVerifier(signing_secret)
        self._store = store
        self._host = host
        self._port = port
        self._header_timeout_s = header_timeout_s
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def _events(self, request: web.Request) -> web.Response:
        with self._ingress.serving():
            try:
                async with asyncio.timeout(BODY_TIMEOUT_S):
                    raw = await request.read()
            except TimeoutError:
                return _refuse(408, "request body too slow", request, request.content_length or 0)
            except web.HTTPRequestEntityTooLarge:
                return _refuse(413, "request body too large", request, request.content_length or 0)
            except (aiohttp.http_exceptions.HttpProcessingError, aiohttp.ClientPayloadError, ConnectionError):
                # A body cut short or framed wrongly (bad chunks): nothing to verify, nothing logged of it.
                return _refuse(400, "malformed request body", request, request.content_length or 0)
            if not signature_ok(self._verifier, request.headers, raw):
                return _refuse(401, "invalid signature", request, len(raw))
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                return _refuse(400, "malformed request body", request, len(raw))
            body = parse_body(text, request.content_type)
            if body is None:
                return _refuse(400, "malformed request body", request, len(raw))
            if self._fast_lane is not None:
                fast = await self._fast_lane(body)
                if fast is not None:
                    return fast
            answer = await dispatch_once(self._app, self._store, self._bolt_request(request, text, body))
            return await to_aiohttp_response(answer)

    @staticmethod
    def _bolt_request(request: web.Request, text: str, body: dict[str, Any]) -> AsyncBoltRequest:
        """The verified, parsed body as Bolt's request."""
        bolt_request = AsyncBoltRequest(body="", query=request.query_string, headers=dict(request.headers))
        # Bolt's own parser takes any body containing the word "payload" for an interaction (a
        # prompt saying "payload" would be lost) and raises on JSON that is not an object: it gets
        # the body we parsed instead, with the raw text beside it.
        bolt_request.raw_body = text
        bolt_request.body = body
        bolt_request.context = build_async_context(bolt_request.context, body)
        return bolt_request

    async def start(self) -> None:
        """Start taking Slack's requests."""
        web_app = web.Application(client_max_size=MAX_BODY_BYTES)
        web_app.router.add_post("/slack/events", self._events)
        add_health_routes(web_app, self._readiness)
        runner = web.AppRunner(
            web_app,
            access_log=None,
            handle_signals=False,
            keepalive_timeout=self._header_timeout_s,
            # Slack never compresses its bodies, and the signature covers the bytes as sent: a
            # `Content-Encoding` is not decoded (no decompression bomb, no decoder error).
            auto_decompress=False,
        )
        await runner.setup()
        one_line_for_bad_http()
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

    def __init__(self, app: AsyncApp, app_token: str, ingress: Ingress, store: Store | None) -> None:
        super().__init__(app, app_token, logger=SOCKET_LOG)
        self._ingress = ingress
        self._store = store

    async def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        """Bolt's Socket Mode handling (async_handler.handle), each request taken at most once."""
        start = time.time()
        with self._ingress.serving():
            bolt_request = AsyncBoltRequest(mode="socket_mode", body=req.payload, headers=build_headers(req))
            bolt_response = await dispatch_once(self.app, self._store, bolt_request)
            await send_async_response(client, req, bolt_response, start)


class SocketTransport:
    """Socket Mode: one websocket to Slack (several replicas may each open one).

    `start()` returns once connected; while Slack cannot be reached it keeps trying (cancel it to
    give up: the service does so on SIGTERM). Reconnects after that are the SDK's, in the background.
    """

    def __init__(
        self, app: AsyncApp, app_token: str, ingress: Ingress | None = None, *, store: Store | None = None
    ) -> None:
        self._handler = _CountingSocketModeHandler(app, app_token, ingress or Ingress(), store)

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
