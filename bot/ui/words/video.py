"""The words of `/video`: help, what is wrong with a request and how to fix it, refusals, the
acknowledgement, `/video budget` and `/video history`. Pure: data in, Slack mrkdwn out."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from bot.money import format_usd
from bot.settings import Settings
from bot.ui.words.format import escape, link, resets, secs, shorten, state_word, this_period, utc
from bot.ui.words.waiting import ahead_words, queue_help
from storage.billing import cost_micros
from storage.errors import Refused
from storage.models import BudgetStatus, Job, JobState

EXAMPLE = "/video a slow drone shot over a mountain lake --duration 5 --ar 16:9"


def video_help(settings: Settings) -> str:
    """The answer to `/video help`."""
    ratios = ", ".join(settings.aspect_ratios)
    return (
        "*Make a video:* `/video <prompt> [--duration N] [--ar W:H]`\n"
        f"Example: `{EXAMPLE}`\n"
        f"• `--duration N` or `-d N`: {secs(settings.duration_min)} to {secs(settings.duration_max)} "
        f"(default {secs(settings.duration_default)})\n"
        f"• `--ar W:H` or `--aspect W:H`: one of {ratios} (default {settings.default_aspect_ratio})\n"
        f"• Cost: {format_usd(settings.price_micros)} per second of video, "
        f"so {secs(settings.duration_default)} costs "
        f"{format_usd(cost_micros(settings.duration_default, settings.price_micros))}; "
        "it comes out of your budget.\n"
        f"• {queue_help(settings)}\n"
        "• `/video budget`: what you have left · `/video history`: your last 10 videos, queued and "
        "cancelled ones too · `/video help`: this text\n"
        f"{THREAD_HELP}"
    )


THREAD_HELP = (
    "*In a thread:* mention me anywhere I'm invited, like `@videobot a slow drone shot over the lake "
    "--ar 9:16` (same options as `/video`): the video arrives in that thread, and a mention at the top "
    "of a channel starts a thread under it. On any message, *More actions → Make a video* opens the "
    "form with its text and puts the video in that message's thread. A slash command typed in a "
    "thread can't answer there (Slack doesn't tell apps which thread it came from): mention me instead."
)


def mention_empty(bot_user_id: str | None) -> str:
    """A mention of the bot with nothing to make."""
    me = f"<@{escape(bot_user_id)}>" if bot_user_id else "@videobot"
    return (
        f"Tell me what to make right after {me}, like “{me} a slow drone shot over the lake --ar 9:16”. "
        f"“{me} help” lists the options, and `/video` alone opens a form."
    )


def _flag_hint(kind: str) -> str:
    return "`--duration 5` (or `-d 5`)" if kind == "duration" else "`--ar 16:9` (or `--aspect 16:9`)"


def err_empty_prompt() -> str:
    """No prompt left once the flags are taken out."""
    return f"Your request has no prompt. Describe the video after `/video`, like `{EXAMPLE}`."


def err_unknown_flag(flag: str) -> str:
    """A `--something` we do not know."""
    return (
        f"I don't know the option “{escape(flag)}”. Use `--duration N` (`-d N`) and `--ar W:H` "
        "(`--aspect W:H`); see `/video help`."
    )


def err_missing_value(flag: str, kind: str) -> str:
    """A flag at the end of the text, or followed by another flag."""
    return f"“{escape(flag)}” needs a value right after it, like {_flag_hint(kind)}."


def err_duplicate_flag(kind: str) -> str:
    """The same option given twice."""
    name = "duration" if kind == "duration" else "aspect ratio"
    return f"You gave the {name} twice; keep just one, like {_flag_hint(kind)}."


def err_bad_duration(value: str, settings: Settings) -> str:
    """A duration that is not a whole number."""
    return (
        f"“{escape(value)}” is not a number of seconds. Give a whole number from "
        f"{settings.duration_min} to {settings.duration_max}, like `--duration {settings.duration_default}`."
    )


def err_duration_range(value: str, settings: Settings) -> str:
    """A duration outside [min, max]."""
    return (
        f"A video can last {secs(settings.duration_min)} to {secs(settings.duration_max)}, "
        f"not “{escape(value)}”. Pick one in that range, like `--duration {settings.duration_default}`."
    )


def err_bad_ratio(value: str, settings: Settings) -> str:
    """An aspect ratio that is not allowed."""
    return (
        f"“{escape(value)}” is not an aspect ratio I can make. "
        f"Use one of {', '.join(settings.aspect_ratios)}, like `--ar {settings.default_aspect_ratio}`."
    )


def err_prompt_too_long(length: int, limit: int) -> str:
    """A prompt over the length limit."""
    return f"Your prompt is {length:,} characters long; the limit is {limit:,}. Shorten it and try again."


def _budget_refusal(refused: Refused, settings: Settings | None) -> str:
    status, estimate = refused.status, refused.estimate_micros
    left = status.remaining_micros
    fixes = ["ask for a shorter video with `--duration`"]
    if settings is not None and settings.price_micros > 0:
        affordable = min(left // settings.price_micros, settings.duration_max)
        if affordable >= settings.duration_min:
            fixes = [f"ask for a shorter video (what you have left pays for `--duration {affordable}`)"]
    if status.resets_at is not None:
        fixes.append(f"wait until your budget resets on {utc(status.resets_at)}")
    fixes.append("ask an admin to raise your budget")
    return (
        f"This video would cost about {format_usd(estimate)}, but you have {format_usd(left)} left of your "
        f"{format_usd(status.limit_micros)} budget {this_period(status.period)} "
        f"({format_usd(status.spent_micros)} spent, {format_usd(status.reserved_micros)} reserved for videos "
        f"in progress). To fix it, {', or '.join(fixes)}."
    )


def refusal(refused: Refused, settings: Settings | None = None) -> str:
    """Why a /video request was not started, and what to do about it (settings make it more precise)."""
    if refused.reason == "frozen":
        return (
            "I can't start your video: an admin has paused your video requests. "
            "Ask a workspace admin if you think this is a mistake."
        )
    if refused.reason == "inflight":
        many = f"{settings.max_inflight_per_user} videos" if settings else "as many videos as allowed"
        return f"You already have {many} in progress; wait for one to finish, then try again."
    if refused.reason == "queue_full":
        n = settings.max_queued_per_user if settings else 0
        waiting = f"{n} video{'' if n == 1 else 's'}" if settings else "as many videos as allowed"
        return (
            f"You already have {waiting} waiting in the queue. Wait until one of them starts, or cancel "
            "one with the Cancel button in its thread, then try again."
        )
    if refused.reason == "budget":
        return _budget_refusal(refused, settings)
    ws = refused.workspace
    cap = format_usd(ws.cap_micros) if ws.cap_micros is not None else "its limit"
    return (
        f"The workspace has reached its video spending cap of {cap} {this_period(ws.period)}, so no new "
        f"videos can start. Try again after the cap resets ({resets(refused.status.resets_at)}), "
        "or ask an admin to raise it."
    )


POLICY_REFUSAL = (
    "I can't make this video: the prompt includes something this workspace's content policy doesn't "
    "allow. Nothing was reserved or charged. Rephrase the prompt and try again; a video admin can tell "
    "you more about the policy."
)


def accepted(job: Job, status: BudgetStatus, ahead: int | None = None) -> str:
    """The ephemeral answer when a video was started (or queued, with its place)."""
    if job.state is JobState.QUEUED:
        return (
            f":hourglass_flowing_sand: Got it! Your {secs(job.duration)} {escape(job.aspect_ratio)} video is "
            f"queued, {ahead_words(ahead or 0)}; it starts as soon as a slot frees up, and its thread "
            f"shows its place. {format_usd(job.estimate_micros)} is reserved from your budget (released if "
            f"you cancel); you have {format_usd(status.remaining_micros)} left {this_period(status.period)}."
        )
    return (
        f":clapper: Got it! Your {secs(job.duration)} {escape(job.aspect_ratio)} video is on its way; "
        f"follow it in the thread. {format_usd(job.estimate_micros)} is reserved from your budget; "
        f"you have {format_usd(status.remaining_micros)} left {this_period(status.period)}."
    )


def budget_answer(status: BudgetStatus) -> str:
    """The answer to `/video budget`."""
    source = "set by an admin" if status.own_budget else "the workspace default"
    lines = [
        f"*Your video budget {this_period(status.period)}*",
        f"• Limit: {format_usd(status.limit_micros)} ({source})",
        f"• Spent: {format_usd(status.spent_micros)}",
        f"• Reserved for videos in progress: {format_usd(status.reserved_micros)}",
        f"• Left: {format_usd(status.remaining_micros)}",
        "It never resets." if status.resets_at is None else f"It resets on {utc(status.resets_at)}.",
    ]
    if status.frozen:
        lines.append(":no_entry: An admin has paused your video requests.")
    return "\n".join(lines)


def job_line(job: Job) -> str:
    """One job as a history line: date · status · cost · link · prompt."""
    day = datetime.fromtimestamp(job.created_at, UTC).strftime("%Y-%m-%d")
    if job.state is JobState.DELIVERED:
        cost = format_usd(job.charged_micros)
    elif job.state.finished:
        cost = "nothing charged"
    else:
        cost = f"{format_usd(job.estimate_micros)} reserved"
    parts = [day, state_word(job), cost]
    if job.permalink:
        parts.append(link(job.permalink, "view"))
    parts.append(f"“{escape(shorten(job.prompt, 60))}”")
    return "• " + " · ".join(parts)


def history_answer(jobs: Sequence[Job]) -> str:
    """The answer to `/video history`: the last 10 jobs, newest first."""
    if not jobs:
        return "You haven't asked for any videos yet. Try `/video a cat surfing a wave at sunset`."
    shown = list(jobs)[:10]
    title = "Your last video" if len(shown) == 1 else f"Your last {len(shown)} videos"
    return "\n".join([f"*{title}*", *(job_line(job) for job in shown)])
