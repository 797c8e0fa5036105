"""Typed async client for the AIgateway video API: create a job, read a job, retry only when safe.

A create that may have reached the gateway is never resent (a second paid job): it raises with
`retryable=False`. Reads are retried on anything transient. The injected `aiohttp.ClientSession`
(its timeouts are the client's) belongs to the caller and is never closed here.

aiohttp rather than httpx: polls are most of the app's requests, and one through httpx costs two to
three times the CPU of the same request through aiohttp's pool (bench/RESULTS.md, issue 18).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any, Literal
from urllib.parse import quote

import aiohttp
from multidict import CIMultiDictProxy
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from yarl import URL

from bot import metrics
from bot.gateway.polling import parse_retry_after, retry_delay
from storage.errors import (
    GatewayAuthError,
    GatewayBadResponse,
    GatewayConnectError,
    GatewayCreditsError,
    GatewayError,
    GatewayNotFound,
    GatewayRateLimited,
    GatewayServerError,
    GatewayTimeout,
    GatewayUnavailable,
)

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024  # gateway answers are small JSON; anything bigger is not one of them
CHUNK = 64 * 1024

_STATUS_ALIASES = {
    "pending": "queued",
    "submitted": "queued",
    "running": "processing",
    "in_progress": "processing",
    "generating": "processing",
    "succeeded": "completed",
    "success": "completed",
    "done": "completed",
    "error": "failed",
    "cancelled": "failed",
    "canceled": "failed",
}


class _Tolerant(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class CreateRequest(_Tolerant):
    """Body of `POST /videos/generations`."""

    model: str
    prompt: str
    duration: int
    aspect_ratio: str


class ErrorInfo(_Tolerant):
    """OpenAI-style error details, from an error answer or a failed job."""

    type: str | None = None
    message: str | None = None
    code: str | None = None

    @field_validator("type", "message", "code", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        return value if value is None or isinstance(value, str) else str(value)


class JobResult(_Tolerant):
    """Where the finished video is and what was billed."""

    url: str = Field(min_length=1)
    duration: int | None = None
    resolution: str | None = None

    @field_validator("duration", mode="before")
    @classmethod
    def _seconds(cls, value: Any) -> Any:
        # A float like 5.04 is still a 5-second video; strings and other junk stay invalid.
        if isinstance(value, float) and value == value and abs(value) < 1e9:
            return round(value)
        return value


class GatewayJob(_Tolerant):
    """An async job as the gateway reports it."""

    id: str = Field(min_length=1)
    status: Literal["queued", "processing", "completed", "failed"]
    model: str | None = None
    created: int | None = None
    result: JobResult | None = None
    error: ErrorInfo | None = None

    @field_validator("status", mode="before")
    @classmethod
    def _status(cls, value: Any) -> Any:
        if isinstance(value, str):
            low = value.strip().lower()
            return _STATUS_ALIASES.get(low, low)
        return value

    @field_validator("created", mode="before")
    @classmethod
    def _created(cls, value: Any) -> Any:
        if isinstance(value, float) and value == value and abs(value) < 1e12:
            return int(value)
        return value

    @field_validator("error", mode="before")
    @classmethod
    def _error(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"message": value}
        return value if isinstance(value, dict) else None

    @property
    def finished(self) -> bool:
        """True once the gateway will not change the job any more."""
        return self.status in ("completed", "failed")

    @property
    def error_message(self) -> str:
        """The gateway's words for a failed job, or a neutral fallback."""
        if self.error is not None and (self.error.message or self.error.type):
            return self.error.message or self.error.type or ""
        return "the job failed"


_STATUS_ERRORS: dict[int, type[GatewayError]] = {
    401: GatewayAuthError,
    402: GatewayCreditsError,
    404: GatewayNotFound,
    429: GatewayRateLimited,
    500: GatewayServerError,
    503: GatewayUnavailable,
}

Sleep = Callable[[float], Awaitable[None]]


class GatewayClient:
    """AIgateway client over an injected `aiohttp.ClientSession`."""

    def __init__(
        self,
        *,
        http: aiohttp.ClientSession,
        base_url: str,
        api_key: str,
        max_attempts: int = 4,
        backoff_base_s: float = 0.5,
        backoff_cap_s: float = 8.0,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
        max_in_flight: int = 64,
    ) -> None:
        self._http = http
        # At most this many requests at once, kept at or below the pool's size: a wave of thousands
        # of polls falling due together waits here, not for a pooled connection (whose wait counts
        # against the connect timeout and would read as "could not connect").
        self._slots = asyncio.Semaphore(max_in_flight)
        self._base = base_url.rstrip("/")
        self._api_key = api_key
        self._max_attempts = max(1, max_attempts)
        self._backoff_base_s = backoff_base_s
        self._backoff_cap_s = backoff_cap_s
        self._sleep = sleep
        self._rng = rng

    def __repr__(self) -> str:  # never show the key
        return f"GatewayClient(base_url={self._base!r})"

    async def create_job(self, req: CreateRequest, *, idempotency_key: str) -> GatewayJob:
        """Create a video job; retried only when the gateway certainly did not take it."""
        url = f"{self._base}/videos/generations"
        body = req.model_dump()
        return await self._call("POST", url, body=body, idempotency_key=idempotency_key, creating=True)

    async def get_job(self, job_id: str) -> GatewayJob:
        """Read a job's state; transient failures are retried up to `max_attempts`."""
        url = f"{self._base}/jobs/{quote(job_id, safe='')}"
        return await self._call("GET", url, body=None, idempotency_key=None, creating=False)

    async def _call(
        self,
        method: str,
        url: str,
        *,
        body: dict[str, Any] | None,
        idempotency_key: str | None,
        creating: bool,
    ) -> GatewayJob:
        headers = {"Authorization": f"Bearer {self._api_key}", "Accept": "application/json"}
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        attempt = 0
        while True:
            attempt += 1
            try:
                status, resp_headers, raw = await self._send_once(method, url, body, headers, creating)
                if status >= 400:
                    raise _status_error(status, resp_headers, raw, creating)
                return _parse_job(raw, creating)
            except GatewayError as exc:
                if attempt >= self._max_attempts or not exc.retryable:
                    raise
                delay = retry_delay(
                    attempt,
                    base_s=self._backoff_base_s,
                    cap_s=self._backoff_cap_s,
                    retry_after=exc.retry_after,
                    rng=self._rng,
                )
                log.warning(
                    "gateway %s %s failed (%s: %s); retry %d/%d in %.2fs",
                    method,
                    url,
                    type(exc).__name__,
                    exc.message,
                    attempt,
                    self._max_attempts - 1,
                    delay,
                )
                await self._sleep(delay)

    async def _send_once(
        self, method: str, url: str, body: dict[str, Any] | None, headers: dict[str, str], creating: bool
    ) -> tuple[int, CIMultiDictProxy[str], bytes]:
        status = "error"  # no answer: refused, timed out, broken
        try:
            answer = await self._exchange(method, url, body, headers, creating)
            status = str(answer[0])
            return answer
        finally:
            metrics.gateway_request("videos/generations" if creating else "jobs/{id}", status)

    async def _exchange(
        self, method: str, url: str, body: dict[str, Any] | None, headers: dict[str, str], creating: bool
    ) -> tuple[int, CIMultiDictProxy[str], bytes]:
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers = {**headers, "Content-Type": "application/json"}
        try:
            async with self._slots:
                # encoded: the job id's escaping (see get_job) is sent as it is.
                async with self._http.request(
                    method, URL(url, encoded=True), data=data, headers=headers, allow_redirects=False
                ) as response:
                    return response.status, response.headers, await _read_capped(response, creating)
        except aiohttp.ConnectionTimeoutError as exc:
            # No connection (or pooled one) in time: the request never left this process.
            raise GatewayTimeout(f"could not connect to the gateway: {type(exc).__name__}") from exc
        except aiohttp.ClientConnectorError as exc:
            raise GatewayConnectError(f"could not connect to the gateway: {type(exc).__name__}") from exc
        except TimeoutError as exc:  # aiohttp's read timeouts are TimeoutErrors too
            message = f"gateway did not answer in time: {type(exc).__name__}"
            raise _sent_error(GatewayTimeout, message, creating) from exc
        except aiohttp.ClientError as exc:
            message = f"connection to the gateway broke: {type(exc).__name__}"
            raise _sent_error(GatewayError, message, creating) from exc


def _sent_error(cls: type[GatewayError], message: str, creating: bool) -> GatewayError:
    """An error after the request may have been received: a create must not be resent."""
    return cls(message, retryable=not creating)


async def _read_capped(response: aiohttp.ClientResponse, creating: bool) -> bytes:
    if (response.content_length or 0) > MAX_BODY_BYTES:
        raise _bad(f"gateway answer larger than {MAX_BODY_BYTES} bytes", creating)
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(CHUNK):
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _bad(f"gateway answer larger than {MAX_BODY_BYTES} bytes", creating)
        chunks.append(chunk)
    return b"".join(chunks)


def _decode(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None


def _snippet(raw: bytes) -> str:
    text = raw[:200].decode("utf-8", "replace")
    return " ".join(text.split()) or "empty body"


def _status_error(status: int, headers: CIMultiDictProxy[str], raw: bytes, creating: bool) -> GatewayError:
    """Map an HTTP error answer (any body) to the exception tree."""
    data = _decode(raw)
    info = ErrorInfo()
    if isinstance(data, dict):
        err = data.get("error")
        if isinstance(err, dict):
            try:
                info = ErrorInfo.model_validate(err)
            except ValidationError:
                info = ErrorInfo()
        elif isinstance(err, str):
            info = ErrorInfo(message=err)
    message = f"HTTP {status}: {info.message or info.type or _snippet(raw)}"
    cls = _STATUS_ERRORS.get(status)
    if cls is None:
        cls = GatewayServerError if status >= 500 else GatewayError
    retry_after = parse_retry_after(headers.get("retry-after"))
    # A 5xx other than 503 may come after the gateway stored the job; 429/503 refuse before work.
    may_exist = creating and status >= 500 and status != 503
    retryable = cls.default_retryable and not may_exist
    return cls(message, status=status, retryable=retryable, retry_after=retry_after, error_type=info.type)


def _parse_job(raw: bytes, creating: bool) -> GatewayJob:
    """Read a job answer; anything unreadable is GatewayBadResponse."""
    data = _decode(raw)
    if not isinstance(data, dict):
        raise _bad(f"gateway answer is not a JSON object: {_snippet(raw)}", creating)
    try:
        job = GatewayJob.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise _bad(f"gateway answer has a bad field {where}: {first.get('msg')}", creating) from None
    if job.status == "completed" and job.result is None:
        raise _bad("gateway says completed but gives no result url", creating)
    return job


def _bad(message: str, creating: bool) -> GatewayBadResponse:
    # A 2xx to a create means the job exists even if we cannot read its id.
    return GatewayBadResponse(message, status=200, retryable=not creating)
