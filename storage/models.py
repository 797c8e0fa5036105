"""Records kept in the database: the job and its states, budgets and usage."""

from __future__ import annotations

from enum import Enum
from typing import Any

from pydantic import BaseModel, ConfigDict


class JobState(str, Enum):
    """Where a job is. Stored as text; which state may follow which is `storage.states.TRANSITIONS`."""

    QUEUED = "queued"  # reserved and stored, waiting for a free slot (user or workspace limit)
    ACCEPTED = "accepted"  # reserved and stored; the gateway has heard nothing
    SUBMITTING = "submitting"  # a create request may be on its way to the gateway
    SUBMITTED = "submitted"  # the gateway gave us a job id
    GENERATING = "generating"  # the gateway says it is processing
    DOWNLOADING = "downloading"  # completed; fetching the result
    UPLOADING = "uploading"  # result on disk; uploading into Slack
    DELIVERED = "delivered"  # the MP4 (or its link) is in the thread
    FAILED = "failed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"  # cancelled by its asker or an admin before it reached the gateway

    @property
    def finished(self) -> bool:
        """True for delivered, failed, expired and cancelled: nothing follows."""
        return self in (JobState.DELIVERED, JobState.FAILED, JobState.EXPIRED, JobState.CANCELLED)


UNFINISHED_STATES: tuple[JobState, ...] = tuple(s for s in JobState if not s.finished)
# Holding a slot (counted against the in-flight limits): unfinished and no longer waiting in the queue.
RUNNING_STATES: tuple[JobState, ...] = tuple(s for s in UNFINISHED_STATES if s is not JobState.QUEUED)
# Still cancellable: the gateway has heard nothing of it.
CANCELLABLE_STATES: tuple[JobState, ...] = (JobState.QUEUED, JobState.ACCEPTED)


class MoneyState(str, Enum):
    """What a job's reservation became; each job moves out of `reserved` exactly once."""

    RESERVED = "reserved"
    CHARGED = "charged"
    RELEASED = "released"


class Job(BaseModel):
    """One /video request, from the command to the delivered MP4."""

    model_config = ConfigDict(frozen=True)

    id: str  # also the gateway Idempotency-Key
    team_id: str
    user_id: str
    channel_id: str  # where the command was typed
    response_url: str | None = None
    prompt: str
    duration: int
    aspect_ratio: str
    model: str
    price_micros: int  # per second
    estimate_micros: int
    period: str  # budget period the job counts in, e.g. "2026-11"
    state: JobState
    money_state: MoneyState
    charged_micros: int = 0
    overage_micros: int = 0  # what the gateway billed beyond the reservation (the user is not charged it)
    gateway_job_id: str | None = None
    result_url: str | None = None
    result_duration: int | None = None
    result_resolution: str | None = None
    delivery_channel: str | None = None  # where the thread lives (the channel or the user's DM)
    parent_ts: str | None = None
    status_ts: str | None = None
    file_id: str | None = None
    permalink: str | None = None
    attempts: int = 0
    last_error: str | None = None
    failure_reason: str | None = None  # the words the user read
    created_at: float
    updated_at: float
    deadline_at: float
    owner: str | None = None
    lease_until: float | None = None
    origin: str = "command"  # command | regenerate | modal | mention
    submitted_at: float | None = None  # when the gateway accepted it (generation time starts)
    started_at: float | None = None  # when it got a running slot (None while queued)
    cancelled_by: str | None = None  # the Slack user who cancelled it
    # The thread the request came from (a mention, a message shortcut), where the video answers;
    # None when the video gets a parent message of its own.
    thread_ts: str | None = None
    share_sent_at: float | None = None  # files.completeUploadExternal may have been sent from then on


# `Job.model_construct` without its per-field loop (aliases, defaults) for a job the ledger has just
# built from values it made and checked: a tenth of the time, on every ack's path. The same instance
# as `model_construct` gives (tests/storage/test_models.py compares them); it relies on Job having no
# aliases, no default factories, no private attributes and no post-init, which is checked here.
_JOB_DEFAULTS: dict[str, Any] = {
    name: field.default for name, field in Job.model_fields.items() if not field.is_required()
}
if (
    any(f.alias or f.validation_alias or f.default_factory for f in Job.model_fields.values())
    or Job.__private_attributes__
    or Job.__pydantic_post_init__
):
    raise TypeError("constructed_job mirrors Job.model_construct only for plain fields")
_set = object.__setattr__


def constructed_job(values: dict[str, Any]) -> Job:
    """A Job from known-good values (every required field, any optional ones), without validation."""
    job = Job.__new__(Job)
    _set(job, "__dict__", {**_JOB_DEFAULTS, **values})
    _set(job, "__pydantic_fields_set__", set(values))
    _set(job, "__pydantic_extra__", None)
    _set(job, "__pydantic_private__", None)
    return job


class BudgetStatus(BaseModel):
    """A user's money in the current period."""

    model_config = ConfigDict(frozen=True)

    user_id: str
    period: str
    limit_micros: int
    spent_micros: int
    reserved_micros: int
    own_budget: bool  # False when the default applies
    frozen: bool
    resets_at: float | None  # epoch seconds, None for the `total` period

    @property
    def remaining_micros(self) -> int:
        """What the user may still reserve this period (never negative)."""
        return max(0, self.limit_micros - self.spent_micros - self.reserved_micros)


class UserUsage(BaseModel):
    """One row of `/video-admin usage`."""

    model_config = ConfigDict(frozen=True)

    user_id: str
    jobs: int
    seconds: int
    spent_micros: int
    reserved_micros: int
    limit_micros: int
    policy_refusals: int = 0  # prompts refused by the content policy this period
    overage_micros: int = 0  # billed by the gateway beyond reservations, not charged to the user


class WorkspaceStatus(BaseModel):
    """The whole workspace's money in the current period."""

    model_config = ConfigDict(frozen=True)

    period: str
    cap_micros: int | None
    spent_micros: int
    reserved_micros: int
    default_budget_micros: int


class AdminAction(BaseModel):
    """One entry of the admin audit log: who changed what, when, from what to what."""

    model_config = ConfigDict(frozen=True)

    seq: int  # order of the actions
    at: float  # epoch seconds
    actor: str  # a Slack user ID, or `shell:<name>` for `videobot admin`
    action: str  # budget | budget default | cap | freeze | unfreeze | block add | block remove
    target: str  # a user ID, a term, or `workspace`
    old_value: str
    new_value: str
