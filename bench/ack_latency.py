"""Ack latency of /video under load: 1,000 signed commands, 50 at a time, against videobot and a
bare Bolt app that only acks, in the same run. Prints p50/p99 of both and the p99 ratio."""

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


async def main(quick: bool) -> None:
    total = 300 if quick else 1000
    concurrency = 50
    wd = workdir()
    stubs = Stubs(wd)
    stubs.start()
    await stubs.configure_sim(take_s=2.0)
    bare = AppProc(stubs, wd)
    app = AppProc(stubs, wd)
    try:
        await bare.start("bench.bare_app", ())
        await app.start()
        bare_cpu = bare.cpu_s()
        bare_ms = await _load(bare.url, total, concurrency, "B")
        bare_cpu = bare.cpu_s() - bare_cpu
        ours_cpu = app.cpu_s()
        ours_ms = await _load(app.url, total, concurrency, "V")
        ours_cpu = app.cpu_s() - ours_cpu
    finally:
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
        **machine(),
    }
    report(figures)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="300 commands instead of 1,000")
    asyncio.run(main(parser.parse_args().quick))
