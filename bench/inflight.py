"""Thousands of jobs in flight at once: memory, CPU and polls per job, and how fast a finished job is
noticed (from the simulator marking it completed to the app asking for its download)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import time
from pathlib import Path

import aiohttp

from bench.common import SECRET, AppProc, Sampler, Stubs, machine, percentile, report, workdir
from bot.sim.signing import signed_headers, slash_command_body

TIER_SCALE = 100.0
TAKE_SPREAD = 0.25  # job lengths spread ±25% around take_s, as real generations differ


def _states(db: Path) -> dict[str, int]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as conn:
        return dict(conn.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state").fetchall())


async def _send_all(url: str, jobs: int) -> None:
    connector = aiohttp.TCPConnector(limit=50)
    async with aiohttp.ClientSession(connector=connector) as session:
        queue = iter(range(jobs))

        async def worker() -> None:
            for i in queue:
                body = slash_command_body(text=f"scene {i}", user_id=f"UINF{i:05d}", channel_id="C_PUBLIC")
                async with session.post(url, data=body, headers=signed_headers(SECRET, body)) as response:
                    text = await response.text()
                    assert response.status == 200 and "on its way" in text, text

        await asyncio.gather(*(worker() for _ in range(50)))


async def main(quick: bool, dump: Path | None = None) -> None:
    jobs, take_s = (300, 20.0) if quick else (2000, 60.0)
    wd = workdir()
    # This bench measures the app's own cost per job, not Slack's pace: 2,000 jobs in one channel
    # would take over an hour of posts at Slack's real rate, so the stand-in's limits are scaled.
    stubs = Stubs(wd, tier_scale=TIER_SCALE)
    stubs.start()
    await stubs.configure_sim(take_s=take_s, take_spread=TAKE_SPREAD)
    # Thousands in flight at once is the point here: the workspace limit must not queue them.
    app = AppProc(stubs, wd, VIDEOBOT_SLACK_TIER_SCALE=str(TIER_SCALE), VIDEOBOT_MAX_INFLIGHT=str(jobs))
    await app.start()
    sampler = Sampler(app.rss_mb, interval=0.25)
    sampler.start()
    cpu_before = app.cpu_s()
    started = time.monotonic()
    try:
        await _send_all(app.url, jobs)
        sent_s = time.monotonic() - started
        deadline = time.monotonic() + take_s + 180
        while time.monotonic() < deadline:
            states = _states(wd / "bench.db")
            if sum(n for s, n in states.items() if s in ("delivered", "failed", "expired")) >= jobs:
                break
            await asyncio.sleep(1.0)
        cpu_s = app.cpu_s() - cpu_before
        peak = await sampler.stop()
        sim = await stubs.sim_state()
    finally:
        app.stop()
        stubs.stop()
    sim_jobs = list(sim["jobs"].values())
    if dump is not None:  # every job's times and polls, for a closer look
        dump.write_text(json.dumps(sim_jobs))
    detect = [
        j["first_media_at"] - j["completed_at"] for j in sim_jobs if j["first_media_at"] and j["completed_at"]
    ]
    # Of that: from completion to the poll that saw it, and from that poll to the download.
    noticed = [j["seen_completed_at"] - j["completed_at"] for j in sim_jobs if j["seen_completed_at"]]
    figures = {
        "bench": "inflight",
        "mode": "quick" if quick else "full",
        "jobs": jobs,
        "job_s": take_s,
        "job_spread": TAKE_SPREAD,
        "submit_s": round(sent_s, 1),
        "delivered": states.get("delivered", 0),
        "peak_rss_mb": round(peak, 1),
        "cpu_s_per_job": round(cpu_s / jobs, 4),
        "polls_per_job": round(sum(j["polls"] for j in sim_jobs) / max(1, len(sim_jobs)), 2),
        "detect_p50_s": round(percentile(detect, 50), 2) if detect else None,
        "detect_p99_s": round(percentile(detect, 99), 2) if detect else None,
        "seen_p99_s": round(percentile(noticed, 99), 2) if noticed else None,
        **machine(),
    }
    report(figures)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="300 jobs of 20 s instead of 2,000 of 60 s")
    parser.add_argument("--dump", type=Path, help="write the simulator's jobs (times, polls) here as JSON")
    args = parser.parse_args()
    asyncio.run(main(args.quick, args.dump))
