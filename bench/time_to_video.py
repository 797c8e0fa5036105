"""Time to the video: from the gateway marking a job completed to its MP4 shared in the Slack thread.

200 jobs (quick: 60) with results of 8 MiB each (a real MP4 padded with a `free` box), 4 finishing
per second, across 50 channels (quick: 10; the bot a member of half, as in `slack_tiers.py`), against
the strict Slack stand-in with every limit scaled x20 as `slack_tiers.py` scales them. Generation
times vary per job (a seeded draw of take_s ±25%, named in each prompt); each command is sent at its
job's completion slot minus its generation time, so completions come 4 a second whatever the spread.

Every figure comes from timestamps the stand-ins record: the simulator's completion time, its first
poll answered "completed", its first media GET and the moment it wrote that download's last byte;
the stand-in's files.getUploadURLExternal, the upload POST (its start, its last byte stored) and the
accepted files.completeUploadExternal. Parts: polling (completed -> media GET), downloading (media
GET -> upload POST), uploading (upload POST -> share answered). Polling is split in poll_wait (-> the
poll that saw it completed: the poll schedule's part) and poll_pickup (-> media GET: the app's), the
download in transfer (-> last byte sent) and handoff (-> upload POST), the upload in bytes
(-> stored) and share. `ticket_ahead`: how long before its upload POST the ticket was asked for (the
app asks while the video downloads, as soon as its length is known).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import time
from pathlib import Path
from typing import Any

import aiohttp

from bench.common import SECRET, AppProc, Sampler, Stubs, machine, percentile, report, workdir
from bench.slack_tiers import TIER_SCALE
from bot.sim.signing import signed_headers, slash_command_body

RESULT_BYTES = 8 * 2**20
PER_S = 4.0  # completions per second
SPREAD = 0.25  # each generation time is take_s x uniform(1 - SPREAD, 1 + SPREAD)
SEED = 18
# With --slack-latency: the Web API methods of a delivery answer only after that long, as Slack's own
# round trips do (the loopback stand-in answers in a millisecond).
LATENT = ("files.getUploadURLExternal", "files.completeUploadExternal", "conversations.join")


def _plan(jobs: int, take_s: float) -> list[tuple[float, float]]:
    """(send at, generation time) per job, seconds from the start: job i completes at lead + i / PER_S."""
    rng = random.Random(SEED)
    takes = [round(take_s * rng.uniform(1 - SPREAD, 1 + SPREAD), 2) for _ in range(jobs)]
    lead = take_s * (1 + SPREAD)
    return sorted((lead + i / PER_S - take, take) for i, take in enumerate(takes))


async def _send_all(url: str, plan: list[tuple[float, float]], channels: list[str]) -> float:
    """Send each command at its time; the largest lateness of a send, in seconds."""
    started = time.monotonic()
    late = 0.0
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=20)) as session:

        async def one(i: int, at: float, take: float) -> None:
            nonlocal late
            await asyncio.sleep(max(0.0, at - (time.monotonic() - started)))
            late = max(late, time.monotonic() - started - at)
            body = slash_command_body(
                text=f"scene {i} [sim:take_s={take}] --duration 4",
                user_id=f"UTTV{i:05d}",
                channel_id=channels[i % len(channels)],
            )
            async with session.post(url, data=body, headers=signed_headers(SECRET, body)) as response:
                text = await response.text()
                assert response.status == 200 and "on its way" in text, text

        await asyncio.gather(*(one(i, at, take) for i, (at, take) in enumerate(plan)))
    return late


def _file_ids(call: dict[str, Any]) -> list[str]:
    raw = call["params"].get("files")
    files = json.loads(raw) if isinstance(raw, str) else raw
    return [str(f.get("id")) for f in files or []]


def _slack_steps(
    slack: dict[str, Any],
) -> tuple[dict[str, float], dict[str, dict[str, Any]], dict[str, float]]:
    """From the stand-in's calls: the first ticket asked for per file name, the upload per file id,
    and when each file's share was answered."""
    tickets: dict[str, float] = {}
    uploads: dict[str, dict[str, Any]] = {}
    shares: dict[str, float] = {}
    for call in slack["calls"]:
        if call["error"]:
            continue
        if call["method"] == "files.getUploadURLExternal":
            tickets.setdefault(str(call["params"].get("filename")), call["time"])
        elif call["method"] == "upload":
            uploads.setdefault(str(call["params"]["file_id"]), call)
        elif call["method"] == "files.completeUploadExternal":
            for file_id in _file_ids(call):
                shares.setdefault(file_id, call["done"])
    return tickets, uploads, shares


def _timelines(sim: dict[str, Any], slack: dict[str, Any]) -> tuple[list[dict[str, float]], list[str]]:
    """Per job, the moments of its delivery; and the problems seen (missing steps, double shares)."""
    tickets, uploads, shares = _slack_steps(slack)
    shared: dict[str, list[str]] = {}
    problems = []
    for record in slack["files"]:
        if record["shared"]:
            shared.setdefault(record["name"], []).append(record["id"])
            if record["size"] != RESULT_BYTES:
                problems.append(f"{record['name']} is {record['size']} bytes")
    problems += [f"{n} shared {len(ids)} times" for n, ids in shared.items() if len(ids) != 1]
    out = []
    for job in sim["jobs"].values():
        name = f"video-{str(job['idempotency_key'])[:8]}.mp4"
        ids = shared.get(name)
        if not ids:
            problems.append(f"{name} never shared")
            continue
        upload, share = uploads.get(ids[0]), shares.get(ids[0])
        if upload is None or share is None or name not in tickets or job["first_media_at"] is None:
            problems.append(f"{name}: a step is missing")
            continue
        out.append(
            {
                "completed": job["completed_at"],
                "seen": job["seen_completed_at"] or job["first_media_at"],
                "get": job["first_media_at"],
                "sent": job["media_sent_at"] or job["first_media_at"],
                "ticket": tickets[name],
                "post": upload["time"],
                "stored": upload["done"],
                "shared": share,
            }
        )
    return out, problems


def _spans(lines: list[dict[str, float]], start: str, end: str) -> dict[str, float]:
    values = [line[end] - line[start] for line in lines]
    if not values:
        return {}
    return {
        "p50": round(percentile(values, 50), 3),
        "p99": round(percentile(values, 99), 3),
        "max": round(max(values), 3),
    }


async def main(quick: bool, slack_latency_s: float, dump: Path | None = None) -> None:
    jobs, n_channels, take_s = (60, 10, 10.0) if quick else (200, 50, 20.0)
    channels = [f"C_TTV{n:02d}" for n in range(n_channels)]
    wd = workdir()
    stubs = Stubs(wd, tier_scale=TIER_SCALE)
    stubs.start()
    await stubs.configure_sim(result_bytes=RESULT_BYTES)
    await stubs.configure_slack(
        [
            {"add_channel": {"id": c, "kind": "public", "bot_member": n % 2 == 0}}
            for n, c in enumerate(channels)
        ]
        + [
            {"set_latency": {"method": method, "seconds": slack_latency_s}}
            for method in LATENT
            if slack_latency_s
        ]
    )
    # Every job in flight at once (the queue is not what this measures).
    app = AppProc(stubs, wd, VIDEOBOT_SLACK_TIER_SCALE=str(TIER_SCALE), VIDEOBOT_MAX_INFLIGHT=str(jobs))
    await app.start()
    sampler = Sampler(app.rss_mb, interval=0.25)
    sampler.start()
    cpu_before = app.cpu_s()
    started = time.monotonic()
    try:
        late = await _send_all(app.url, _plan(jobs, take_s), channels)
        deadline = time.monotonic() + take_s * 2 + 300
        while True:
            slack = await stubs.slack_state()
            if sum(1 for f in slack["files"] if f["shared"]) >= jobs or time.monotonic() > deadline:
                break
            await asyncio.sleep(1.0)
        total_s = time.monotonic() - started
        cpu_s = app.cpu_s() - cpu_before
        peak = await sampler.stop()
        sim = await stubs.sim_state()
    finally:
        app.stop()
        stubs.stop()
        shutil.rmtree(wd, ignore_errors=True)  # 8 MiB a job at the stand-in
    if dump is not None:  # every job's times and polls, for a closer look
        dump.write_text(json.dumps(list(sim["jobs"].values())))
    lines, problems = _timelines(sim, slack)
    completions = sorted(line["completed"] for line in lines)
    window = completions[-1] - completions[0] if len(completions) > 1 else 0.0
    total = _spans(lines, "completed", "shared")
    report(
        {
            "bench": "time_to_video",
            "mode": "quick" if quick else "full",
            "jobs": jobs,
            "channels": n_channels,
            "tier_scale": TIER_SCALE,
            "result_mb": RESULT_BYTES / 2**20,
            "job_s": take_s,
            "job_spread": SPREAD,
            "slack_latency_s": slack_latency_s,
            "completions_per_s": round((len(completions) - 1) / window, 2) if window else None,
            "send_late_max_s": round(late, 3),
            "total_s": round(total_s, 1),
            "delivered": len(lines),
            "problems": problems[:10],
            "repeated_completes": len(slack["repeated_completes"]),
            "calls_inside_retry_after": len(slack["calls_inside_retry_after"]),
            "throttled": slack["throttled"],
            "p50_s": total.get("p50"),
            "p99_s": total.get("p99"),
            "total": total,
            "polling": _spans(lines, "completed", "get"),
            "downloading": _spans(lines, "get", "post"),
            "uploading": _spans(lines, "post", "shared"),
            "poll_wait": _spans(lines, "completed", "seen"),
            "poll_pickup": _spans(lines, "seen", "get"),
            "download_transfer": _spans(lines, "get", "sent"),
            "download_handoff": _spans(lines, "sent", "post"),
            "ticket_ahead": _spans(lines, "ticket", "post"),
            "upload_bytes": _spans(lines, "post", "stored"),
            "upload_share": _spans(lines, "stored", "shared"),
            "without_polling": _spans(lines, "get", "shared"),
            "cpu_s_per_job": round(cpu_s / jobs, 4),
            "peak_rss_mb": round(peak, 1),
            **machine(),
        }
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="60 jobs in 10 channels instead of 200 in 50")
    parser.add_argument(
        "--slack-latency", type=float, default=0.0, help="seconds each upload-related Slack method takes"
    )
    parser.add_argument("--dump", type=Path, help="write the simulator's jobs (times, polls) here as JSON")
    args = parser.parse_args()
    asyncio.run(main(args.quick, args.slack_latency, args.dump))
