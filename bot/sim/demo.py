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
from bot.sim.signing import interaction_body, post_signed, slash_command_body
from bot.sim.slack import BOT_USER, SlackStandIn
from bot.sim.slack.events import deliver_event, mention_envelope, message_action, post_mention
from bot.ui.blocks.form import SHORTCUT_CALLBACK

DEMO_TOKEN = "xoxb-demo-token"
DEMO_SECRET = "demo-signing-secret"
DEMO_USER = "U0DEMO001"
DEMO_CHANNEL = "C0DEMO001"
DEMO_TEAMMATE = "U0DEMO002"


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


async def run_demo(*, prompt: str, out_dir: str, via: str = "command") -> int:
    """Run the demo, asking by `/video`, an @mention in a thread or the message shortcut; 0 when the
    MP4 reached the thread."""
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
        return await _one_video(service, slack, prompt, out, via)
    finally:
        await service.stop()
        await slack.stop()
        await sim.stop()


async def _one_video(service: Service, slack: SlackStandIn, prompt: str, out: Path, via: str) -> int:
    thread_ts: str | None = None  # /video: the thread under the parent message, found below
    async with httpx.AsyncClient() as http:
        if via == "mention":
            thread_ts = await _by_mention(service, slack, http, prompt)
        elif via == "shortcut":
            thread_ts = await _by_shortcut(service, slack, http, prompt)
        else:
            await _by_command(service, slack, http, prompt)
        assert service.runner is not None
        await asyncio.sleep(0.1)
        await asyncio.wait_for(service.runner.wait_idle(), timeout=60)
    for said in slack.ephemerals:
        print(f"  (only you can see this) {said.text}")
    thread_ts = thread_ts or next((m.ts for m in reversed(slack.messages(DEMO_CHANNEL))), None)
    if thread_ts is None:
        print("no message was posted", file=sys.stderr)
        return 1
    print()
    print(slack.render_thread(DEMO_CHANNEL, thread_ts))
    files = [f for f in slack.files if f.channel == DEMO_CHANNEL]
    if not files:
        print("no video reached the thread", file=sys.stderr)
        return 1
    target = out / "video.mp4"
    shutil.copyfile(files[-1].path, target)
    print()
    print(f"MP4: {target}")
    return 0


async def _by_command(service: Service, slack: SlackStandIn, http: httpx.AsyncClient, prompt: str) -> None:
    body = slash_command_body(
        command="/video",
        text=f"{prompt} --duration 5 --ar 16:9",
        user_id=DEMO_USER,
        channel_id=DEMO_CHANNEL,
        response_url=slack.new_response_url(),
    )
    answer = await post_signed(http, service.events_url, body, DEMO_SECRET)
    print(f"/video {prompt} --duration 5 --ar 16:9")
    ack_text = answer.json().get("text", "") if answer.content else ""
    print(f"  (only you can see this) {ack_text}")


async def _by_mention(service: Service, slack: SlackStandIn, http: httpx.AsyncClient, prompt: str) -> str:
    """A teammate starts a thread; the demo user mentions the bot in it (delivered as Slack does)."""
    root = post_mention(slack, DEMO_CHANNEL, DEMO_TEAMMATE, "Ideas for the launch video?")
    text = f"<@{BOT_USER}> {prompt} --duration 5 --ar 16:9"
    mention = post_mention(slack, DEMO_CHANNEL, DEMO_USER, text, thread_ts=root.ts)
    print(f"@videobot {prompt} --duration 5 --ar 16:9   (in a thread)")
    await deliver_event(http, service.events_url, DEMO_SECRET, mention_envelope(mention))
    return root.ts


async def _by_shortcut(service: Service, slack: SlackStandIn, http: httpx.AsyncClient, prompt: str) -> str:
    """A teammate's message; the demo user picks "Make a video" on it and submits the form as is."""
    message = slack.workspace.post(DEMO_CHANNEL, f"What about *{prompt}*?", user=DEMO_TEAMMATE)
    action = message_action(slack, message, DEMO_USER, callback_id=SHORTCUT_CALLBACK)
    await post_signed(http, service.events_url, interaction_body(action), DEMO_SECRET)
    for _ in range(100):
        if slack.workspace.views:
            break
        await asyncio.sleep(0.05)
    [view] = slack.workspace.views.values()
    [field] = [b["element"] for b in view["blocks"] if b.get("block_id") == "prompt"]
    print(f"Make a video (on a message) → the form, prefilled: {field.get('initial_value')!r}")
    values = {
        "prompt": {"prompt": {"type": "plain_text_input", "value": field.get("initial_value")}},
        "duration": {"form_duration": {"type": "static_select", "selected_option": {"value": "5"}}},
        "ratio": {"form_ratio": {"type": "static_select", "selected_option": {"value": "16:9"}}},
    }
    submit = {
        "type": "view_submission",
        "user": {"id": DEMO_USER},
        "view": view | {"state": {"values": values}},
    }
    await post_signed(http, service.events_url, interaction_body(submit), DEMO_SECRET)
    return message.ts
