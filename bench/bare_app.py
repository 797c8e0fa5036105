"""A bare Bolt app whose /video handler only acks, served by the same aiohttp transport as videobot."""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.transports import HttpTransport


async def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    client = AsyncWebClient(token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"])
    app = AsyncApp(
        client=client, signing_secret=os.environ["SLACK_SIGNING_SECRET"], process_before_response=True
    )

    @app.command("/video")
    async def only_ack(ack: AsyncAck, command: dict[str, Any]) -> None:
        await ack()

    transport = HttpTransport(
        app, "127.0.0.1", int(os.environ["PORT"]), signing_secret=os.environ["SLACK_SIGNING_SECRET"]
    )
    await transport.start()
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
