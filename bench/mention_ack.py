"""Ack latency of @mentions under load: signed app_mention events, 50 at a time, then the same events
resent (X-Slack-Retry-Num: 1) as Slack does when it missed the acks. Prints p50/p99 of both rounds
and how many jobs the resends added (must be 0)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import time
from typing import Any

import httpx

from bench.common import BOT_TOKEN, SECRET, AppProc, Stubs, machine, percentile, post_timed, report, workdir
from bot.sim.signing import signed_headers
from bot.sim.slack.events import mention_envelope
from bot.sim.slack.workspace import BOT_USER, Message


def _envelopes(
    total: int, thread_ts: str, prefix: str = "BENCH", text: str = "a bench scene {i} --duration 4"
) -> list[dict[str, Any]]:
    """Mentions in one thread (its root exists in the stand-in, so the jobs run as usual)."""
    now = time.time()
    return [
        mention_envelope(
            Message(
                ts=f"{now + i / 1000:.6f}",
                channel="C_PUBLIC",
                user=f"U0{prefix[:3]}{i:05d}",
                text=f"<@{BOT_USER}> " + text.format(i=i),
                thread_ts=thread_ts,
            ),
            event_id=f"Ev{prefix}{i:06d}",
        )
        for i in range(total)
    ]


async def _thread_root(slack_api: str) -> str:
    """A message to thread under, posted through the stand-in's Web API (it runs in another process)."""
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"{slack_api}chat.postMessage",
            headers={"Authorization": f"Bearer {BOT_TOKEN}"},
            json={"channel": "C_PUBLIC", "text": "the bench thread"},
        )
    return str(response.json()["ts"])


def _signed(envelopes: list[dict[str, Any]], retry_num: int) -> list[tuple[str, dict[str, str]]]:
    signed = []
    for envelope in envelopes:
        body = json.dumps(envelope)
        headers = signed_headers(SECRET, body, content_type="application/json")
        if retry_num:
            headers |= {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"}
        signed.append((body, headers))
    return signed


async def main(quick: bool, concurrency: int) -> None:
    total = 300 if quick else 1000
    wd = workdir()
    stubs = Stubs(wd)
    stubs.start()
    await stubs.configure_sim(take_s=2.0)  # as in ack_latency.py: the jobs outlive the load
    app = AppProc(stubs, wd)
    try:
        await app.start()
        root = await _thread_root(stubs.info["slack_api"])
        await post_timed(app.url, _signed(_envelopes(20, root, "WARM", "help"), 0), 5)  # auth.test, caches
        envelopes = _envelopes(total, root)
        cpu = app.cpu_s()
        first_ms = await post_timed(app.url, _signed(envelopes, 0), concurrency)
        first_cpu, cpu = app.cpu_s() - cpu, app.cpu_s()
        resent_ms = await post_timed(app.url, _signed(envelopes, 1), concurrency)
        resent_cpu = app.cpu_s() - cpu
    finally:
        app.stop()
        stubs.stop()
    with sqlite3.connect(wd / "bench.db") as db:
        jobs = db.execute("SELECT COUNT(*) FROM jobs").fetchone()[0]
    report(
        {
            "bench": "mention_ack",
            "mode": "quick" if quick else "full",
            "events": total,
            "concurrency": concurrency,
            "p50_ms": round(percentile(first_ms, 50), 2),
            "p99_ms": round(percentile(first_ms, 99), 2),
            "resent_p50_ms": round(percentile(resent_ms, 50), 2),
            "resent_p99_ms": round(percentile(resent_ms, 99), 2),
            # CPU of the app per event while under load (the first round includes the jobs' own work).
            "cpu_ms_per_event": round(first_cpu / total * 1000, 3),
            "resent_cpu_ms_per_event": round(resent_cpu / total * 1000, 3),
            "jobs": jobs,
            "jobs_added_by_resends": jobs - total,
            **machine(),
        }
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="300 events instead of 1,000")
    parser.add_argument("--concurrency", type=int, default=50, help="events in flight at once")
    args = parser.parse_args()
    asyncio.run(main(args.quick, args.concurrency))
