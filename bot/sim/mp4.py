"""Small, real, playable H.264 MP4s for the simulator and the demo, and a reader for tests."""

from __future__ import annotations

import functools
import tempfile
from fractions import Fraction
from pathlib import Path

import av


def frame_size(aspect_ratio: str, max_side: int = 160) -> tuple[int, int]:
    """Even (width, height) for `W:H` whose longer side is `max_side` (H.264 with yuv420p needs even)."""
    w_text, sep, h_text = aspect_ratio.partition(":")
    try:
        rw, rh = int(w_text), int(h_text)
    except ValueError:
        raise ValueError(f"'{aspect_ratio}' is not an aspect ratio like 16:9") from None
    if not sep or rw <= 0 or rh <= 0:
        raise ValueError(f"'{aspect_ratio}' is not an aspect ratio like 16:9")
    side = max(16, max_side - max_side % 2)
    if rw >= rh:
        return side, max(2, round(side * rh / rw / 2) * 2)
    return max(2, round(side * rw / rh / 2) * 2), side


def render_mp4(duration_s: int, aspect_ratio: str, *, fps: int = 8, max_side: int = 160) -> bytes:
    """A playable H.264 MP4 of exactly `duration_s` seconds with a moving square; cached."""
    if duration_s <= 0 or fps <= 0:
        raise ValueError("duration_s and fps must be positive")
    return _render(duration_s, aspect_ratio, fps, max_side)


@functools.lru_cache(maxsize=64)
def _render(duration_s: int, aspect_ratio: str, fps: int, max_side: int) -> bytes:
    width, height = frame_size(aspect_ratio, max_side)
    # faststart (index before the data, so players start at once) needs a seekable real file.
    with tempfile.TemporaryDirectory(prefix="videobot-mp4-") as tmp:
        target = Path(tmp) / "render.mp4"
        _encode(target, width, height, duration_s, fps)
        return target.read_bytes()


def _encode(target: Path, width: int, height: int, duration_s: int, fps: int) -> None:
    with av.open(str(target), mode="w", format="mp4", options={"movflags": "+faststart"}) as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width = width
        stream.height = height
        stream.pix_fmt = "yuv420p"
        stream.time_base = Fraction(1, fps)
        stream.options = {"preset": "ultrafast", "bf": "0"}
        total = duration_s * fps
        for index in range(total):
            frame = _frame(width, height, index, total)
            frame.pts = index
            frame.time_base = Fraction(1, fps)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def _frame(width: int, height: int, index: int, total: int) -> av.VideoFrame:
    frame = av.VideoFrame(width, height, "yuv420p")
    # Luma: a horizontal gradient with a bright square sweeping left to right.
    background = bytes(16 + (x * 180) // max(1, width - 1) for x in range(width))
    square = max(2, min(width, height) // 3)
    left = (index * (width - square)) // max(1, total - 1)
    top = (height - square) // 2
    y_plane = frame.planes[0]
    rows = []
    for y in range(height):
        row = bytearray(background)
        if top <= y < top + square:
            row[left : left + square] = b"\xeb" * square
        rows.append(bytes(row).ljust(y_plane.line_size, b"\x00"))
    y_plane.update(b"".join(rows))
    # Chroma drifts over time so every frame differs in colour too.
    u_value = 64 + (index * 128) // max(1, total)
    for plane, value in ((frame.planes[1], u_value), (frame.planes[2], 255 - u_value)):
        plane.update(bytes([value]) * plane.buffer_size)
    return frame


def padding_box(mp4_size: int, total: int) -> bytes:
    """The header of a `free` box that pads an MP4 of `mp4_size` bytes to `total` (its body is that
    many zero bytes after the header); empty when there is no room for one. Players skip `free` boxes."""
    room = total - mp4_size
    if room < 8 or room >= 2**32:
        return b""
    return room.to_bytes(4, "big") + b"free"


def mp4_info(path: Path | str) -> tuple[float, int, int]:
    """(duration in seconds, width, height) of the first video stream of an MP4 file."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        width, height = stream.codec_context.width, stream.codec_context.height
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / av.time_base
        else:
            duration = 0.0
    return duration, int(width), int(height)


def count_frames(path: Path | str) -> int:
    """Decode every frame of the first video stream and count them (proves the file plays)."""
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))
