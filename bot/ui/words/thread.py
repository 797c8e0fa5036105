"""The words of a job's thread: the parent message, the status line (a queued job's place, rough
times), the delivered video, the failure reply, the buttons (Cancel, and those under a finished video)
and what a click on them answers. Pure."""

from __future__ import annotations

from bot.money import format_usd
from bot.ui.words.format import elapsed, escape, link, mention, quote, secs, shorten, this_period
from bot.ui.words.reasons import REASON_UNKNOWN
from bot.ui.words.waiting import NO_CANCEL, about, ahead_words, time_left
from storage.billing import billed_seconds
from storage.models import BudgetStatus, Job, JobState

S = JobState
REGENERATE = "Regenerate"
EDIT = "Edit and regenerate"
TRY_AGAIN = "Try again"
CANCEL = "Cancel"

DM_FALLBACK = (
    "I can't post in this channel, so your video will arrive in our DM instead. "
    "Invite me to the channel (`/invite @videobot`) to get videos there next time."
)


def parent_header(job: Job) -> str:
    """`<@U> asked for a video:`."""
    return f"{mention(job.user_id)} asked for a video:"


def parent_details(job: Job) -> str:
    """`5 s · 16:9 · estimated $0.055`."""
    return f"{secs(job.duration)} · {escape(job.aspect_ratio)} · estimated {format_usd(job.estimate_micros)}"


def parent_text(job: Job) -> str:
    """The parent message as plain mrkdwn (notification and fallback text)."""
    return f"{parent_header(job)}\n{quote(job.prompt)}\n{parent_details(job)}"


def status_text(
    job: Job, now: float | None = None, *, ahead: int | None = None, estimate_s: float | None = None
) -> str:
    """The one status message in the thread, for the job's current state (with its place in the queue
    and the usual generation time, when known). A job asked for in a team's thread has no parent
    message, so its status also says who asked for what."""
    line = _status_line(job, now, ahead, estimate_s)
    if job.thread_ts is None:
        return line
    asked = f"{mention(job.user_id)} asked for “{escape(shorten(job.prompt, 80))}”"
    return f"{asked} · {parent_details(job)}\n{line}"


def _status_line(job: Job, now: float | None, ahead: int | None, estimate_s: float | None) -> str:
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
        who = f" by {mention(job.cancelled_by)}" if job.cancelled_by else ""
        return f":no_entry_sign: Cancelled{who}. The {format_usd(job.estimate_micros)} reserved was released."
    if state is S.DOWNLOADING:
        return ":inbox_tray: Downloading the video…"
    if state is S.UPLOADING:
        return ":outbox_tray: Uploading to Slack…"
    if state is S.DELIVERED:
        seconds = secs(billed_seconds(job))
        return f":white_check_mark: Delivered: {seconds}, cost {format_usd(job.charged_micros)}."
    reason = escape(job.failure_reason or REASON_UNKNOWN)
    if state is S.EXPIRED:
        return f":hourglass: Given up: {reason}. Nothing was charged."
    return f":x: Failed: {reason}. Nothing was charged."


STATUS_WAITING_FOR_SLACK = (
    ":hourglass_flowing_sand: Your video is ready. Waiting for Slack, which limits how fast apps may "
    "post; it will appear here shortly…"
)


def file_title(job: Job) -> str:
    """The uploaded file's title (plain text, which Slack does not parse as mrkdwn)."""
    return shorten(" ".join(job.prompt.split()), 100)


def delivered_comment(job: Job, charge_micros: int, remaining_micros: int) -> str:
    """The comment posted with the MP4: what it is, what it cost, what is left."""
    size = f" · {escape(job.result_resolution.replace('x', '×'))}" if job.result_resolution else ""
    return (
        f"{mention(job.user_id)} here is your video: {secs(billed_seconds(job))}{size}. "
        f"It cost {format_usd(charge_micros)}; you have {format_usd(remaining_micros)} left "
        f"{this_period(job.period)}."
    )


def upload_fallback(job: Job, comment: str) -> str:
    """Posted when Slack keeps refusing the upload: the gateway's link instead (temporary)."""
    where = link(job.result_url, "download the video") if job.result_url else "no link is available"
    return f"{comment}\nI couldn't upload the file into Slack; {where} (the link works for about 24 h)."


def failure_reply(job: Job, status: BudgetStatus) -> str:
    """The thread reply when a job failed or was given up."""
    reason = escape(job.failure_reason or REASON_UNKNOWN)
    return (
        f"{mention(job.user_id)} sorry, your video could not be made: {reason}. Nothing was charged; "
        f"you have {format_usd(status.remaining_micros)} left {this_period(status.period)}. "
        "You can try again with `/video`."
    )


def click_taken(retry: bool) -> str:
    """The answer to a second click on the same button (Try again, else Regenerate)."""
    if retry:
        return "You already tried this one again; follow the new video in its thread."
    return "You already regenerated this video; use the buttons under the new one for more."


def only_owner_may_retry(owner: str) -> str:
    """A click on someone else's Try again."""
    return f"Only <@{escape(owner)}> can try their video again; `/video` makes one of your own."


def cancel_refused(job: Job) -> str:
    """Why a Cancel click changed nothing."""
    if job.state is S.CANCELLED:
        who = f" by {mention(job.cancelled_by)}" if job.cancelled_by else ""
        return f"That video was already cancelled{who}; its money was released."
    if job.state.finished:
        return "That video is already finished, so there is nothing to cancel."
    return (
        "Too late to cancel: the video service has already started making it, and it cannot be stopped "
        "there. It will be delivered and charged as usual."
    )


def cancel_done(job: Job, remaining_micros: int) -> str:
    """The answer to a Cancel that worked."""
    return (
        f"Cancelled. The {format_usd(job.estimate_micros)} reserved for it was released; "
        f"{mention(job.user_id)} has {format_usd(remaining_micros)} left."
    )


def only_owner_may_cancel(owner: str) -> str:
    """A click on someone else's Cancel."""
    return f"Only {mention(owner)} or a video admin can cancel this video."


def job_gone() -> str:
    """A button whose job no longer exists."""
    return "I can't find that video any more; start a new one with `/video`."
