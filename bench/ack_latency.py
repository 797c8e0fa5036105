"""Ack latency of /video under load: 1,000 signed commands from 1,000 users, 50 at a time, against
videobot and a bare Bolt app that only acks, in the same run. Prints p50/p99 of both, the p99 ratio
and the CPU per command.

videobot runs twice: with its default limits (the workspace runs 50 jobs at once, so 950 of the 1,000
requests are queued and each ack tells its place) and with a workspace limit above the load (every
request starts a job), as `all_start_*`."""

from __future__ import annotations

import argparse
import asyncio

from bench.common import SECRET, AppProc, Stubs, machine, percentile, post_timed, report, workdir
from bot.sim.signing import signed_headers, slash_command_body


async def _load(url: str, total: int, concurrency: int, prefix: str) -> list[float]:
    bodies = [
        slash_command_body(text=f"a bench scene {i}", user_id=f"U{prefix}{i:05d}", channel_id="C_PUBLIC")
        for i in range(total)
    ]
    # Warm up: auth.test, connections, caches.
    warm = [
        slash_command_body(text="warm up", user_id=f"U{prefix}WARM{i}", channel_id="C_PUBLIC")
        for i in range(20)
    ]
    return await post_timed(
        url,
        [(body, signed_headers(SECRET, body)) for body in bodies],
        concurrency,
        warm_up=[(body, signed_headers(SECRET, body)) for body in warm],
    )


async def _measure(app: AppProc, total: int, concurrency: int, prefix: str) -> tuple[list[float], float]:
    """Each command's ack latency (ms) and the app's CPU seconds meanwhile (warm-up included)."""
    cpu = app.cpu_s()
    latencies = await _load(app.url, total, concurrency, prefix)
    return latencies, app.cpu_s() - cpu


async def main(quick: bool) -> None:
    total = 300 if quick else 1000
    concurrency = 50
    wd = workdir()
    stubs = Stubs(wd)
    stubs.start()
    await stubs.configure_sim(take_s=2.0)
    bare = AppProc(stubs, wd)
    app = AppProc(stubs, wd)
    roomy = AppProc(
        stubs, wd, VIDEOBOT_DATABASE_URL=f"sqlite:///{wd / 'all.db'}", VIDEOBOT_MAX_INFLIGHT="5000"
    )
    try:
        await bare.start("bench.bare_app", ())
        bare_ms, bare_cpu = await _measure(bare, total, concurrency, "B")
        bare.stop()
        # One app at a time: the jobs one started do not run beside the next one's measurement.
        await app.start()
        ours_ms, ours_cpu = await _measure(app, total, concurrency, "V")
        app.stop()
        await roomy.start()
        roomy_ms, roomy_cpu = await _measure(roomy, total, concurrency, "R")
    finally:
        roomy.stop()
        app.stop()
        bare.stop()
        stubs.stop()
    figures = {
        "bench": "ack_latency",
        "mode": "quick" if quick else "full",
        "commands": total,
        "concurrency": concurrency,
        "p50_ms": round(percentile(ours_ms, 50), 2),
        "p99_ms": round(percentile(ours_ms, 99), 2),
        "bare_p50_ms": round(percentile(bare_ms, 50), 2),
        "bare_p99_ms": round(percentile(bare_ms, 99), 2),
        "ratio_p99": round(percentile(ours_ms, 99) / percentile(bare_ms, 99), 3),
        # CPU of each app process per command while it was under load (warm-up included): at 50 in
        # flight both processes are CPU-bound, so this is what the latencies are made of.
        "cpu_ms_per_command": round(ours_cpu / (total + 20) * 1000, 3),
        "bare_cpu_ms_per_command": round(bare_cpu / (total + 20) * 1000, 3),
        "cpu_ratio": round(ours_cpu / bare_cpu, 3),
        "all_start_p50_ms": round(percentile(roomy_ms, 50), 2),
        "all_start_p99_ms": round(percentile(roomy_ms, 99), 2),
        "all_start_ratio_p99": round(percentile(roomy_ms, 99) / percentile(bare_ms, 99), 3),
        "all_start_cpu_ms_per_command": round(roomy_cpu / (total + 20) * 1000, 3),
        "all_start_cpu_ratio": round(roomy_cpu / bare_cpu, 3),
        **machine(),
    }
    report(figures)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="300 commands instead of 1,000")
    asyncio.run(main(parser.parse_args().quick))
