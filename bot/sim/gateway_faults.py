"""What the gateway simulator remembers, what it can be told to do wrong, and the odd bodies it sends.

Faults are set globally (`Simulator.configure`, `POST /_sim/config`), for the next created
job(s) (`Simulator.configure_next`, `POST /_sim/config?next=N`), or inside a prompt with
tokens like `[sim:fail]` or `[sim:take_s=0.2]`.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

ResultVariant = Literal[
    "ok",
    "bad_json",
    "wrong_types",
    "missing_url",
    "not_mp4",
    "foreign_origin",
    "redirect_foreign",
    "redirect_same",
]

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "insufficient_credits",
    404: "not_found",
    429: "rate_limit_error",
    500: "server_error",
    503: "service_unavailable",
}

NOT_MP4_BODY = b"<!doctype html><html><body><h1>Access denied</h1></body></html>\n"
CHUNK = 256 * 1024
_RNG = random.Random()  # generation times spread by `take_spread`


class Faults(BaseModel):
    """Every knob of the simulator; unknown names are refused so typos do not pass silently."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    take_s: float = Field(default=1.0, ge=0)  # seconds from create until completed
    # Each job takes take_s × uniform(1 - take_spread, 1 + take_spread): jobs of one kind differ.
    take_spread: float = Field(default=0.0, ge=0, lt=1)
    fail: bool | str = False  # the job ends `failed` (a string is the error message)
    stall: bool = False  # the job never completes
    create_status: int | None = Field(default=None, ge=400, le=599)  # answered to creates instead of a job
    create_status_times: int | None = Field(default=None, ge=0)  # only for the first N creates
    get_status: int | None = Field(default=None, ge=400, le=599)  # answered to polls instead of the job
    get_status_times: int | None = Field(default=None, ge=0)  # only for the first N polls of each job
    retry_after: str | None = None  # Retry-After header sent with 429/503
    error_body: Literal["json", "html", "empty"] = "json"  # body of the error answers above
    create_delay_s: float = Field(default=0.0, ge=0)  # sleep after recording the job, before answering
    get_delay_s: float = Field(default=0.0, ge=0)  # sleep before answering each poll
    result: ResultVariant = "ok"
    foreign_origin: str = "http://evil.example.invalid"
    huge_bytes: int | None = Field(default=None, ge=16)  # serve this many bytes: an ftyp box, then filler
    slow_bytes_per_s: int | None = Field(default=None, ge=1)  # trickle the media body at this rate
    no_content_length: bool = False  # send the media body chunked, without Content-Length
    # Serve the real MP4 padded to this many bytes with a trailing `free` box (still playable).
    result_bytes: int | None = Field(default=None, ge=1)
    billed_duration: int | None = None  # result.duration differs from the requested duration


_PROMPT_TOKEN = re.compile(r"\[sim:([a-z_]+)(?:=([^\]\s]+))?\]")


def prompt_overrides(prompt: str) -> dict[str, Any]:
    """Faults named inside a prompt: `[sim:fail]`, `[sim:take_s=0.2]`, `[sim:result=not_mp4]`."""
    found: dict[str, Any] = {}
    for name, value in _PROMPT_TOKEN.findall(prompt):
        if name in Faults.model_fields:
            found[name] = True if value == "" else value
    return found


def merge(base: Faults, *overrides: dict[str, Any]) -> Faults:
    """`base` with each override applied in turn (validated); bad prompt tokens are ignored."""
    data = base.model_dump()
    for override in overrides:
        candidate = {**data, **override}
        try:
            data = Faults.model_validate(candidate).model_dump()
        except ValueError:
            continue
    return Faults.model_validate(data)


@dataclass
class SimJob:
    """One job the simulator accepted, with everything a test may want to check."""

    id: str
    body: dict[str, Any]
    idempotency_key: str | None
    faults: Faults
    created: float = field(default_factory=time.time)  # epoch
    created_mono: float = field(default_factory=time.monotonic)
    polls: int = 0
    seen_completed_at: float | None = None  # epoch of the first poll answered "completed" (benchmarks)
    media_sent_at: float | None = None  # epoch a streamed download's last byte was written (benchmarks)
    error_polls: int = 0  # polls answered with `get_status`
    media_requests: int = 0
    first_media_at: float | None = None  # epoch of the first download request (benchmarks)
    take: float = field(init=False)  # this job's generation time: take_s, spread by take_spread

    def __post_init__(self) -> None:
        spread = self.faults.take_spread
        self.take = self.faults.take_s * (_RNG.uniform(1.0 - spread, 1.0 + spread) if spread else 1.0)

    @property
    def duration(self) -> int:
        return int(self.body["duration"])

    @property
    def aspect_ratio(self) -> str:
        return str(self.body["aspect_ratio"])

    @property
    def completed_at(self) -> float | None:
        """Epoch time the job becomes (or became) completed; None if it never will."""
        if self.faults.stall or self.faults.fail:
            return None
        return self.created + self.take

    def status(self, now_mono: float | None = None) -> str:
        """queued → processing → completed/failed, by time since creation."""
        elapsed = (time.monotonic() if now_mono is None else now_mono) - self.created_mono
        take = self.take
        if elapsed < take * 0.25:
            return "queued"
        if self.faults.stall or elapsed < take:
            return "processing"
        return "failed" if self.faults.fail else "completed"

    def summary(self) -> dict[str, Any]:
        """JSON-ready view for `GET /_sim/state`."""
        return {
            "id": self.id,
            "status": self.status(),
            "body": self.body,
            "idempotency_key": self.idempotency_key,
            "created": self.created,
            "completed_at": self.completed_at,
            "take_s": self.take,
            "polls": self.polls,
            "media_requests": self.media_requests,
            "first_media_at": self.first_media_at,
            "seen_completed_at": self.seen_completed_at,
            "media_sent_at": self.media_sent_at,
            "faults": self.faults.model_dump(exclude_defaults=True),
        }


@dataclass
class SimState:
    """Everything the simulator remembers; shared by its handlers."""

    api_key: str | None
    public_url_getter: Callable[[], str]
    defaults: Faults = field(default_factory=lambda: Faults())
    next_overrides: deque[dict[str, Any]] = field(default_factory=deque)
    jobs: dict[str, SimJob] = field(default_factory=dict)
    by_key: dict[str, str] = field(default_factory=dict)
    create_count: int = 0  # every POST to /videos/generations, refused ones included
    create_faults_served: int = 0
    requests: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=10_000))

    def configure(self, **options: Any) -> None:
        """Replace the global fault defaults (unnamed options return to their defaults)."""
        self.defaults = Faults.model_validate(options)
        self.create_faults_served = 0

    def configure_next(self, count: int = 1, **options: Any) -> None:
        """Apply `options` on top of the defaults to the next `count` create requests."""
        Faults.model_validate({**self.defaults.model_dump(), **options})  # refuse typos now
        for _ in range(count):
            self.next_overrides.append(dict(options))

    def snapshot(self) -> dict[str, Any]:
        """JSON-ready state for `GET /_sim/state`."""
        return {
            "create_count": self.create_count,
            "jobs": {job_id: job.summary() for job_id, job in self.jobs.items()},
            "requests": len(self.requests),
            "config": self.defaults.model_dump(),
            "pending_next": len(self.next_overrides),
        }


def error_response(status: int, faults: Faults, message: str | None = None) -> web.Response:
    """An error answer shaped as `faults.error_body` says, with Retry-After where it belongs."""
    headers = {}
    if faults.retry_after is not None and status in (429, 503):
        headers["Retry-After"] = faults.retry_after
    kind = ERROR_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    text = message or f"simulated {kind}"
    if faults.error_body == "html":
        body = f"<html><body><h1>{status}</h1><p>{text}</p></body></html>"
        return web.Response(status=status, text=body, content_type="text/html", headers=headers)
    if faults.error_body == "empty":
        return web.Response(status=status, body=b"", headers=headers)
    payload = {"error": {"type": kind, "message": text}}
    return web.json_response(payload, status=status, headers=headers)


def broken_job_body(variant: ResultVariant, job_id: str, duration: int) -> web.Response | None:
    """The completed-job answer for the body-level result faults, or None for a normal one."""
    if variant == "bad_json":
        return web.Response(
            status=200, text='{"id": "' + job_id + '", "status": ', content_type="application/json"
        )
    if variant == "wrong_types":
        payload: dict[str, Any] = {"id": job_id, "status": 12, "result": {"url": 5, "duration": "five"}}
        return web.json_response(payload)
    if variant == "missing_url":
        payload = {"id": job_id, "status": "completed", "result": {"duration": duration}}
        return web.json_response(payload)
    return None


def huge_prefix(mp4: bytes) -> bytes:
    """The leading `ftyp` box of a real MP4, so a huge filler body still starts like an MP4."""
    size = int.from_bytes(mp4[:4], "big")
    return mp4[: max(8, min(size, len(mp4)))]


async def stream_body(
    request: web.Request,
    *,
    prefix: bytes,
    total: int,
    content_type: str,
    bytes_per_s: int | None,
    declare_length: bool = True,
) -> web.StreamResponse:
    """Send `total` bytes (`prefix`, then zeros) without holding them, optionally trickled."""
    response = web.StreamResponse(status=200, headers={"Content-Type": content_type})
    if declare_length:
        response.content_length = total
    await response.prepare(request)
    step = CHUNK if bytes_per_s is None else max(1, bytes_per_s // 10)
    filler = bytes(step)
    sent = 0
    head = prefix[:total]
    while sent < total:
        if sent < len(head):
            piece = head[sent : sent + step]
        else:
            piece = filler[: min(step, total - sent)]
        await response.write(piece)
        sent += len(piece)
        if bytes_per_s is not None and sent < total:
            await asyncio.sleep(len(piece) / bytes_per_s)
    await response.write_eof()
    return response
