"""A Slack Web API / Socket Mode stand-in on loopback, for the demo, tests and benchmarks.

```
async with SlackStandIn() as slack:            # or: await slack.start(); ...; await slack.stop()
    client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)
    ...
    print(slack.render_thread("C_PUBLIC", ts))
```

Channels out of the box: `C_PUBLIC` (public, bot in it), `C_OTHER` (public, bot not in it:
`not_in_channel` until conversations.join), `C_PRIVATE` (private, bot not in it: `channel_not_found`),
`D_USERS` (a DM between two people: `channel_not_found`). `add_channel()` makes more.

`bot.sim.slack.events` sends what people do in threads: @mentions as Events API requests (signed
HTTP with Slack's resends, or Socket Mode envelopes) and "Make a video" message shortcuts.
"""

from bot.sim.slack.server import SlackStandIn
from bot.sim.slack.socket_hub import Ack
from bot.sim.slack.workspace import BOT_USER, Call, Channel, Ephemeral, FileRecord, Message

__all__ = ["BOT_USER", "Ack", "Call", "Channel", "Ephemeral", "FileRecord", "Message", "SlackStandIn"]
