"""`/healthz` (alive), `/readyz` (database and Slack ready) and `/metrics` (Prometheus text).

HTTP mode adds these routes to the server on PORT; Socket Mode, which has no server of its own,
serves them with `HealthServer` on VIDEOBOT_HEALTH_PORT.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable

import aiohttp
from aiohttp import web

from bot import metrics
from storage.errors import ListenError

Readiness = Callable[[], Awaitable[dict[str, bool]]]

# aiohttp has no header-read timeout of its own, but its keep-alive timer starts when a connection
# opens and closes the connection if no complete request head has arrived when it fires (and it is
# re-armed after each response): with 10 s, a client dribbling its headers is cut off after 10 s,
# and an idle keep-alive connection after 10 s too. Slack answers within 3 s anyway. Both servers
# (Slack's events on PORT, Socket Mode's health port) use it.
HEADER_TIMEOUT_S = 10.0


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


def one_line_for_bad_http() -> None:
    """aiohttp's server logs a request it cannot parse as one warning line (added once, however often)."""
    logging.getLogger("aiohttp.server").addFilter(_BAD_HTTP_FILTER)


async def listen(runner: web.AppRunner, host: str, port: int, variable: str) -> None:
    """Start a site for `runner` on host:port, or raise ListenError naming `variable`."""
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as exc:
        await runner.cleanup()
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        raise ListenError(f"{variable}: cannot listen on {host}:{port} ({reason})") from None


def add_health_routes(app: web.Application, readiness: Readiness) -> None:
    """Add GET /healthz, /readyz and /metrics to an aiohttp app."""

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    async def readyz(_request: web.Request) -> web.Response:
        parts = await readiness()
        ready = all(parts.values())
        return web.json_response({"ok": ready, **parts}, status=200 if ready else 503)

    async def metrics_text(_request: web.Request) -> web.Response:
        response = web.Response(body=metrics.exposition())
        response.headers["Content-Type"] = metrics.CONTENT_TYPE
        return response

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_text)


class HealthServer:
    """The health and metrics routes alone, on their own port (Socket Mode)."""

    def __init__(
        self, host: str, port: int, readiness: Readiness, *, header_timeout_s: float = HEADER_TIMEOUT_S
    ) -> None:
        self._host = host
        self._header_timeout_s = header_timeout_s
        self._port = port
        self._readiness = readiness
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> None:
        """Listen; `url` is then the base URL (port 0 picks a free one)."""
        app = web.Application()
        add_health_routes(app, self._readiness)
        runner = web.AppRunner(
            app, access_log=None, handle_signals=False, keepalive_timeout=self._header_timeout_s
        )
        await runner.setup()
        one_line_for_bad_http()
        await listen(runner, self._host, self._port, "VIDEOBOT_HEALTH_PORT")
        self._runner = runner
        host, port = runner.addresses[0][:2]
        shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
        self.url = f"http://{shown}:{port}"

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
