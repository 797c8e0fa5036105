"""The stand-in's wire helpers: reading a request's parameters, and the failures it answers with."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web


@dataclass
class Fault:
    """A failure to answer the next `times` calls of a method with."""

    error: str
    retry_after: float
    times: int
    status: int | None


class Throttled(Exception):
    """Over a rate limit: answer 429 with Retry-After `seconds`."""

    def __init__(self, seconds: float) -> None:
        super().__init__("ratelimited")
        self.seconds = seconds


class Faulted(Exception):
    """A configured fault to answer with."""

    def __init__(self, fault: Fault) -> None:
        super().__init__(fault.error)
        self.fault = fault


async def read_params(request: web.Request) -> dict[str, Any]:
    """Query string, then a JSON or form body on top, as slack_sdk sends either."""
    params: dict[str, Any] = dict(request.query)
    if request.method != "POST" or not request.can_read_body:
        return params
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            return params
        if isinstance(body, dict):
            params.update(body)
    else:
        form = await request.post()
        params.update({k: v for k, v in form.items() if isinstance(v, str)})
    return params


async def drain(request: web.Request) -> None:
    """Read and drop a request body so the client sees our answer rather than a broken pipe."""
    async for _ in request.content.iter_chunked(1 << 20):
        pass
