"""The stand-in's HTTP server: the Web API under /api/, uploads, response_urls, Socket Mode, test hooks.

Routes: `/api/{method}` (form, JSON or query params; bot token in `Authorization: Bearer`),
`POST /upload/v1/{file_id}` (raw body or multipart, streamed to disk), `POST /response/{n}`,
`GET /socket?ticket=…` (Socket Mode), `POST /_standin/config` and `GET /_standin/state` for other processes.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import shutil
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from types import TracebackType
from typing import Any

from aiohttp import web

from bot.manifest import BOT_SCOPES
from bot.sim.slack.grants import Grants
from bot.sim.slack.limits import RateLimits, Violation
from bot.sim.slack.methods import METHODS, SCOPE_NEEDED
from bot.sim.slack.socket_hub import Ack, PayloadType, SocketHub
from bot.sim.slack.uploads import receive_to_file
from bot.sim.slack.wire import Fault, Faulted, Throttled, drain, read_params
from bot.sim.slack.workspace import (
    ApiError,
    Call,
    ChannelKind,
    Ephemeral,
    FileRecord,
    Message,
    Workspace,
)

UPLOAD = "upload"
RESPONSE_URL = "response_url"


class SlackStandIn:
    """A local Slack Web API, Socket Mode and upload endpoint that records what the app did.

    Strict by default, as Slack is (see `limits` and `grants`); `tier_scale` multiplies every rate
    limit, for tests and benchmarks that must finish in minutes.
    """

    def __init__(
        self,
        *,
        bot_token: str = "xoxb-standin-token",
        app_token: str = "xapp-standin-token",
        storage_dir: Path | None = None,
        bot_name: str = "videobot",
        tier_scale: float = 1.0,
    ) -> None:
        self.bot_token = bot_token
        self.app_token = app_token
        self.workspace = Workspace(bot_name)
        self.limits = RateLimits(tier_scale=tier_scale)
        self.grants = Grants()
        self.hub = SocketHub()
        # What the bot token was granted; every answer to it says so in `x-oauth-scopes`, as Slack's
        # do (https://api.slack.com/authentication/token-types, "checking scopes").
        self.bot_scopes: list[str] = list(BOT_SCOPES)
        self.faults: dict[str, list[Fault]] = {}
        self.latency: dict[str, float] = {}
        self._responses: dict[str, list[dict[str, Any]]] = {}
        self._response_ids = itertools.count(1)
        self._own_dir = storage_dir is None
        self.upload_dir = storage_dir or Path(tempfile.mkdtemp(prefix="slack-standin-"))
        self.base_url = ""
        self._runner: web.AppRunner | None = None

    # --- lifecycle ---------------------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on host:port (0 picks a free port) and set `base_url` / `api_url`."""
        self.upload_dir.mkdir(parents=True, exist_ok=True)
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/upload/v1/{file_id}", self._upload)
        app.router.add_post("/response/{rid}", self._response)
        app.router.add_get("/socket", self.hub.handle)
        app.router.add_post("/_standin/config", self._config)
        app.router.add_get("/_standin/state", self._state)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        bound_host, bound_port = self._runner.addresses[0][:2]
        self.base_url = f"http://{bound_host}:{bound_port}/"

    async def stop(self) -> None:
        """Close sockets and the server; remove the upload directory if the stand-in made it."""
        await self.hub.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._own_dir:
            shutil.rmtree(self.upload_dir, ignore_errors=True)

    async def __aenter__(self) -> SlackStandIn:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    @property
    def api_url(self) -> str:
        """Base URL for `AsyncWebClient(base_url=...)`, with the trailing slash."""
        return f"{self.base_url}api/"

    # --- configuration -----------------------------------------------------------------------------------

    def add_channel(self, id: str, kind: ChannelKind, bot_member: bool, name: str | None = None) -> None:
        """Create a channel: kind `public`, `private` or `im`; whether the bot is in it."""
        self.workspace.add_channel(id, kind, bot_member, name)

    def add_user(self, user_id: str, name: str) -> None:
        """Give a user a display name."""
        self.workspace.add_user(user_id, name)

    def fail_next(
        self,
        method: str,
        error: str = "ratelimited",
        retry_after: float = 1,
        times: int = 1,
        status: int | None = None,
    ) -> None:
        """Fail the next `times` calls of `method` (or "upload" / "response_url").

        `ratelimited` answers HTTP 429 with Retry-After; other errors `{"ok": false, "error": ...}`
        with HTTP `status` (200 by default; 500 for the upload and response_url endpoints).
        """
        self.faults.setdefault(method, []).append(Fault(error, float(retry_after), times, status))

    def set_latency(self, method: str, seconds: float) -> None:
        """Answer `method` only after `seconds`."""
        self.latency[method] = seconds

    def new_response_url(self, age_s: float = 0.0) -> str:
        """A fresh response_url whose POSTs are recorded (handed out `age_s` seconds ago)."""
        url = f"{self.base_url}response/{next(self._response_ids)}"
        self._responses[url] = []
        self.grants.issue_response_url(url, age_s)
        return url

    def new_trigger_id(self, age_s: float = 0.0) -> str:
        """A trigger_id as Slack sends with a command or click (issued `age_s` seconds ago)."""
        return self.grants.new_trigger(age_s)

    # --- reading -----------------------------------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        """Every request, in order."""
        return self.workspace.calls

    def calls_of(self, method: str) -> list[Call]:
        """The recorded requests to one method."""
        return [c for c in self.workspace.calls if c.method == method]

    def messages(self, channel: str) -> list[Message]:
        """Top-level messages of a channel, oldest first."""
        return self.workspace.messages(channel)

    def thread(self, channel: str, ts: str) -> list[Message]:
        """Parent then replies (file shares included), oldest first; each with `history` / `edits`."""
        return self.workspace.thread(channel, ts)

    def render_thread(self, channel: str, ts: str) -> str:
        """The thread as text, for the demo to print."""
        return self.workspace.render_thread(channel, ts)

    @property
    def calls_inside_retry_after(self) -> list[Violation]:
        """Calls made while a Retry-After announced for their method (or channel) was running."""
        return self.limits.violations

    @property
    def throttled(self) -> int:
        """How many calls were answered 429."""
        return self.limits.throttled

    @property
    def repeated_completes(self) -> list[str]:
        """File ids files.completeUploadExternal was called for after they were completed."""
        return self.workspace.repeated_completes

    @property
    def files(self) -> list[FileRecord]:
        """Uploaded and completed files."""
        return self.workspace.files

    @property
    def ephemerals(self) -> list[Ephemeral]:
        """Messages posted with chat.postEphemeral."""
        return self.workspace.ephemerals

    def responses(self, url: str) -> list[dict[str, Any]]:
        """JSON bodies POSTed to a response_url, in order."""
        return self._responses.get(url, [])

    def state(self) -> dict[str, Any]:
        """The whole recording as JSON-able data."""
        return self.workspace.state() | {
            "throttled": self.limits.throttled,
            "calls_inside_retry_after": [asdict(v) for v in self.limits.violations],
            "repeated_completes": self.workspace.repeated_completes,
            "tier_scale": self.limits.tier_scale,
            "responses": self._responses,
            "acks": [asdict(a) for a in self.hub.acks],
        }

    # --- Socket Mode -------------------------------------------------------------------------------------

    async def send_socket_event(
        self, payload_type: PayloadType, payload: dict[str, Any], *, timeout: float = 3.0
    ) -> dict[str, Any] | None:
        """Push an envelope to a connected app (round-robin) and return its ack's payload."""
        return await self.hub.send(payload_type, payload, timeout=timeout)

    async def wait_for_socket(self, count: int = 1, timeout: float = 10.0) -> None:
        """Wait until `count` Socket Mode clients are connected."""
        await self.hub.wait_for_connections(count, timeout)

    @property
    def acks(self) -> list[Ack]:
        """Every ack received, with its latency."""
        return self.hub.acks

    # --- HTTP handlers -----------------------------------------------------------------------------------

    def _take_fault(self, method: str) -> Fault | None:
        queue = self.faults.get(method)
        if not queue:
            return None
        fault = queue[0]
        fault.times -= 1
        if fault.times <= 0:
            queue.pop(0)
        return fault

    def _fault_response(self, fault: Fault, *, default_status: int, key: str) -> web.Response:
        body = {"ok": False, "error": fault.error}
        if fault.error == "ratelimited":
            seconds = float(fault.retry_after)
            self.limits.announce(key, seconds)  # calls inside it are recorded, as for a real limit
            headers = {"Retry-After": self.limits.header(seconds)}
            return web.json_response(body, status=fault.status or 429, headers=headers)
        return web.json_response(body, status=fault.status or default_status)

    def _throttled_response(self, seconds: float) -> web.Response:
        headers = {"Retry-After": self.limits.header(seconds)}
        return web.json_response({"ok": False, "error": "ratelimited"}, status=429, headers=headers)

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await read_params(request)
        token = params.pop("token", None)
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            token = auth.removeprefix("Bearer ")
        call = Call(method, params, time.time())
        self.workspace.calls.append(call)
        if self.latency.get(method):
            await asyncio.sleep(self.latency[method])
        headers = {"x-oauth-scopes": ",".join(self.bot_scopes)} if token == self.bot_token else {}
        try:
            answer = await self._dispatch(request, method, str(token or ""), params)
        except ApiError as exc:
            call.error = exc.error
            return web.json_response({"ok": False, "error": exc.error}, headers=headers)
        except Faulted as exc:
            call.error = exc.fault.error
            return self._fault_response(exc.fault, default_status=200, key=method)
        except Throttled as exc:
            call.error = "ratelimited"
            return self._throttled_response(exc.seconds)
        finally:
            call.done = time.time()
        return web.json_response({"ok": True} | answer, headers=headers)

    async def _dispatch(
        self, request: web.Request, method: str, token: str, params: dict[str, Any]
    ) -> dict[str, Any]:
        if method == "apps.connections.open":
            if token != self.app_token:
                raise ApiError("not_allowed_token_type" if token.startswith("xoxb-") else "invalid_auth")
            self._check_fault(method)
            ws_base = self.base_url.replace("http://", "ws://", 1)
            return {"url": f"{ws_base}socket?ticket={self.hub.new_ticket()}"}
        if not token:
            raise ApiError("not_authed")
        if token != self.bot_token:
            raise ApiError("not_allowed_token_type" if token == self.app_token else "invalid_auth")
        channel = params.get("channel")
        wait = self.limits.admit(method, str(channel) if channel else None)
        if wait is not None:
            raise Throttled(wait)
        needed = SCOPE_NEEDED.get(method)
        if needed is not None and needed not in self.bot_scopes:
            raise ApiError("missing_scope")
        self._check_fault(method)
        handler = METHODS.get(method)
        if handler is None:
            raise ApiError("unknown_method")
        if method == "views.open":
            self.grants.exchange(str(params.get("trigger_id") or ""))
        return handler(self.workspace, params, self.base_url, self.upload_dir)

    def _check_fault(self, method: str) -> None:
        fault = self._take_fault(method)
        if fault is not None:
            raise Faulted(fault)

    async def _upload(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        call = Call(UPLOAD, {"file_id": file_id}, time.time())
        self.workspace.calls.append(call)
        record = self.workspace.pending_files.get(file_id)
        fault = self._take_fault(UPLOAD)
        if fault is not None or record is None:
            await drain(request)
            call.error = fault.error if fault is not None else "file_not_found"
            if fault is not None:
                return self._fault_response(fault, default_status=500, key=UPLOAD)
            return web.Response(status=404, text="unknown upload")
        size = await receive_to_file(request, record.path)
        call.params["size"] = size
        call.done = time.time()
        # The bytes must be the `length` files.getUploadURLExternal was asked for
        # (https://docs.slack.dev/reference/methods/files.getUploadURLExternal: "length: Size in bytes
        # of the file being uploaded"); stricter than unsure: anything else is refused.
        if size != record.length:
            record.path.unlink(missing_ok=True)
            call.error = "length_mismatch"
            return web.Response(status=400, text=f"expected {record.length} bytes, got {size}")
        record.size = size
        return web.Response(text=f"OK - {size}", content_type="text/plain")

    async def _response(self, request: web.Request) -> web.Response:
        url = f"{self.base_url}response/{request.match_info['rid']}"
        fault = self._take_fault(RESPONSE_URL)
        body = await read_params(request)
        if isinstance(body.get("payload"), str):
            body = json.loads(body["payload"])
        call = Call(RESPONSE_URL, {"url": url, "body": body}, time.time())
        self.workspace.calls.append(call)
        if fault is not None:
            call.error = fault.error
            return self._fault_response(fault, default_status=500, key=RESPONSE_URL)
        refusal = self.grants.use_response_url(url) if url in self._responses else "expired_url"
        if refusal is not None:
            call.error = refusal
            return web.json_response({"ok": False, "error": refusal}, status=404)
        self._responses[url].append(body)
        return web.json_response({"ok": True})

    async def _config(self, request: web.Request) -> web.Response:
        body = await request.json()
        actions = body if isinstance(body, list) else [body]
        try:
            for action in actions:
                for name, args in action.items():
                    self._apply(name, args)
        except (TypeError, ValueError, KeyError) as exc:
            return web.json_response({"ok": False, "error": str(exc)}, status=400)
        return web.json_response({"ok": True})

    def _apply(self, name: str, args: dict[str, Any]) -> None:
        if name == "fail_next":
            self.fail_next(**args)
        elif name == "add_channel":
            self.add_channel(**args)
        elif name == "add_user":
            self.add_user(**args)
        elif name == "set_latency":
            self.set_latency(**args)
        elif name == "set_bot_scopes":
            self.bot_scopes = list(args["scopes"])
        else:
            raise ValueError(f"unknown action {name!r}")

    async def _state(self, request: web.Request) -> web.Response:
        return web.json_response(self.state(), dumps=lambda data: json.dumps(data, default=str))
