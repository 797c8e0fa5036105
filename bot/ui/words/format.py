"""The small pieces every sentence is made of: escaping, quoting, links, seconds, dates, periods.

All user text (prompts, names, typed values, gateway messages) goes through `escape`, so nothing a
user types can ping `@channel` or forge a link. Amounts go through `format_usd`, durations read "5 s".
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from storage.api import PeriodKind
from storage.models import Job, JobState

STATE_WORDS = {
    JobState.DELIVERED: "delivered",
    JobState.FAILED: "failed",
    JobState.EXPIRED: "given up",
    JobState.CANCELLED: "cancelled",
    JobState.QUEUED: "queued",
}


def escape(text: str) -> str:
    """Make text inert for Slack mrkdwn: `&`, `<`, `>` become entities."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def quote(text: str) -> str:
    """Escape text and quote every line of it with `>`."""
    return "\n".join(f">{' ' if line else ''}{line}" for line in escape(text).split("\n"))


def link(url: str, label: str) -> str:
    """A Slack link whose URL and label cannot break out of the `<url|label>` markup."""
    return f"<{escape(url).replace('|', '%7C')}|{escape(label)}>"


def secs(seconds: int) -> str:
    """A duration as people read it: `5 s`."""
    return f"{seconds} s"


def elapsed(seconds: float) -> str:
    """Elapsed time as `m:ss`."""
    minutes, rest = divmod(max(0, int(seconds)), 60)
    return f"{minutes}:{rest:02d}"


def utc(epoch: float) -> str:
    """A moment as `2026-12-01 00:00 UTC`."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M UTC")


def shorten(text: str, limit: int) -> str:
    """Cut plain (unescaped) text to `limit` characters, ending with `…` when cut."""
    return text if len(text) <= limit else text[: max(0, limit - 1)].rstrip() + "…"


def this_period(period: str) -> str:
    """Words for a period key: `today`, `this week`, `this month`, `in total`."""
    if period == "total":
        return "in total"
    if re.fullmatch(r"\d{4}-W\d{2}", period):
        return "this week"
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", period):
        return "today"
    return "this month"


def per_period(kind: PeriodKind) -> str:
    """Words for a period kind: `per day`, ..., `in total`."""
    return "in total" if kind == "total" else f"per {kind}"


def resets(resets_at: float | None) -> str:
    """`resets 2026-12-01 00:00 UTC`, or `never resets`."""
    return "never resets" if resets_at is None else f"resets {utc(resets_at)}"


def mention(user_id: str) -> str:
    """A mention of a user that their ID cannot break out of."""
    return f"<@{escape(user_id)}>"


def state_word(job: Job) -> str:
    """A job's state in one word or two: delivered, failed, given up, cancelled, queued, in progress."""
    return STATE_WORDS.get(job.state, "in progress")
