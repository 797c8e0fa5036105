"""Every word users read, in one voice. Pure: data in, Slack mrkdwn out.

All user text (prompts, names, typed values, gateway messages) goes through `escape`, so nothing a
user types can ping `@channel` or forge a link. Amounts go through `format_usd`, durations read "5 s".
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime

from bot.money import format_usd
from bot.settings import Settings
from bot.ui.waiting import NO_CANCEL, about, ahead_words, queue_help, time_left
from storage.api import PeriodKind, Refused
from storage.models import BudgetStatus, Job, JobState

S = JobState

# --- small pieces --------------------------------------------------------------------------------


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


def _resets(resets_at: float | None) -> str:
    return "never resets" if resets_at is None else f"resets {utc(resets_at)}"


def _user(user_id: str) -> str:
    return f"<@{escape(user_id)}>"


# --- /video help and parse errors ----------------------------------------------------------------

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
        f"{format_usd(settings.duration_default * settings.price_micros)}; it comes out of your budget.\n"
        f"• {queue_help(settings)}\n"
        "• `/video budget`: what you have left · `/video history`: your last 10 videos, queued and "
        "cancelled ones too · `/video help`: this text"
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


# --- refusals and the acknowledgement ------------------------------------------------------------


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
        f"videos can start. Try again after the cap resets ({_resets(refused.status.resets_at)}), "
        "or ask an admin to raise it."
    )


POLICY_REFUSAL = (
    "I can't make this video: the prompt includes something this workspace's content policy doesn't "
    "allow. Nothing was reserved or charged. Rephrase the prompt and try again; a video admin can tell "
    "you more about the policy."
)


def accepted(job: Job, status: BudgetStatus, ahead: int | None = None) -> str:
    """The ephemeral answer when a video was started (or queued, with its place)."""
    if job.state is S.QUEUED:
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


DM_FALLBACK = (
    "I can't post in this channel, so your video will arrive in our DM instead. "
    "Invite me to the channel (`/invite @videobot`) to get videos there next time."
)

# --- the parent message, status, delivery, failure -----------------------------------------------


def parent_header(job: Job) -> str:
    """`<@U> asked for a video:`."""
    return f"{_user(job.user_id)} asked for a video:"


def parent_details(job: Job) -> str:
    """`5 s · 16:9 · estimated $0.055`."""
    return f"{secs(job.duration)} · {escape(job.aspect_ratio)} · estimated {format_usd(job.estimate_micros)}"


def parent_text(job: Job) -> str:
    """The parent message as plain mrkdwn (notification and fallback text)."""
    return f"{parent_header(job)}\n{quote(job.prompt)}\n{parent_details(job)}"


REASON_UNSURE_CREATE = (
    "we lost track of the request while sending it, and sending it again could pay for a second video"
)
REASON_TIMEOUT = "the video took too long and was given up"


def reason_gateway_failed(detail: str | None) -> str:
    """The reason stored when the gateway says the job failed (escaped where it is shown)."""
    detail = shorten(" ".join((detail or "").split()), 200)
    return (
        f"the video service could not make it ({detail})" if detail else "the video service could not make it"
    )


def status_text(
    job: Job, now: float | None = None, *, ahead: int | None = None, estimate_s: float | None = None
) -> str:
    """The one status line in the thread, for the job's current state (with its place in the queue and
    the usual generation time, when known)."""
    state = job.state
    if state is S.QUEUED:
        ready = f" · ready in {about(estimate_s)}" if estimate_s is not None else ""
        return (
            f":hourglass_flowing_sand: Queued, {ahead_words(ahead or 0)}{ready}. Cancel releases its money."
        )
    if state is S.ACCEPTED:
        return ":hourglass_flowing_sand: Starting…"
    if state in (S.SUBMITTING, S.SUBMITTED):
        usual = f" (usually ready in {about(estimate_s)})" if estimate_s is not None else ""
        return f":rocket: Sent to the video service{usual}; {NO_CANCEL}."
    if state is S.GENERATING:
        since = job.submitted_at or job.started_at or job.created_at
        took = (
            f" ({elapsed(now - since)} elapsed{time_left(job, now, estimate_s)})" if now is not None else ""
        )
        return f":movie_camera: Generating{took}… ({NO_CANCEL})"
    if state is S.CANCELLED:
        who = f" by {_user(job.cancelled_by)}" if job.cancelled_by else ""
        return f":no_entry_sign: Cancelled{who}. The {format_usd(job.estimate_micros)} reserved was released."
    if state is S.DOWNLOADING:
        return ":inbox_tray: Downloading the video…"
    if state is S.UPLOADING:
        return ":outbox_tray: Uploading to Slack…"
    if state is S.DELIVERED:
        seconds = secs(job.result_duration or job.duration)
        return f":white_check_mark: Delivered: {seconds}, cost {format_usd(job.charged_micros)}."
    reason = escape(job.failure_reason or "something went wrong on our side")
    if state is S.EXPIRED:
        return f":hourglass: Given up: {reason}. Nothing was charged."
    return f":x: Failed: {reason}. Nothing was charged."


def file_title(job: Job) -> str:
    """The uploaded file's title (plain text, which Slack does not parse as mrkdwn)."""
    return shorten(" ".join(job.prompt.split()), 100)


def delivered_comment(job: Job, charge_micros: int, remaining_micros: int) -> str:
    """The comment posted with the MP4: what it is, what it cost, what is left."""
    size = f" · {escape(job.result_resolution.replace('x', '×'))}" if job.result_resolution else ""
    return (
        f"{_user(job.user_id)} here is your video: {secs(job.result_duration or job.duration)}{size}. "
        f"It cost {format_usd(charge_micros)}; you have {format_usd(remaining_micros)} left "
        f"{this_period(job.period)}."
    )


def upload_fallback(job: Job, comment: str) -> str:
    """Posted when Slack keeps refusing the upload: the gateway's link instead (temporary)."""
    where = link(job.result_url, "download the video") if job.result_url else "no link is available"
    return f"{comment}\nI couldn't upload the file into Slack; {where} (the link works for about 24 h)."


def failure_reply(job: Job, status: BudgetStatus) -> str:
    """The thread reply when a job failed or was given up."""
    reason = escape(job.failure_reason or "something went wrong on our side")
    return (
        f"{_user(job.user_id)} sorry, your video could not be made: {reason}. Nothing was charged; "
        f"you have {format_usd(status.remaining_micros)} left {this_period(status.period)}. "
        "You can try again with `/video`."
    )


# --- /video budget and /video history ------------------------------------------------------------


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


_STATE_WORDS = {
    S.DELIVERED: "delivered",
    S.FAILED: "failed",
    S.EXPIRED: "given up",
    S.CANCELLED: "cancelled",
    S.QUEUED: "queued",
}


def state_word(job: Job) -> str:
    """`delivered`, `queued`, `cancelled`, `in progress`..."""
    return _STATE_WORDS.get(job.state, "in progress")


def job_line(job: Job) -> str:
    """One job as a history line: date · status · cost · link · prompt."""
    day = datetime.fromtimestamp(job.created_at, UTC).strftime("%Y-%m-%d")
    if job.state is S.DELIVERED:
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
