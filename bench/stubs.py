"""The simulator and the Slack stand-in in one process; prints their URLs as a JSON line.

`python -m bench.stubs WORKDIR [TIER_SCALE]`: the stand-in's rate limits scaled by TIER_SCALE (1 if
not given, as Slack publishes them)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from bench.common import API_KEY, BOT_TOKEN
from bot.sim.gateway import Simulator
from bot.sim.slack import SlackStandIn


async def main(workdir: Path, tier_scale: float) -> None:
    sim = Simulator(api_key=API_KEY)
    await sim.start()
    slack = SlackStandIn(bot_token=BOT_TOKEN, storage_dir=workdir / "uploads", tier_scale=tier_scale)
    await slack.start()
    info = {
        "sim_base": sim.base_url,
        "sim_origin": sim.media_origin,
        "slack_api": slack.api_url,
        "slack_base": slack.base_url,
    }
    print(json.dumps(info), flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), float(sys.argv[2]) if len(sys.argv) > 2 else 1.0))
