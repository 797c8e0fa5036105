"""Transports: HTTP mode (aiohttp on /slack/events) and Socket Mode, started and stopped alike."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Protocol

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

from bot.slack.inbound import parse_body, signature_ok
from bot.slack.ingress import Ingress
from bot.slack.once import dispatch_once
from storage.api import Store

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 * 1024  # Slack's payloads are far smaller; anything bigger is refused with 413
# aiohttp has no header-read timeout of its own, but its keep-alive timer starts when a connection
# opens and closes the connection if no complete request head has arrived when it fires (and it is
# re-armed after each response): with 10 s, a client dribbling its headers is cut off after 10 s,
# and an idle keep-alive connection after 10 s too. Slack answers within 3 s anyway.
HEADER_TIMEOUT_S = 10.0
BODY_TIMEOUT_S = 10.0  # a body (at most MAX_BODY_BYTES) must arrive within this after its headers


class _OneLineForBadHttp(logging.Filter):
    """aiohttp logs a request it cannot parse (bad request line, header, framing) at ERROR with a
    traceback quoting the offending bytes: one unsigned request, kilobytes of log. Such records
    become one warning line naming the kind of error; the server's other records pass unchanged."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, aiohttp.http_exceptions.HttpProcessingError):
            record.msg, record.args = "malformed HTTP request refused", ()
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.exc_info, record.exc_text = None, None
            record.event, record.error = "http.malformed", type(exc).__name__
        return True


_BAD_HTTP_FILTER = _OneLineForBadHttp()


class Transport(Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...


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
    """Serves Slack's POSTs on /slack/events and GET /healthz.

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
        header_timeout_s: float = HEADER_TIMEOUT_S,
    ) -> None:
        self._app = app
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
            bolt_request = self._bolt_request(request, raw)
            if bolt_request is None:
                return _refuse(400, "malformed request body", request, len(raw))
            bolt_response = await dispatch_once(self._app, self._store, bolt_request)
            return await to_aiohttp_response(bolt_response)

    @staticmethod
    def _bolt_request(request: web.Request, raw: bytes) -> AsyncBoltRequest | None:
        """The verified body as Bolt's request; None when it is not a body Slack sends."""
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return None
        body = parse_body(text, request.content_type)
        if body is None:
            return None
        bolt_request = AsyncBoltRequest(body="", query=request.query_string, headers=dict(request.headers))
        # Bolt's own parser takes any body containing the word "payload" for an interaction (a
        # prompt saying "payload" would be lost) and raises on JSON that is not an object: it gets
        # the body we parsed instead, with the raw text beside it.
        bolt_request.raw_body = text
        bolt_request.body = body
        bolt_request.context = build_async_context(bolt_request.context, body)
        return bolt_request

    async def _health(self, _request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def start(self) -> None:
        web_app = web.Application(client_max_size=MAX_BODY_BYTES)
        web_app.router.add_post("/slack/events", self._events)
        web_app.router.add_get("/healthz", self._health)
        self._runner = web.AppRunner(
            web_app,
            access_log=None,
            handle_signals=False,
            keepalive_timeout=self._header_timeout_s,
            # Slack never compresses its bodies, and the signature covers the bytes as sent: a
            # `Content-Encoding` is not decoded (no decompression bomb, no decoder error).
            auto_decompress=False,
        )
        await self._runner.setup()
        logging.getLogger("aiohttp.server").addFilter(_BAD_HTTP_FILTER)  # added once, however often
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        port = sockets[0].getsockname()[1] if sockets else self._port
        host = "127.0.0.1" if self._host in ("0.0.0.0", "") else self._host
        self.url = f"http://{host}:{port}/slack/events"
        log.info("listening", extra={"event": "http.listening", "url": self.url})

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


class _CountingSocketModeHandler(AsyncSocketModeHandler):
    """Bolt's Socket Mode handler, counting each envelope as a request in progress."""

    def __init__(self, app: AsyncApp, app_token: str, ingress: Ingress, store: Store | None) -> None:
        super().__init__(app, app_token)
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
    """Socket Mode: one websocket to Slack (several replicas may each open one)."""

    def __init__(
        self, app: AsyncApp, app_token: str, ingress: Ingress | None = None, *, store: Store | None = None
    ) -> None:
        self._handler = _CountingSocketModeHandler(app, app_token, ingress or Ingress(), store)

    async def start(self) -> None:
        await self._handler.connect_async()  # type: ignore[no-untyped-call]
        log.info("socket mode connected", extra={"event": "socket.connected"})

    async def stop(self) -> None:
        await self._handler.close_async()  # type: ignore[no-untyped-call]
