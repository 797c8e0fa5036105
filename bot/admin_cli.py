"""`videobot admin ...`: the /video-admin grammar from a shell, on the same database."""

from __future__ import annotations

import getpass
import re
import sys

from bot.admin_ops import run_admin
from bot.commands import ParseError, parse_admin
from bot.deps import ledger_config
from bot.settings import Settings
from storage import open_store

_MRKDWN = re.compile(r"[*_`]")


def plain(text: str) -> str:
    """Slack mrkdwn to terminal text: no emphasis marks, entities decoded, mentions as IDs."""
    text = re.sub(r"<@([A-Z0-9]+)(?:\|[^>]*)?>", r"\1", text)
    text = text.replace("```", "")
    text = _MRKDWN.sub("", text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


async def run_admin_cli(settings: Settings, text: str) -> int:
    """Run one admin command; 0 on success, 2 when the words are wrong. `export` prints the CSV."""
    parsed = parse_admin(text)
    if isinstance(parsed, ParseError):
        print(plain(parsed.message), file=sys.stderr)
        return 2
    store = await open_store(settings.database_url, ledger_config(settings))
    try:
        result = await run_admin(store, parsed, actor=f"shell:{getpass.getuser()}")
    finally:
        await store.close()
    if result.csv_text is not None:
        sys.stdout.write(result.csv_text)
        print(plain(result.text), file=sys.stderr)
    else:
        print(plain(result.text))
    return 0
