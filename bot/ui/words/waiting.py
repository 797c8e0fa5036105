"""Words about waiting: a place in the queue, rough times, and why a started video cannot be cancelled.
Pure, in the voice of `bot.ui.words` (`thread` and `video` use them)."""

from __future__ import annotations

from bot.settings import Settings
from storage.models import Job


def ahead_words(ahead: int) -> str:
    """`next in line` or `3 ahead of it`."""
    return "next in line" if ahead <= 0 else f"{ahead} ahead of it"


def about(seconds: float) -> str:
    """A rough span of time: `about 40 s`, `about 3 min`."""
    if seconds < 90:
        return f"about {max(5, round(seconds / 5) * 5)} s"
    return f"about {round(seconds / 60)} min"


NO_CANCEL = "it can't be cancelled now: the video service has started making it"


def time_left(job: Job, now: float | None, estimate_s: float | None) -> str:
    """`, about 40 s left` from the usual generation time, when there is one."""
    if estimate_s is None or now is None:
        return ""
    left = estimate_s - (now - (job.submitted_at or now))
    return f", {about(left)} left" if left > 0 else ", taking longer than usual"


def queue_help(settings: Settings) -> str:
    """The in-flight limits and the queue, in one sentence of `/video help`."""
    limits = (
        f"You can have {settings.max_inflight_per_user} videos in progress at once "
        f"(the whole workspace {settings.max_inflight})"
    )
    if settings.max_queued_per_user == 0:
        return f"{limits}; beyond that a request is refused until one finishes."
    return (
        f"{limits}; more wait in a fair queue (up to {settings.max_queued_per_user} of yours, money "
        "reserved), and the Cancel button in a video's thread releases the money of one that has not "
        "started yet."
    )
