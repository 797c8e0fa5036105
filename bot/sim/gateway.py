"""`videobot sim`: an AIgateway-compatible video API on aiohttp that renders real MP4s.

Endpoints: `POST /v1/videos/generations`, `GET /v1/jobs/{id}`, `GET /media/{id}.mp4`, and for
tests `POST /_sim/config` (faults, see `bot.sim.gateway_faults`) and `GET /_sim/state`.
The `/_sim` endpoints are unauthenticated: bind the simulator to loopback.
"""

from __future__ import annotations

import asyncio
import hmac
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot.sim.gateway_faults import (
    NOT_MP4_BODY,
    Faults,
    SimJob,
    SimState,
    broken_job_body,
    error_response,
    huge_prefix,
    merge,
    prompt_overrides,
    stream_body,
)
from bot.sim.mp4 import frame_size, padding_box, render_mp4

_RATIO = re.compile(r"^[1-9]\d{0,2}:[1-9]\d{0,2}$")
MAX_PROMPT = 4000


STATE: web.AppKey[SimState] = web.AppKey("sim_state", SimState)


def create_simulator_app(
    *, api_key: str | None = None, public_url_getter: Callable[[], str] | None = None
) -> web.Application:
    """The simulator as an aiohttp app; `public_url_getter()` gives the media origin for result URLs."""
    app = web.Application(middlewares=[_record])
    app[STATE] = SimState(api_key=api_key, public_url_getter=public_url_getter or (lambda: ""))
    app.router.add_post("/v1/videos/generations", _create)
    app.router.add_get("/v1/jobs/{job_id}", _get_job)
    app.router.add_get("/media/{name}.mp4", _media)
    app.router.add_post("/_sim/config", _config)
    app.router.add_get("/_sim/state", _state)
    return app


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def _record(request: web.Request, handler: Handler) -> web.StreamResponse:
    entry: dict[str, Any] = {
        "method": request.method,
        "path": request.path,
        "idempotency_key": request.headers.get("Idempotency-Key"),
        "has_auth": "Authorization" in request.headers,
        "t": time.time(),
    }
    request.app[STATE].requests.append(entry)
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        entry["status"] = exc.status
        raise
    entry["status"] = response.status
    return response


def _authorized(state: SimState, request: web.Request) -> bool:
    if state.api_key is None:
        return True
    given = request.headers.get("Authorization", "")
    return hmac.compare_digest(given.encode(), f"Bearer {state.api_key}".encode())


def _validate(body: Any) -> str | None:
    """The problem with a create body, or None."""
    if not isinstance(body, dict):
        return "body must be a JSON object"
    for name in ("model", "prompt", "aspect_ratio"):
        if not isinstance(body.get(name), str) or not body[name].strip():
            return f"'{name}' must be a non-empty string"
    if len(body["prompt"]) > MAX_PROMPT:
        return f"'prompt' is longer than {MAX_PROMPT} characters"
    duration = body.get("duration")
    if not isinstance(duration, int) or isinstance(duration, bool) or not 1 <= duration <= 60:
        return "'duration' must be an integer between 1 and 60"
    if not _RATIO.match(body["aspect_ratio"]):
        return "'aspect_ratio' must look like 16:9"
    return None


def _job_json(job: SimJob) -> dict[str, Any]:
    return {"id": job.id, "status": "queued", "model": job.body["model"], "created": int(job.created)}


async def _create(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    state.create_count += 1
    if not _authorized(state, request):
        return error_response(401, state.defaults, "invalid API key")
    override = state.next_overrides.popleft() if state.next_overrides else {}
    faults = merge(state.defaults, override)
    if faults.create_status is not None and (
        faults.create_status_times is None or state.create_faults_served < faults.create_status_times
    ):
        state.create_faults_served += 1
        return error_response(faults.create_status, faults)
    try:
        body = await request.json()
    except ValueError:
        body = None
    problem = _validate(body)
    if problem is not None:
        return error_response(400, Faults(), problem)
    key = request.headers.get("Idempotency-Key")
    if key and key in state.by_key:
        job = state.jobs[state.by_key[key]]
    else:
        faults = merge(faults, prompt_overrides(body["prompt"]))
        job = SimJob(id=f"job_{uuid.uuid4().hex[:16]}", body=body, idempotency_key=key, faults=faults)
        state.jobs[job.id] = job
        if key:
            state.by_key[key] = job.id
    if faults.create_delay_s:
        # The job is already recorded: a client that times out here leaves a real job behind.
        await asyncio.sleep(faults.create_delay_s)
    return web.json_response(_job_json(job))


def _media_url(state: SimState, request: web.Request, job: SimJob) -> str:
    if job.faults.result == "foreign_origin":
        return f"{job.faults.foreign_origin.rstrip('/')}/media/{job.id}.mp4"
    origin = state.public_url_getter() or f"{request.scheme}://{request.host}"
    return f"{origin.rstrip('/')}/media/{job.id}.mp4"


async def _get_job(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    if not _authorized(state, request):
        return error_response(401, state.defaults, "invalid API key")
    job = state.jobs.get(request.match_info["job_id"])
    if job is None:
        return error_response(404, state.defaults, "no such job")
    job.polls += 1
    faults = job.faults
    if faults.get_delay_s:
        await asyncio.sleep(faults.get_delay_s)
    if faults.get_status is not None and (
        faults.get_status_times is None or job.error_polls < faults.get_status_times
    ):
        job.error_polls += 1
        return error_response(faults.get_status, faults)
    status = job.status()
    payload: dict[str, Any] = {**_job_json(job), "status": status}
    if status == "failed":
        message = faults.fail if isinstance(faults.fail, str) else "the model could not generate this video"
        payload["error"] = {"type": "generation_failed", "message": message}
    elif status == "completed":
        if job.seen_completed_at is None:
            job.seen_completed_at = time.time()
        broken = broken_job_body(faults.result, job.id, job.duration)
        if broken is not None:
            return broken
        width, height = frame_size(job.aspect_ratio)
        billed = faults.billed_duration if faults.billed_duration is not None else job.duration
        payload["result"] = {
            "url": _media_url(state, request, job),
            "duration": billed,
            "resolution": f"{width}x{height}",
        }
    return web.json_response(payload)


async def _media(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    job = state.jobs.get(request.match_info["name"])
    if job is None or job.status() != "completed":
        return web.Response(status=404, text="not found")
    job.media_requests += 1
    if job.first_media_at is None:
        job.first_media_at = time.time()
    faults = job.faults
    if faults.result == "redirect_foreign":
        raise web.HTTPFound(f"{faults.foreign_origin.rstrip('/')}/media/{job.id}.mp4")
    if faults.result == "redirect_same" and "hop" not in request.query:
        raise web.HTTPFound(f"/media/{job.id}.mp4?hop=1")
    if faults.result == "not_mp4":
        return web.Response(body=NOT_MP4_BODY, content_type="text/html")
    mp4 = await asyncio.to_thread(render_mp4, job.duration, job.aspect_ratio)
    total = len(mp4)
    if faults.result_bytes is not None and (box := padding_box(len(mp4), faults.result_bytes)):
        mp4, total = mp4 + box, faults.result_bytes  # the zeros stream_body sends are the box's body
    plain = faults.huge_bytes is None and faults.slow_bytes_per_s is None and not faults.no_content_length
    if plain and total == len(mp4):
        return web.Response(body=mp4, content_type="video/mp4")
    huge = faults.huge_bytes is not None
    response = await stream_body(
        request,
        prefix=huge_prefix(mp4) if huge else mp4,
        total=faults.huge_bytes if faults.huge_bytes is not None else total,
        content_type="video/mp4",
        bytes_per_s=faults.slow_bytes_per_s,
        declare_length=not faults.no_content_length,
    )
    if job.media_sent_at is None:
        job.media_sent_at = time.time()
    return response


async def _config(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    try:
        options = await request.json()
    except ValueError:
        options = None
    if not isinstance(options, dict):
        return error_response(400, Faults(), "send a JSON object of fault options")
    try:
        if "next" in request.query:
            state.configure_next(int(request.query["next"] or 1), **options)
        else:
            state.configure(**options)
    except ValueError as exc:
        return error_response(400, Faults(), " ".join(str(exc).split())[:500])
    return web.json_response(state.snapshot())


async def _state(request: web.Request) -> web.StreamResponse:
    return web.json_response(request.app[STATE].snapshot())


class Simulator:
    """A running simulator on a real socket, with its state open for inspection."""

    def __init__(self, *, api_key: str | None = None) -> None:
        self._origin = ""
        self.app = create_simulator_app(api_key=api_key, public_url_getter=lambda: self._origin)
        self.state = self.app[STATE]
        self._runner: web.AppRunner | None = None

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Listen on host:port (0 picks a free port); returns the base URL like http://127.0.0.1:PORT/v1."""
        runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        self._runner = runner
        addresses = runner.addresses
        bound_port = int(addresses[0][1]) if addresses else port
        shown = f"[{host}]" if ":" in host else host
        self._origin = f"http://{shown}:{bound_port}"
        return self.base_url

    async def stop(self) -> None:
        """Stop listening and drop open connections."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def media_origin(self) -> str:
        return self._origin

    @property
    def base_url(self) -> str:
        return f"{self._origin}/v1"

    @property
    def jobs(self) -> dict[str, SimJob]:
        return self.state.jobs

    @property
    def create_count(self) -> int:
        return self.state.create_count

    @property
    def requests(self) -> list[dict[str, Any]]:
        return list(self.state.requests)

    def configure(self, **options: Any) -> None:
        """Set global fault defaults (see `Faults`)."""
        self.state.configure(**options)

    def configure_next(self, count: int = 1, **options: Any) -> None:
        """Faults for the next `count` create requests only."""
        self.state.configure_next(count, **options)


async def run_simulator(host: str, port: int, *, api_key: str | None = None) -> None:
    """Serve the simulator until cancelled, printing its base URL."""
    sim = Simulator(api_key=api_key)
    base = await sim.start(host, port)
    print(f"AIgateway simulator at {base} (media at {sim.media_origin})", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await sim.stop()


__all__ = [
    "STATE",
    "Faults",
    "SimJob",
    "SimState",
    "Simulator",
    "create_simulator_app",
    "run_simulator",
]
