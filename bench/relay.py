"""One large result relayed from the gateway simulator into the Slack stand-in: the app's extra
memory during the relay and its speed, beside slack-sdk's files_upload_v2 on the same file."""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import psutil

from bench.common import BOT_TOKEN, SECRET, AppProc, Sampler, Stubs, machine, report, workdir
from bot.sim.signing import signed_headers, slash_command_body


def _delivered(db: Path) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM jobs WHERE state = 'delivered'").fetchone()[0])


async def _video(url: str, user: str) -> None:
    body = slash_command_body(text="a long take", user_id=user, channel_id="C_PUBLIC")
    async with aiohttp.ClientSession() as session:
        async with session.post(url, data=body, headers=signed_headers(SECRET, body)) as response:
            assert response.status == 200, await response.text()


async def _until_delivered(db: Path, count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while _delivered(db) < count:
        if time.monotonic() > deadline:
            raise RuntimeError("the relay did not finish")
        await asyncio.sleep(0.1)


async def _sdk_delta(stubs: Stubs, path: Path) -> float:
    """Peak RSS growth of a process uploading `path` with slack-sdk's files_upload_v2."""
    child = subprocess.Popen(  # noqa: ASYNC220 - a child measured from outside
        [sys.executable, "-m", "bench.sdk_upload", stubs.info["slack_api"], BOT_TOKEN, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdin is not None and child.stdout is not None
    child.stdout.readline()
    ps = psutil.Process(child.pid)
    baseline = ps.memory_info().rss / 2**20
    sampler = Sampler(lambda: ps.memory_info().rss / 2**20, interval=0.02)
    sampler.start()
    child.stdin.write("go\n")
    child.stdin.flush()
    while child.poll() is None:
        await asyncio.sleep(0.05)
    return await sampler.stop() - baseline


async def main(quick: bool) -> None:
    size_mb = 100 if quick else 300
    wd = workdir()
    stubs = Stubs(wd)
    stubs.start()
    app = AppProc(stubs, wd, VIDEOBOT_MAX_VIDEO_MB="2048")
    try:
        await stubs.configure_sim(take_s=0.2)
        await app.start()
        await _video(app.url, "URELAYWARM")  # warm up: imports, connections, caches
        await _until_delivered(wd / "bench.db", 1, 60)
        await asyncio.sleep(1.0)
        baseline = app.rss_mb()
        await stubs.configure_sim(take_s=0.2, huge_bytes=size_mb * 2**20)
        sampler = Sampler(app.rss_mb, interval=0.02)
        sampler.start()
        await _video(app.url, "URELAY")
        await _until_delivered(wd / "bench.db", 2, 600)
        finished = time.time()
        peak = await sampler.stop()
        sim = await stubs.sim_state()
        started = max(j["first_media_at"] or 0 for j in sim["jobs"].values())
        relayed = max((wd / "uploads").glob("*"), key=lambda p: p.stat().st_size)
        assert relayed.stat().st_size == size_mb * 2**20
        sdk_delta = await _sdk_delta(stubs, relayed)
    finally:
        app.stop()
        stubs.stop()
    report(
        {
            "bench": "relay",
            "mode": "quick" if quick else "full",
            "size_mb": size_mb,
            "peak_rss_delta_mb": round(peak - baseline, 1),
            "mb_per_s": round(size_mb / (finished - started), 1),
            "sdk_peak_rss_delta_mb": round(sdk_delta, 1),
            **machine(),
        }
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="100 MB instead of 300 MB")
    asyncio.run(main(parser.parse_args().quick))
