"""Shared pieces of the benchmarks: the stand-ins in their own process, the app as a process,
signed commands, and an RSS/CPU sampler. Figures are printed as one JSON object, last line."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import psutil

from bot.sim.signing import post_signed, slash_command_body

BOT_TOKEN = "xoxb-bench-token"
SECRET = "bench-signing-secret"
API_KEY = "sk-bench-key"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
    }


class Stubs:
    """The gateway simulator and the Slack stand-in, in a process of their own (bench/stubs.py)."""

    def __init__(self, workdir: Path, tier_scale: float = 1.0) -> None:
        self.workdir = workdir
        self.tier_scale = tier_scale
        self.proc: subprocess.Popen[str] | None = None
        self.info: dict[str, str] = {}

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.stubs", str(self.workdir), str(self.tier_scale)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.info = json.loads(self.proc.stdout.readline())

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)

    async def configure_sim(self, **options: Any) -> None:
        async with httpx.AsyncClient() as http:
            (await http.post(self.info["sim_origin"] + "/_sim/config", json=options)).raise_for_status()

    async def sim_state(self) -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=60) as http:
            return dict((await http.get(self.info["sim_origin"] + "/_sim/state")).json())

    async def configure_slack(self, actions: list[dict[str, Any]]) -> None:
        async with httpx.AsyncClient() as http:
            (await http.post(self.info["slack_base"] + "_standin/config", json=actions)).raise_for_status()

    async def slack_state(self) -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=60) as http:
            return dict((await http.get(self.info["slack_base"] + "_standin/state")).json())


class AppProc:
    """`videobot run` in HTTP mode against the stubs."""

    def __init__(self, stubs: Stubs, workdir: Path, **env: str) -> None:
        self.port = free_port()
        self.log = workdir / "app.log"
        self.env = {
            **{
                k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "VIDEOBOT_", "AIGATEWAY_"))
            },
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": stubs.info["slack_api"],
            "AIGATEWAY_API_KEY": API_KEY,
            "AIGATEWAY_BASE_URL": stubs.info["sim_base"],
            "VIDEOBOT_MEDIA_ORIGINS": stubs.info["sim_origin"],
            "VIDEOBOT_DATABASE_URL": f"sqlite:///{workdir / 'bench.db'}",
            "VIDEOBOT_HOST": "127.0.0.1",
            "PORT": str(self.port),
            "VIDEOBOT_LOG_LEVEL": "WARNING",
            **env,
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.ps: psutil.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    async def start(self, module: str = "bot.cli", args: tuple[str, ...] = ("run",)) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(  # noqa: ASYNC220 - started once, before measuring
                [sys.executable, "-m", module, *args], env=self.env, stdout=log, stderr=log
            )
        self.ps = psutil.Process(self.proc.pid)
        async with httpx.AsyncClient() as http:
            for _ in range(400):
                try:
                    await http.get(f"http://127.0.0.1:{self.port}/healthz")
                    return
                except httpx.HTTPError:
                    await asyncio.sleep(0.05)
        raise RuntimeError(f"app did not start: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def rss_mb(self) -> float:
        assert self.ps is not None
        return float(self.ps.memory_info().rss / 2**20)

    def cpu_s(self) -> float:
        assert self.ps is not None
        times = self.ps.cpu_times()
        return float(times.user + times.system)


class Sampler:
    """Samples a process's RSS every `interval` seconds in the background; keeps the peak."""

    def __init__(self, sample: Any, interval: float = 0.05) -> None:
        self._sample = sample
        self._interval = interval
        self.peak = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            try:
                self.peak = max(self.peak, self._sample())
            except psutil.Error:
                return
            await asyncio.sleep(self._interval)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> float:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        return self.peak


async def send_command(
    http: httpx.AsyncClient, url: str, text: str, user: str, channel: str = "C_PUBLIC"
) -> float:
    """One signed /video; returns the ack latency in ms."""
    body = slash_command_body(text=text, user_id=user, channel_id=channel, response_url="")
    started = time.perf_counter()
    response = await post_signed(http, url, body, SECRET)
    elapsed = (time.perf_counter() - started) * 1000
    response.raise_for_status()
    return elapsed


async def post_timed(
    url: str,
    signed: list[tuple[str, dict[str, str]]],
    concurrency: int,
    warm_up: list[tuple[str, dict[str, str]]] | None = None,
) -> list[float]:
    """POST each (body, headers), `concurrency` at a time; each one's latency in ms.

    The bodies come signed, before the clock starts, and aiohttp keeps the client side cheap, so the
    figures are about the server. Its `concurrency` connections are opened first (a GET of /healthz
    on each, at once), then the `warm_up` requests go on them, unmeasured: opening 49 connections at
    the start of the measured flood had delayed its first wave by ~13 ms in one run out of six.
    The client's own garbage collector is paused while it measures: a full collection here (~15 ms)
    would add to the latency of every request in flight, whichever server answers them.
    """
    gc.collect()
    gc.disable()
    try:
        return await _post_timed(url, signed, concurrency, warm_up)
    finally:
        gc.enable()


async def _post_timed(
    url: str,
    signed: list[tuple[str, dict[str, str]]],
    concurrency: int,
    warm_up: list[tuple[str, dict[str, str]]] | None,
) -> list[float]:
    latencies: list[float] = []
    queue = iter(signed)
    health = url.rsplit("/slack/", 1)[0] + "/healthz"
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:

        async def connect() -> None:
            async with session.get(health) as response:
                await response.read()

        await asyncio.gather(*(connect() for _ in range(concurrency)))
        for body, headers in warm_up or []:
            async with session.post(url, data=body, headers=headers) as response:
                await response.read()

        async def worker() -> None:
            for body, headers in queue:
                started = time.perf_counter()
                async with session.post(url, data=body, headers=headers) as response:
                    await response.read()
                    assert response.status == 200, response.status
                latencies.append((time.perf_counter() - started) * 1000)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))
    return ordered[index]


def workdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="videobot-bench-"))


def report(figures: dict[str, Any]) -> None:
    """The last line of output: the figures as one JSON object."""
    print(json.dumps(figures))
