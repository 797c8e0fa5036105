"""A Slack Web API / Socket Mode stand-in on loopback, for the demo, tests and benchmarks.

```
async with SlackStandIn() as slack:            # or: await slack.start(); ...; await slack.stop()
    client = AsyncWebClient(token=slack.bot_token, base_url=slack.api_url)
    ...
    print(slack.render_thread("C_PUBLIC", ts))
```

Channels out of the box: `C_PUBLIC` (public, bot in it), `C_OTHER` (public, bot not in it: posting
works with chat:write.public, a file share is `not_in_channel` until conversations.join),
`C_PRIVATE` (private, bot not in it: `channel_not_found`), `D_USERS` (a DM between two people:
`channel_not_found`). `add_channel()` makes more.

Strict as Slack (see `limits`, `grants`): per-method tiers and chat.postMessage's per-channel pace
with 429 + Retry-After (`calls_inside_retry_after` records any call made inside one), trigger_id
3 s / once, response_url 5 posts / 30 min, shares listed in files.info only after processing,
files.completeUploadExternal once per file. `SlackStandIn(tier_scale=20)` makes every limit 20× looser.

`bot.sim.slack.events` sends what people do in threads: @mentions as Events API requests (signed
HTTP with Slack's resends, or Socket Mode envelopes) and "Make a video" message shortcuts.
"""

from bot.sim.slack.server import SlackStandIn
from bot.sim.slack.socket_hub import Ack
from bot.sim.slack.workspace import BOT_USER, Call, Channel, Ephemeral, FileRecord, Message

__all__ = ["BOT_USER", "Ack", "Call", "Channel", "Ephemeral", "FileRecord", "Message", "SlackStandIn"]
