"""`videobot demo`: one /video from the signed Slack request to a playable MP4 in the thread, offline.

Runs the real app (HTTP mode, SQLite) against the gateway simulator and the Slack stand-in on
loopback, then prints the thread as a user would read it and where the MP4 is.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path

import httpx
from pydantic import SecretStr

from bot.service import Service
from bot.settings import Settings, load_settings
from bot.sim.gateway import Simulator
from bot.sim.signing import post_signed, slash_command_body
from bot.sim.slack import SlackStandIn

DEMO_TOKEN = "xoxb-demo-token"
DEMO_SECRET = "demo-signing-secret"
DEMO_USER = "U0DEMO001"
DEMO_CHANNEL = "C0DEMO001"


def demo_settings(*, api_url: str, gateway_url: str, media_origin: str, db_path: Path) -> Settings:
    """The embedded defaults, pointed at the local stand-ins."""
    return load_settings(
        slack_bot_token=SecretStr(DEMO_TOKEN),
        slack_signing_secret=SecretStr(DEMO_SECRET),
        slack_api_url=api_url,
        mode="http",
        host="127.0.0.1",
        port=0,
        aigateway_api_key=SecretStr("sk-demo"),
        aigateway_base_url=gateway_url,
        media_origins=(media_origin,),
        database_url=f"sqlite:///{db_path}",
        status_edit_interval_s=0.5,
        poll_max_interval_s=0.5,
        replica_id="demo",
    )


async def run_demo(*, prompt: str, out_dir: str) -> int:
    """Run the demo; 0 when the MP4 reached the thread."""
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("videobot-demo.db*"):
        stale.unlink()
    sim = Simulator(api_key="sk-demo")
    await sim.start()
    sim.configure(take_s=2.0)
    slack = SlackStandIn(bot_token=DEMO_TOKEN, storage_dir=out / "slack-uploads")
    await slack.start()
    slack.add_channel(DEMO_CHANNEL, kind="public", bot_member=True)
    settings = demo_settings(
        api_url=slack.api_url,
        gateway_url=sim.base_url,
        media_origin=sim.media_origin,
        db_path=out / "videobot-demo.db",
    )
    service = Service(settings)
    await service.start()
    try:
        return await _one_video(service, slack, prompt, out)
    finally:
        await service.stop()
        await slack.stop()
        await sim.stop()


async def _one_video(service: Service, slack: SlackStandIn, prompt: str, out: Path) -> int:
    body = slash_command_body(
        command="/video",
        text=f"{prompt} --duration 5 --ar 16:9",
        user_id=DEMO_USER,
        channel_id=DEMO_CHANNEL,
        response_url=slack.new_response_url(),
    )
    async with httpx.AsyncClient() as http:
        answer = await post_signed(http, service.events_url, body, DEMO_SECRET)
    print(f"/video {prompt} --duration 5 --ar 16:9")
    ack_text = answer.json().get("text", "") if answer.content else ""
    print(f"  (only you can see this) {ack_text}")
    assert service.runner is not None
    await asyncio.sleep(0.1)
    await asyncio.wait_for(service.runner.wait_idle(), timeout=60)
    parents = slack.messages(DEMO_CHANNEL)
    if not parents:
        print("no message was posted", file=sys.stderr)
        return 1
    print()
    print(slack.render_thread(DEMO_CHANNEL, parents[-1].ts))
    files = [f for f in slack.files if f.channel == DEMO_CHANNEL]
    if not files:
        print("no video reached the thread", file=sys.stderr)
        return 1
    target = out / "video.mp4"
    shutil.copyfile(files[-1].path, target)
    print()
    print(f"MP4: {target}")
    return 0
