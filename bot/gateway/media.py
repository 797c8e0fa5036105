"""Download a finished video safely: allowed origins only (every redirect hop), size cap, MP4 check.

Redirects are followed by hand so each hop's origin is checked before anything connects to it.
The body goes to a temporary file that is removed on any failure; on success the caller owns
(and removes) the returned path.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import IO
from urllib.parse import urljoin, urlsplit

import httpx

from storage.errors import MediaDownloadError, MediaNotMp4, MediaOriginRefused, MediaTooLarge

MAX_REDIRECTS = 5
WRITE_BATCH = 1 << 20  # bytes handed to the disk-writing thread at a time
_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str) -> str:
    """`scheme://host[:port]` of a URL, lowercased, default port dropped; ValueError if it has none."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = parts.hostname  # already lowercased, userinfo stripped
    if scheme not in _DEFAULT_PORTS or not host:
        raise ValueError(f"not an http(s) URL with a host: {url[:200]!r}")
    port = parts.port  # raises ValueError for a malformed port
    shown = f"[{host}]" if ":" in host else host
    if port is None or port == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{shown}"
    return f"{scheme}://{shown}:{port}"


def _check_origin(url: str, allowed: frozenset[str]) -> None:
    try:
        origin = origin_of(url)
    except ValueError:
        raise MediaOriginRefused(f"result URL is not a usable http(s) URL: {url[:200]!r}") from None
    if origin not in allowed:
        raise MediaOriginRefused(f"result origin {origin} is not one of the allowed media origins")


async def download_result(
    *,
    http: httpx.AsyncClient,
    url: str,
    allowed_origins: Sequence[str],
    max_bytes: int,
    dest_dir: Path | None = None,
    min_rate_bytes_per_s: int = 64 * 1024,
    stall_timeout_s: float = 30.0,
    rate_grace_s: float = 10.0,
    on_length: Callable[[int], None] | None = None,
) -> Path:
    """Fetch `url` into a temporary .mp4 file and return its path; MediaError on any problem.

    `on_length` is called with the size the answer declares (Content-Length, within `max_bytes`)
    before its body is read, so work that needs the size can start beside the download."""
    allowed = frozenset(origin_of(o) for o in allowed_origins)
    current = url
    for _hop in range(MAX_REDIRECTS + 1):
        _check_origin(current, allowed)
        try:
            request = http.build_request("GET", current, headers={"Accept": "video/mp4,*/*"})
            response = await http.send(request, stream=True, follow_redirects=False)
        except httpx.HTTPError as exc:
            raise MediaDownloadError(f"could not fetch the result: {type(exc).__name__}") from exc
        try:
            if response.is_redirect:
                current = urljoin(current, response.headers["location"])
                continue
            if response.status_code != 200:
                raise MediaDownloadError(f"result download answered HTTP {response.status_code}")
            declared = _check_declared_size(response, max_bytes)
            if declared is not None and on_length is not None:
                on_length(declared)
            return await _save(
                response,
                max_bytes=max_bytes,
                dest_dir=dest_dir,
                min_rate=min_rate_bytes_per_s,
                stall_timeout_s=stall_timeout_s,
                grace_s=rate_grace_s,
            )
        finally:
            await response.aclose()
    raise MediaDownloadError(f"result URL redirected more than {MAX_REDIRECTS} times")


def _check_declared_size(response: httpx.Response, max_bytes: int) -> int | None:
    """The declared size (None when not given); MediaTooLarge over `max_bytes`."""
    declared = response.headers.get("content-length")
    if declared is None or not declared.strip().isdigit():
        return None
    if int(declared) > max_bytes:
        raise MediaTooLarge(f"result is {int(declared)} bytes, over the limit of {max_bytes}")
    return int(declared)


async def _save(
    response: httpx.Response,
    *,
    max_bytes: int,
    dest_dir: Path | None,
    min_rate: int,
    stall_timeout_s: float,
    grace_s: float,
) -> Path:
    # delete=False: on success the file outlives this function; failures remove it below.
    handle = tempfile.NamedTemporaryFile(prefix="videobot-", suffix=".mp4", dir=dest_dir, delete=False)
    path = Path(handle.name)
    try:
        with handle:
            await _copy(response, handle, max_bytes, min_rate, stall_timeout_s, grace_s)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(path)
        if isinstance(exc, httpx.HTTPError):
            raise MediaDownloadError(f"result download broke off: {type(exc).__name__}") from exc
        raise
    return path


class _Writer:
    """Writes to a file in a worker thread, WRITE_BATCH bytes at a time, one write in flight while the
    next batch arrives: the event loop does not wait for the disk (a full page cache can stall a write
    for a long time), and a large download costs a few thread hops, not one per network read. The
    last, partial batch is written in place: a small video costs no thread hop at all."""

    def __init__(self, out: IO[bytes]) -> None:
        self._out = out
        self._batch: list[bytes] = []
        self._batched = 0
        self._pending: asyncio.Future[int] | None = None

    async def write(self, chunk: bytes) -> None:
        self._batch.append(chunk)
        self._batched += len(chunk)
        if self._batched >= WRITE_BATCH:
            await self._flush()

    async def _flush(self) -> None:
        data = b"".join(self._batch)
        self._batch, self._batched = [], 0
        await self._wait()
        if data:
            self._pending = asyncio.ensure_future(asyncio.to_thread(self._out.write, data))

    async def _wait(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            await pending

    async def close(self) -> None:
        """Wait for the write in flight, then write what is left (less than a batch) in place."""
        await self._wait()
        data = b"".join(self._batch)
        self._batch, self._batched = [], 0
        if data:
            self._out.write(data)

    async def abort(self) -> None:
        """Drop what is left, but wait for a write in flight (the file is closed after this)."""
        self._batch = []
        with contextlib.suppress(Exception):
            await asyncio.shield(self._wait())


async def _copy(
    response: httpx.Response,
    out: IO[bytes],
    max_bytes: int,
    min_rate: int,
    stall_timeout_s: float,
    grace_s: float,
) -> None:
    started = time.monotonic()
    size = 0
    head = b""
    writer = _Writer(out)
    chunks = _chunks(response.aiter_bytes(), stall_timeout_s)
    try:
        async with contextlib.aclosing(chunks):
            async for chunk in chunks:
                size += len(chunk)
                if size > max_bytes:
                    raise MediaTooLarge(f"result is over the limit of {max_bytes} bytes")
                if len(head) < 8:
                    head += chunk[: 8 - len(head)]
                    if len(head) >= 8 and head[4:8] != b"ftyp":
                        raise MediaNotMp4("result does not start with an MP4 'ftyp' box")
                await writer.write(chunk)
                elapsed = time.monotonic() - started
                if elapsed > grace_s and size / elapsed < min_rate:
                    raise MediaDownloadError(f"result download too slow ({size / elapsed:.0f} bytes/s)")
        if len(head) < 8:
            raise MediaNotMp4(f"result is only {size} bytes, not an MP4")
        await writer.close()
    except BaseException:
        await writer.abort()
        raise


async def _chunks(source: AsyncIterator[bytes], stall_timeout_s: float) -> AsyncGenerator[bytes, None]:
    """`source`, but failing when no bytes arrive for `stall_timeout_s`."""
    iterator = source.__aiter__()
    while True:
        try:
            # A timeout scope, not wait_for: no task per chunk.
            async with asyncio.timeout(stall_timeout_s):
                chunk = await anext(iterator)
        except StopAsyncIteration:
            return
        except TimeoutError:
            raise MediaDownloadError(f"result download stalled for {stall_timeout_s:g}s") from None
        yield chunk
