"""Ack latency of /video under load: 1,000 signed commands, 50 at a time, against videobot and a
bare Bolt app that only acks, in the same run. Prints p50/p99 of both and the p99 ratio."""

from __future__ import annotations

import argparse
import asyncio

import httpx

from bench.common import AppProc, Stubs, machine, percentile, report, send_command, workdir


async def _load(url: str, total: int, concurrency: int, prefix: str) -> list[float]:
    latencies: list[float] = []
    queue = iter(range(total))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=30, limits=limits) as http:
        await send_command(http, url, "warm up", f"U{prefix}WARM")  # first request pays auth.test

        async def worker() -> None:
            for i in queue:
                # Distinct users, so every command is accepted and reserved (the full path).
                latencies.append(await send_command(http, url, f"a bench scene {i}", f"U{prefix}{i:05d}"))

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


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
        bare_ms = await _load(bare.url, total, concurrency, "B")
        ours_ms = await _load(app.url, total, concurrency, "V")
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
        **machine(),
    }
    report(figures)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="300 commands instead of 1,000")
    asyncio.run(main(parser.parse_args().quick))
