"""The storage interface callers use; backends (SQLite, PostgreSQL) implement it without callers noticing.

This file is the contract. `storage.open_store(url, config)` returns a `Store`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, Protocol, TypeVar

from storage.models import AdminAction, BudgetStatus, Job, JobState, UserUsage, WorkspaceStatus
from storage.requests import RequestClaim

PeriodKind = Literal["day", "week", "month", "total"]


@dataclass(frozen=True)
class LedgerConfig:
    """Settings the ledger needs, taken from `bot.settings.Settings` once."""

    default_budget_micros: int  # used when no `budget default` was set by an admin
    period: PeriodKind
    max_inflight_per_user: int
    job_timeout_s: int
    clock: Callable[[], float]  # epoch seconds; tests pass a fixed clock
    max_inflight: int = 50  # jobs running at once in the workspace; more wait in the queue
    max_queued_per_user: int = 10  # a user's queued jobs; 0 refuses instead of queueing


@dataclass(frozen=True)
class NewJob:
    """What a handler knows when it asks for a reservation."""

    id: str
    team_id: str
    user_id: str
    channel_id: str
    prompt: str
    duration: int
    aspect_ratio: str
    model: str
    price_micros: int
    response_url: str | None = None
    origin: str = "command"
    # Set when the video answers in a thread that already exists (a mention, a message shortcut):
    # the job is stored with that thread as its delivery place, so no parent message is posted.
    thread_ts: str | None = None


T = TypeVar("T")


@dataclass(frozen=True)
class Audited(Generic[T]):
    """An admin change's entry in the audit log, written in the change's own transaction: who did
    what to what, the new value as the log shows it, and how to show the value it replaced (read in
    that transaction, so two admins changing one setting at once each record what they replaced)."""

    actor: str
    action: str
    target: str
    new: str
    old: Callable[[T], str]


class Store(Protocol):
    """Everything the app keeps. All money is integer micro-dollars."""

    dialect: Literal["sqlite", "postgresql"]
    config: LedgerConfig

    async def close(self) -> None:
        """Close every connection."""
        ...

    async def ping(self) -> None:
        """One trivial query: raises when the database does not answer (for /readyz)."""
        ...

    # --- ledger -----------------------------------------------------------------
    async def reserve_with_status(
        self, new: NewJob, *, owner: str, lease_s: float, request_key: str | None = None
    ) -> tuple[Job, BudgetStatus]:
        """Atomically check frozen / queue / budget / cap and store the job with its reservation;
        returns it with the user's budget status, this reservation counted.

        Raises Refused (nothing stored) when it does not fit, Duplicate when `new.id` is taken. The job
        starts ACCEPTED when a slot is free (its user and the workspace below their in-flight limits,
        nobody waiting before it), else QUEUED; money RESERVED either way, owned by `owner` with a lease
        of `lease_s` seconds.

        With `request_key` the Slack request is claimed in the same transaction (see `claim_request`),
        whether the job fits or not; a request taken before raises Repeated with its first answer.
        """
        ...

    async def budget_status(self, user_id: str) -> BudgetStatus:
        """A user's limit, spend and reservations in the current period."""
        ...

    async def workspace_status(self) -> WorkspaceStatus:
        """The workspace's cap, spend, reservations and effective default budget."""
        ...

    async def capped_workspace_status(self) -> WorkspaceStatus | None:
        """`workspace_status` when a cap is set, else None (without reading the period's totals)."""
        ...

    async def set_user_budget(
        self, user_id: str, micros: int, audit: Audited[tuple[int, bool]] | None = None
    ) -> None:
        """Give a user their own budget per period (`audit`'s old value: their limit until now, and
        whether it was their own rather than the default)."""
        ...

    async def set_default_budget(self, micros: int | None, audit: Audited[int] | None = None) -> None:
        """None goes back to the configured default (`audit`'s old value: the default until now)."""
        ...

    async def set_cap(self, micros: int | None, audit: Audited[int | None] | None = None) -> None:
        """None means no workspace cap (`audit`'s old value: the cap until now, None for none)."""
        ...

    async def set_frozen(self, user_id: str, frozen: bool, audit: Audited[bool] | None = None) -> bool:
        """True when this changed anything (`audit`'s old value: whether the user was frozen)."""
        ...

    async def usage(self) -> list[UserUsage]:
        """This period's spend per user, largest first."""
        ...

    async def user_jobs(self, user_id: str, limit: int = 10, *, this_period: bool = False) -> list[Job]:
        """A user's most recent jobs, newest first."""
        ...

    async def period_jobs(self) -> list[Job]:
        """Every job of the current period, oldest first (for export)."""
        ...

    async def claim_alert(self, key: str) -> bool:
        """Record that alert `key` was sent this period; True only the first time."""
        ...

    # --- request idempotency (storage.requests) -----------------------------------
    async def claim_request(self, key: str, now: float | None = None) -> RequestClaim:
        """Take request `key` (`command:<trigger_id>`, `action:…`, `view:…`, `event:<event_id>`) once:
        `first=True` for the first caller only, across restarts and replicas; a repeat gets
        `first=False` and the answer the first caller recorded (None while it is still working)."""
        ...

    async def record_answer(self, key: str, answer: str) -> None:
        """Keep the answer given to request `key` so repeats get it again."""
        ...

    async def record_answers(self, answers: Sequence[tuple[str, str]]) -> None:
        """`record_answer` for several (key, answer) pairs, in one transaction."""
        ...

    # --- jobs -------------------------------------------------------------------
    async def get_job(self, job_id: str) -> Job | None:
        """One job by id, or None."""
        ...

    async def transition(
        self,
        job_id: str,
        to: JobState,
        *,
        expect: Iterable[JobState],
        owner: str | None = None,
        **fields: Any,
    ) -> Job | None:
        """Compare-and-set: move to `to` (and set fields) only if the state is in `expect` (and, when
        given, the job is owned by `owner`). Returns the new job, or None when nothing changed."""
        ...

    async def finish(
        self,
        job_id: str,
        to: JobState,
        *,
        expect: Iterable[JobState],
        owner: str | None = None,
        billed_seconds: int | None = None,
        **fields: Any,
    ) -> Job | None:
        """In ONE transaction: move to a finished state (compare-and-set as `transition`) and settle the
        money: DELIVERED charges billed_seconds x price, at most the reservation, the rest kept as the
        job's overage (billed_seconds required), FAILED / EXPIRED release. A repeat (state no longer
        in `expect`) changes nothing and returns None."""
        ...

    async def update(self, job_id: str, **fields: Any) -> Job | None:
        """Set non-state fields (status_ts, attempts, last_error, ...)."""
        ...

    async def claim(
        self, owner: str, lease_s: float, limit: int = 500, known: Collection[str] = ()
    ) -> list[Job]:
        """Take unfinished jobs whose lease expired (or that `owner` already holds); renew their lease.
        Jobs in `known` (the caller drives them already) are leased but not returned."""
        ...

    async def renew(self, owner: str, lease_s: float) -> int:
        """Extend the lease of every unfinished job `owner` holds; returns how many."""
        ...

    async def drop_leases(self, owner: str) -> None:
        """Let other replicas take `owner`'s jobs at once (graceful shutdown)."""
        ...

    async def taken_by_others(self, owner: str) -> set[str]:
        """Ids of unfinished jobs another replica owns."""
        ...

    async def heartbeat(self, replica_id: str, ttl_s: float) -> int:
        """Record that `replica_id` is alive now; returns how many replicas were seen within `ttl_s`."""
        ...

    # --- generation times -------------------------------------------------------
    async def record_generation_time(self, model: str, duration_s: int, seconds: float, now: float) -> None:
        """Remember how long the gateway took for a `duration_s`-second video of `model`."""
        ...

    async def recent_generation_times(self, model: str, duration_s: int, limit: int) -> list[float]:
        """The last `limit` generation times (seconds) of this model and duration, oldest first."""
        ...

    async def generation_time_estimate(self, model: str, duration_s: int) -> float | None:
        """Moving median of recent generation times (seconds) for that model and duration, else a
        scaled median of the model's other durations, else None."""
        ...

    # --- the queue ----------------------------------------------------------------
    async def start_queued(self, owner: str, lease_s: float) -> list[Job]:
        """Start the queued jobs that fit the free slots (round-robin across users, oldest first per
        user); orphaned ones become `owner`'s. Returns the jobs moved to ACCEPTED."""
        ...

    async def queue_ahead(self) -> dict[str, int]:
        """For every queued job, how many queued jobs start before it."""
        ...

    async def queue_place(self, job_id: str) -> int | None:
        """How many queued jobs start before this one (cheap: aggregates only); None if not queued."""
        ...

    async def cancel(self, job_id: str, by: str) -> Job | None:
        """Cancel a queued or not-yet-submitted job and release its money, once; None otherwise."""
        ...

    # --- content policy and the admin audit log ---------------------------------------------
    async def blocked_terms(self) -> list[str]:
        """Every blocked term (normalized by `bot.policy.normalize`), alphabetically."""
        ...

    async def set_blocked(self, term: str, blocked: bool, *, actor: str) -> bool:
        """Block or allow a normalized term, recording the admin action in the same transaction;
        True when this changed anything."""
        ...

    async def count_policy_refusal(self, user_id: str) -> None:
        """Count one prompt refused by the content policy, this period."""
        ...

    async def policy_refusals(self) -> dict[str, int]:
        """Prompts refused by the content policy this period, per user."""
        ...

    async def admin_actions(self, limit: int | None = 20) -> list[AdminAction]:
        """The most recent admin actions, newest first (all when `limit` is None)."""
        ...
