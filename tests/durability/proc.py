"""The app as a real process (`python -m bot.cli run`), to be killed with SIGKILL and started again."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bot.sim.gateway import Simulator
from bot.sim.signing import post_signed, slash_command_body
from bot.sim.slack import SlackStandIn
from tests.e2e.harness import ALICE, API_KEY, BOT_TOKEN, CHANNEL, SIGNING_SECRET


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class AppProcess:
    """`videobot run` in HTTP mode against the in-test simulator and Slack stand-in."""

    def __init__(
        self,
        *,
        sim: Simulator,
        slack: SlackStandIn,
        db_url: str,
        log_path: Path,
        replica_id: str = "replica-a",
        **env: str,
    ) -> None:
        self.port = free_port()
        self.log_path = log_path
        self.env = {
            **{
                k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "VIDEOBOT_", "AIGATEWAY_"))
            },
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": slack.api_url,
            "AIGATEWAY_API_KEY": API_KEY,
            "AIGATEWAY_BASE_URL": sim.base_url,
            "VIDEOBOT_MEDIA_ORIGINS": sim.media_origin,
            "VIDEOBOT_DATABASE_URL": db_url,
            "VIDEOBOT_HOST": "127.0.0.1",
            "PORT": str(self.port),
            "VIDEOBOT_HEALTH_PORT": str(self.port),  # Socket Mode serves /healthz there
            "VIDEOBOT_REPLICA_ID": replica_id,
            "VIDEOBOT_LEASE_S": "1.5",
            "VIDEOBOT_POLL_MAX_INTERVAL_S": "0.2",
            "VIDEOBOT_STATUS_EDIT_INTERVAL_S": "0.2",
            **env,
        }
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def events_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    @property
    def health_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, *, wait_healthy: bool = True) -> None:
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(  # noqa: ASYNC220 - a child we kill -9; no output to await
            [sys.executable, "-m", "bot.cli", "run"], env=self.env, stdout=log, stderr=log
        )
        log.close()
        if not wait_healthy:
            return
        deadline = time.monotonic() + 20
        async with httpx.AsyncClient() as http:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise AssertionError(f"app exited: {self.log_path.read_text()[-2000:]}")
                try:
                    if (await http.get(f"http://127.0.0.1:{self.port}/healthz")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.05)
        raise AssertionError("app did not start")

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    async def terminate(self) -> tuple[int, float]:
        """SIGTERM; returns (exit code, seconds it took)."""
        assert self.proc is not None
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        while self.proc.poll() is None:
            await asyncio.sleep(0.02)
            if time.monotonic() - started > 20:
                self.proc.kill()
        return int(self.proc.returncode), time.monotonic() - started

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


async def until(predicate, timeout: float = 30.0) -> None:
    """Poll a sync predicate every 50 ms until it holds."""
    for _ in range(int(timeout / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("not reached")


async def send_video(app: AppProcess, text: str, slack: SlackStandIn) -> None:
    """A signed `/video <text>` from Alice, as Slack posts it in HTTP mode."""
    body = slash_command_body(
        text=text, user_id=ALICE, channel_id=CHANNEL, response_url=slack.new_response_url()
    )
    async with httpx.AsyncClient() as http:
        response = await post_signed(http, app.events_url, body, SIGNING_SECRET)
    assert response.status_code == 200


async def deliver_one_fail_one(app: AppProcess, sim: Simulator, slack: SlackStandIn) -> None:
    """One video delivered, then one the gateway fails."""
    await send_video(app, "a good one", slack)
    await until(lambda: len(slack.files) == 1)
    sim.configure(fail="content policy")
    await send_video(app, "a bad one", slack)
    await until(lambda: '"dst": "failed"' in app.log_path.read_text())


async def resumes_and_delivers_once(app: AppProcess, sim: Simulator, slack: SlackStandIn) -> None:
    """Start `app` on the database a stopped one left: the job in flight is delivered, created once."""
    await app.start()
    try:
        await until(lambda: len(slack.files) == 1)
    finally:
        await app.terminate()
    assert sim.create_count == 1
