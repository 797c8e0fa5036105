"""2,000 jobs across 50 channels against the strict Slack stand-in with every rate limit scaled x20
(so a run ends in minutes): are all delivered, is any call made inside an announced Retry-After, and
how close does delivery come to the ceiling Slack's binding tier allows?

The binding tier: every delivered video needs one files.getUploadURLExternal and one
files.completeUploadExternal (Tier 4), one final status edit (chat.update, Tier 3) and two posts
(chat.postMessage: the request and its status; a workspace-wide limit, and one per second per
channel). The lowest of rate / calls-per-video is chat.update's: 50/min x 20 = 1,000 videos a minute.
A video counts as delivered when its status message says so (its final edit); `efficiency` is the
deliveries per minute between the first and the last final edit, divided by that ceiling.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import time
from pathlib import Path
from typing import Any

import aiohttp

from bench.common import SECRET, AppProc, Sampler, Stubs, machine, report, workdir
from bot.sim.signing import signed_headers, slash_command_body

TIER_SCALE = 20.0
# Calls each delivered video needs, and the stand-in's per-minute limit of that method (x1).
NEEDED = {
    "chat.update": (1, 50.0),
    "files.getUploadURLExternal": (1, 100.0),
    "files.completeUploadExternal": (1, 100.0),
    "chat.postMessage": (2, 300.0),  # the workspace-wide limit; per channel it is 60/min each
}


def _delivered(db: Path) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM jobs WHERE state = 'delivered'").fetchone()[0])


async def _send_all(url: str, jobs: int, channels: list[str]) -> None:
    connector = aiohttp.TCPConnector(limit=50)
    async with aiohttp.ClientSession(connector=connector) as session:
        queue = iter(range(jobs))

        async def worker() -> None:
            for i in queue:
                body = slash_command_body(
                    text=f"scene {i} --duration 4",
                    user_id=f"UTIER{i:05d}",
                    channel_id=channels[i % len(channels)],
                )
                async with session.post(url, data=body, headers=signed_headers(SECRET, body)) as response:
                    text = await response.text()
                    assert response.status == 200 and "on its way" in text, text

        await asyncio.gather(*(worker() for _ in range(50)))


def _final_edit_times(state: dict[str, Any]) -> list[float]:
    """When each job's status message was edited to "Delivered" (the last step of a delivery)."""
    return sorted(
        call["time"]
        for call in state["calls"]
        if call["method"] == "chat.update"
        and not call["error"]
        and "Delivered" in str(call["params"].get("text"))
    )


async def main(quick: bool) -> None:
    jobs, n_channels, take_s = (300, 10, 10.0) if quick else (2000, 50, 20.0)
    channels = [f"C_TIER{n:02d}" for n in range(n_channels)]
    wd = workdir()
    stubs = Stubs(wd, tier_scale=TIER_SCALE)
    stubs.start()
    await stubs.configure_sim(take_s=take_s)
    # Half the channels have the bot in them; in the other half it must join before uploading.
    await stubs.configure_slack(
        [
            {"add_channel": {"id": c, "kind": "public", "bot_member": n % 2 == 0}}
            for n, c in enumerate(channels)
        ]
    )
    # Every job in flight at once: Slack's limits are what this measures, not the workspace's queue.
    app = AppProc(stubs, wd, VIDEOBOT_SLACK_TIER_SCALE=str(TIER_SCALE), VIDEOBOT_MAX_INFLIGHT=str(jobs))
    await app.start()
    sampler = Sampler(app.rss_mb, interval=0.25)
    sampler.start()
    started = time.monotonic()
    try:
        await _send_all(app.url, jobs, channels)
        sent_s = time.monotonic() - started
        deadline = time.monotonic() + 1200
        while time.monotonic() < deadline and _delivered(wd / "bench.db") < jobs:
            await asyncio.sleep(1.0)
        # The final edits follow the last state change at Slack's pace: wait for them too.
        state = await stubs.slack_state()
        while time.monotonic() < deadline and len(_final_edit_times(state)) < jobs:
            await asyncio.sleep(3.0)
            state = await stubs.slack_state()
        total_s = time.monotonic() - started
        peak = await sampler.stop()
    finally:
        app.stop()
        stubs.stop()
    finals = _final_edit_times(state)
    shared = {f["id"] for f in state["files"] if f["shared"]}
    window_min = (finals[-1] - finals[0]) / 60 if len(finals) > 1 else 0.0
    ceiling = min(per_min * TIER_SCALE / need for need, per_min in NEEDED.values())
    achieved = (len(finals) - 1) / window_min if window_min else 0.0
    calls: dict[str, int] = {}
    for call in state["calls"]:
        calls[call["method"]] = calls.get(call["method"], 0) + 1
    report(
        {
            "bench": "slack_tiers",
            "mode": "quick" if quick else "full",
            "jobs": jobs,
            "channels": n_channels,
            "tier_scale": TIER_SCALE,
            "job_s": take_s,
            "submit_s": round(sent_s, 1),
            "total_s": round(total_s, 1),
            "delivered": len(shared),
            "final_edits": len(finals),
            "calls_inside_retry_after": len(state["calls_inside_retry_after"]),
            "throttled": state["throttled"],
            "repeated_completes": len(state["repeated_completes"]),
            "deliveries_per_min": round(achieved, 1),
            "ceiling_per_min": round(ceiling, 1),
            "efficiency": round(achieved / ceiling, 3),
            "peak_rss_mb": round(peak, 1),
            "calls": dict(sorted(calls.items())),
            **machine(),
        }
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="300 jobs in 10 channels instead of 2,000 in 50")
    asyncio.run(main(parser.parse_args().quick))
