"""A Slack message's text as plain words: mentions as names, links as their text, no mrkdwn marks.

It prefills the form of the "Make a video" message shortcut. In a message's `text` Slack writes a
user as `<@U123>` (no name), a channel as `<#C123|name>` or `<#C123|>`, a link as `<https://…|text>`
or `<https://…>`, and `&`, `<`, `>` as entities (https://api.slack.com/reference/surfaces/formatting).
Names are looked up (users.info, conversations.info) within a time limit, so the form still opens
within the 3 s its trigger_id lives; a name not found in time stays an id.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping

from slack_sdk.web.async_client import AsyncWebClient

from bot.commands import clean_text, unslack
from bot.slack import api as slack_io
from storage.errors import SlackIOError

LOOKUP_TIMEOUT_S = 1.0
MAX_LOOKUPS = 20  # names looked up per message, at most (each is one Slack call)

_USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^<>]*)?>")
_CHANNEL = re.compile(r"<#(C[A-Z0-9]+)(?:\|([^<>]*))?>")
_QUOTE = re.compile(r"^(?:&gt;|>)+ ?", re.MULTILINE)
_CODE = re.compile(r"`+")
# *bold*, _italic_, ~strike~ around words (not inside snake_case or 2*3*4).
_EMPHASIS = re.compile(r"(?<![\w*_~])([*_~])(?=\S)(.+?)(?<=\S)\1(?![\w*_~])")


def unnamed(text: str) -> tuple[list[str], list[str]]:
    """The user ids and the ids of channels without a name that `text` mentions, in order."""
    users = list(dict.fromkeys(m[1] for m in _USER.finditer(text)))
    channels = list(dict.fromkeys(m[1] for m in _CHANNEL.finditer(text) if not m[2]))
    return users, channels


def plain_words(text: str, names: Mapping[str, str]) -> str:
    """Slack message text as the words people read; `names` maps user and channel ids to names."""
    text = _QUOTE.sub("", text)
    text = _USER.sub(lambda m: f"<@{m[1]}|{names.get(m[1], m[1])}>", text)
    text = _CHANNEL.sub(lambda m: f"<#{m[1]}|{m[2] or names.get(m[1], m[1])}>", text)
    text = _EMPHASIS.sub(r"\2", _CODE.sub("", unslack(text)))
    return " ".join(clean_text(text).split())


async def _name(client: AsyncWebClient, ident: str) -> tuple[str, str | None]:
    once = slack_io.Retry(attempts=1)  # no time to wait out a rate limit: the id will do
    try:
        if ident[0] in "UW":
            return ident, await slack_io.user_name(client=client, user=ident, retry=once)
        return ident, await slack_io.channel_name(client=client, channel=ident, retry=once)
    except SlackIOError:
        return ident, None


async def lookup_names(
    client: AsyncWebClient, text: str, timeout_s: float = LOOKUP_TIMEOUT_S
) -> dict[str, str]:
    """Names of the users and unnamed channels `text` mentions, as many as arrive within `timeout_s`."""
    users, channels = unnamed(text)
    idents = (users + channels)[:MAX_LOOKUPS]
    if not idents:
        return {}
    tasks = [asyncio.ensure_future(_name(client, ident)) for ident in idents]
    done, pending = await asyncio.wait(tasks, timeout=timeout_s)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending)
    found = (task.result() for task in done if not task.cancelled() and task.exception() is None)
    return {ident: name for ident, name in found if name}
