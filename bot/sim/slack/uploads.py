"""Receiving an upload straight to disk, raw body or multipart, so large files never sit in memory."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

from aiohttp import BodyPartReader, web

CHUNK = 1 << 20


async def receive_to_file(request: web.Request, path: Path) -> int:
    """Stream the request's file into `path`; return how many bytes were written."""
    handle: BinaryIO = await asyncio.to_thread(path.open, "wb")
    size = 0
    try:
        async for chunk in _chunks(request):
            await asyncio.to_thread(handle.write, chunk)
            size += len(chunk)
    finally:
        await asyncio.to_thread(handle.close)
    return size


async def _chunks(request: web.Request) -> AsyncIterator[bytes]:
    if not request.content_type.startswith("multipart/"):
        async for chunk in request.content.iter_chunked(CHUNK):
            yield chunk
        return
    reader = await request.multipart()
    # Slack's upload URL takes the file as the first (or the `file`/`filename`) part.
    while True:
        part = await reader.next()
        if part is None:
            return
        if not isinstance(part, BodyPartReader):
            continue
        if part.filename is None and part.name not in (None, "file", "filename"):
            await part.release()
            continue
        while chunk := await part.read_chunk(CHUNK):
            yield chunk
        return
