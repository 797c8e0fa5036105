"""`videobot admin ...`: the /video-admin grammar from a shell, on the same database."""

from __future__ import annotations

import getpass
import re
import sys
from pathlib import Path

from bot.admin_commands import parse_admin
from bot.admin_ops import run_admin
from bot.checks import check_database
from bot.commands import ParseError
from bot.deps import ledger_config
from bot.settings import Settings
from storage import open_store, sqlite_path

# Slack mrkdwn marks (https://api.slack.com/reference/surfaces/formatting#basic-formatting): a mark
# opens after a space or punctuation and closes before one, with text touching it on the inside, so
# `snake_case`, `:white_check_mark:` and `2*3*4` keep their characters.
_MARK = {
    mark: re.compile(
        rf"(?<![\w{re.escape(mark)}]){re.escape(mark)}(?=\S)([^{re.escape(mark)}\n]*?\S)"
        rf"{re.escape(mark)}(?![\w{re.escape(mark)}])"
    )
    for mark in ("`", "*", "_", "~")
}
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_CHANNEL = re.compile(r"<#([CG][A-Z0-9]+)(?:\|([^>]*))?>")
_SPECIAL = re.compile(r"<!(here|channel|everyone)(?:\|[^>]*)?>")
_LINK = re.compile(r"<((?:https?|mailto):[^|>]+)(?:\|([^>]*))?>")

# The Slack words for people, as a shell user types them: Slack user IDs, not @mentions.
_SHELL_WORDS = (
    ("<@user>", "<user-id>"),
    ("`budget @ana 10`", "`budget U0123ABCD 10`"),
    ("Mention them with @, like", "Give their Slack user ID, like"),
    (" @ana`", " U0123ABCD`"),
    ("/video-admin", "videobot admin"),
)


def plain(text: str) -> str:
    """Slack mrkdwn to terminal text: marks dropped where they are marks, every other character kept."""
    text = text.replace("```", "")
    for pattern in _MARK.values():
        text = pattern.sub(r"\1", text)
    text = _MENTION.sub(r"\1", text)
    text = _CHANNEL.sub(lambda m: f"#{m.group(2) or m.group(1)}", text)
    text = _SPECIAL.sub(r"@\1", text)
    text = _LINK.sub(lambda m: f"{m.group(2)} ({m.group(1)})" if m.group(2) else m.group(1), text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def for_shell(text: str) -> str:
    """An admin answer written for Slack, worded for the shell (user IDs) and rendered for a terminal."""
    for slack_word, shell_word in _SHELL_WORDS:
        text = text.replace(slack_word, shell_word)
    return plain(text)


def missing_database(settings: Settings) -> str | None:
    """Why the admin command must not run: a SQLite file that does not exist (it would start empty)."""
    url = settings.database_url
    if not url.startswith("sqlite:"):
        return None
    path = Path(sqlite_path(url))
    if path.exists():
        return None
    relative = "" if path.is_absolute() else f" (the path is relative to this folder, {Path.cwd()})"
    return (
        f"VIDEOBOT_DATABASE_URL: no database at {path.resolve()}{relative}. Run this where `videobot run` "
        f"runs, or give the full path: VIDEOBOT_DATABASE_URL=sqlite:///{path.resolve()}"
    )


async def run_admin_cli(settings: Settings, text: str) -> int:
    """Run one admin command; 0 on success, 2 when the words or the database are wrong."""
    parsed = parse_admin(text)
    if isinstance(parsed, ParseError):
        print(for_shell(parsed.message), file=sys.stderr)
        return 2
    problem = missing_database(settings)
    if problem is None:
        reachable = await check_database(settings, may_create=False)
        problem = None if reachable.ok else f"{reachable.name}: {reachable.detail}"
    if problem is not None:
        print(problem, file=sys.stderr)
        return 2
    store = await open_store(settings.database_url, ledger_config(settings))
    try:
        result = await run_admin(store, parsed, actor=f"shell:{getpass.getuser()}")
    finally:
        await store.close()
    if result.csv_text is not None:
        sys.stdout.write(result.csv_text)
        print(for_shell(result.text), file=sys.stderr)
    else:
        print(for_shell(result.text))
    return 0
