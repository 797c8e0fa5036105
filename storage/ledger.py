"""Where money moves: reservations, charges and releases, budgets, caps, usage and the audit."""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import Any, TypeVar

from storage.api import Audited, LedgerConfig, NewJob
from storage.audit_log import insert_admin_action
from storage.billing import BILLED_SECONDS_SQL, cost_micros, split_charge
from storage.db import Database, Row, Tx, Writes
from storage.errors import Duplicate, RefusalReason, Refused, Repeated
from storage.jobs import JOB_COLUMNS, job_from_row
from storage.models import (
    BudgetStatus,
    Job,
    JobState,
    MoneyState,
    UserUsage,
    WorkspaceStatus,
    constructed_job,
)
from storage.periods import period_key, resets_at
from storage.queue import WORKSPACE_QUEUE, initial_state
from storage.requests import CLAIM_AFRESH, MAX_KEY_CHARS, REQUEST_TTL_S, SEEN_COLUMN
from storage.turns import queued_turn

RESERVED = MoneyState.RESERVED.value
CHARGED = MoneyState.CHARGED.value
RELEASED = MoneyState.RELEASED.value
_INSERT_JOB = f"INSERT INTO jobs ({', '.join(JOB_COLUMNS)}) VALUES ({', '.join('?' * len(JOB_COLUMNS))})"
# One statement, so spent and reserved come from one snapshot even while a settle commits.
_USER_MONEY = (
    "SELECT"
    " COALESCE(SUM(CASE WHEN money_state = ? AND period = ? THEN charged_micros ELSE 0 END), 0) AS spent,"
    " COALESCE(SUM(CASE WHEN money_state = ? THEN estimate_micros ELSE 0 END), 0) AS reserved,"
    " COALESCE(SUM(CASE WHEN money_state = ? AND state <> 'queued' THEN 1 ELSE 0 END), 0) AS inflight,"
    " COALESCE(SUM(CASE WHEN state = 'queued' THEN 1 ELSE 0 END), 0) AS queued,"
    " MAX(started_at) AS last_start"  # their turn in the queue (storage.turns)
    " FROM jobs WHERE user_id = ?"
)
_WORKSPACE_MONEY = (
    "SELECT"
    " COALESCE(SUM(CASE WHEN money_state = ? AND period = ? THEN charged_micros ELSE 0 END), 0) AS spent,"
    " COALESCE(SUM(CASE WHEN money_state = ? THEN estimate_micros ELSE 0 END), 0) AS reserved"
    " FROM jobs WHERE money_state = ? OR period = ?"
)
_USAGE = (
    "SELECT user_id,"
    " COALESCE(SUM(CASE WHEN period = ? THEN 1 ELSE 0 END), 0) AS jobs,"
    " COALESCE(SUM(CASE WHEN period = ? AND money_state = ?"
    f" THEN {BILLED_SECONDS_SQL} ELSE 0 END), 0) AS seconds,"
    " COALESCE(SUM(CASE WHEN period = ? AND money_state = ? THEN charged_micros ELSE 0 END), 0) AS spent,"
    " COALESCE(SUM(CASE WHEN money_state = ? THEN estimate_micros ELSE 0 END), 0) AS reserved,"
    " COALESCE(SUM(CASE WHEN period = ? AND money_state = ? THEN overage_micros ELSE 0 END), 0) AS overage"
    " FROM jobs WHERE period = ? OR money_state = ? GROUP BY user_id"
)


# Everything a reservation decides on, in one statement (one round trip, one consistent read).
# The workspace totals scan the whole period, so they are only read when a cap makes them matter.
_CAP = "(SELECT micros FROM workspace_settings WHERE key = 'cap')"
_STATUS_COLUMNS = (
    "u.spent, u.reserved, u.inflight, u.queued, u.last_start,"
    " (SELECT micros FROM budgets WHERE user_id = ?) AS own,"
    " (SELECT 1 FROM frozen_users WHERE user_id = ?) AS frozen,"
    " (SELECT micros FROM workspace_settings WHERE key = 'default_budget') AS default_override,"
    f" {_CAP} AS cap,"
    f" CASE WHEN {_CAP} IS NULL THEN NULL"
    f" ELSE (SELECT w.spent || ':' || w.reserved FROM ({_WORKSPACE_MONEY}) AS w) END AS workspace"
)
# A user's status alone (their budget answer, a delivery's last line): without the workspace's slots,
# which count every running job. A reservation's snapshot adds them around it (`_snapshot_args`).
_STATUS_SNAPSHOT = f"SELECT {_STATUS_COLUMNS} FROM ({_USER_MONEY}) AS u"
_SNAPSHOT = f"SELECT s.*, {WORKSPACE_QUEUE} FROM ({_STATUS_SNAPSHOT}) AS s"

# A reservation also reads whether its job id is taken (a resent event whose job is stored already).
_RESERVE_SNAPSHOT = f"SELECT s.*, (SELECT 1 FROM jobs WHERE id = ?) AS taken FROM ({_SNAPSHOT}) AS s"
# ... and, for a request taken in the same transaction (the /video fast lane), whether it was taken.
_RESERVE_CLAIMING = (
    f"SELECT s.*, (SELECT 1 FROM jobs WHERE id = ?) AS taken, {SEEN_COLUMN} AS seen FROM ({_SNAPSHOT}) AS s"
)


# The Job fields stored as their enum's value.
_ENUM_COLUMNS = frozenset(
    name
    for name, f in Job.model_fields.items()
    if isinstance(f.annotation, type) and issubclass(f.annotation, Enum)
)


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


T = TypeVar("T")


async def _record(tx: Tx, audit: Audited[T], old: T, now: float) -> None:
    """`audit`'s entry, inside the (serialized) transaction of the change it describes."""
    await insert_admin_action(
        tx,
        at=now,
        actor=audit.actor,
        action=audit.action,
        target=audit.target,
        old=audit.old(old),
        new=audit.new,
    )


async def _setting(tx: Tx, key: str) -> int | None:
    value = await tx.fetchval("SELECT micros FROM workspace_settings WHERE key = ?", key)
    return None if value is None else int(value)


async def charge_reservation(tx: Tx, job_id: str, billed_seconds: int, now: float) -> bool:
    """Turn a held reservation into a charge; False (nothing changed) when it is no longer held."""
    if billed_seconds < 0:
        raise ValueError("billed seconds cannot be negative")
    held = "WHERE id = ? AND money_state = ?"
    row = await tx.fetchone(f"SELECT price_micros, estimate_micros FROM jobs {held}", job_id, RESERVED)
    if row is None:
        return False
    # The gateway's answer is untrusted: a result longer than asked never costs the user more than
    # the reservation (so no budget is overspent); the excess is recorded as the job's overage.
    charge, overage = split_charge(billed_seconds, int(row["price_micros"]), int(row["estimate_micros"]))
    changed = await tx.execute(
        f"UPDATE jobs SET money_state = ?, charged_micros = ?, overage_micros = ?, updated_at = ? {held}",
        CHARGED,
        charge,
        overage,
        now,
        job_id,
        RESERVED,
    )
    return changed == 1


async def release_reservation(tx: Tx, job_id: str, now: float) -> bool:
    """Release a held reservation; False (nothing changed) when it is no longer held."""
    changed = await tx.execute(
        "UPDATE jobs SET money_state = ?, charged_micros = 0, updated_at = ?"
        " WHERE id = ? AND money_state = ?",
        RELEASED,
        now,
        job_id,
        RESERVED,
    )
    return changed == 1


class Ledger:
    """Every micro-dollar: checked and reserved in one serialized transaction, settled exactly once."""

    _db: Database
    _clock: Callable[[], float]
    config: LedgerConfig

    def _period(self, now: float) -> str:
        return period_key(self.config.period, now)

    async def _default_budget(self, tx: Tx) -> int:
        override = await _setting(tx, "default_budget")
        return self.config.default_budget_micros if override is None else override

    def _status_args(self, user_id: str, period: str) -> tuple[Any, ...]:
        return (
            user_id,
            user_id,
            CHARGED,
            period,
            RESERVED,
            RESERVED,
            period,
            CHARGED,
            period,
            RESERVED,
            RESERVED,
            user_id,
        )

    def _snapshot_args(self, user_id: str, period: str) -> tuple[Any, ...]:
        queue = (self.config.max_inflight, self.config.max_inflight_per_user)  # WORKSPACE_QUEUE's, first
        return (*queue, *self._status_args(user_id, period))

    def _statuses(self, row: Row, user_id: str, now: float) -> tuple[BudgetStatus, int, WorkspaceStatus]:
        """Read a `_SNAPSHOT` (or `_STATUS_SNAPSHOT`) row: the user's status, their jobs in flight, the
        workspace's status."""
        period = self._period(now)
        w_spent, _, w_reserved = str(row["workspace"] or "0:0").partition(":")
        override = row["default_override"]
        default = self.config.default_budget_micros if override is None else int(override)
        own = row["own"]
        status = BudgetStatus(
            user_id=user_id,
            period=period,
            limit_micros=int(own) if own is not None else default,
            spent_micros=int(row["spent"]),
            reserved_micros=int(row["reserved"]),
            own_budget=own is not None,
            frozen=row["frozen"] is not None,
            resets_at=resets_at(self.config.period, now),
        )
        workspace = WorkspaceStatus(
            period=period,
            cap_micros=None if row["cap"] is None else int(row["cap"]),
            spent_micros=int(w_spent),
            reserved_micros=int(w_reserved),
            default_budget_micros=default,
        )
        return status, int(row["inflight"]), workspace

    async def _workspace_status(self, tx: Tx, now: float) -> WorkspaceStatus:
        period = self._period(now)
        money = await tx.fetchone(_WORKSPACE_MONEY, CHARGED, period, RESERVED, RESERVED, period)
        assert money is not None
        return WorkspaceStatus(
            period=period,
            cap_micros=await _setting(tx, "cap"),
            spent_micros=int(money["spent"]),
            reserved_micros=int(money["reserved"]),
            default_budget_micros=await self._default_budget(tx),
        )

    async def reserve_with_status(
        self, new: NewJob, *, owner: str, lease_s: float, request_key: str | None = None
    ) -> tuple[Job, BudgetStatus]:
        """Check frozen / in-flight / budget / cap and store the job with its reservation, atomically;
        returns it with the user's budget status, this reservation counted.

        With `request_key`, the Slack request is claimed in the same transaction (accepted or refused):
        a request taken before raises Repeated with its first answer and changes nothing."""
        if new.duration <= 0 or new.price_micros < 0:
            raise ValueError("a job needs a positive duration and a non-negative price")
        now = self._clock()
        key = None if request_key is None else request_key[:MAX_KEY_CHARS]
        claim: Writes = [] if key is None else [(CLAIM_AFRESH, (key, now))]

        def decide(row: Row) -> tuple[tuple[Job, BudgetStatus] | Refused, Writes]:
            if key is not None and row["seen"] is not None:
                raise Repeated(key, row["seen"] or None)
            if row["taken"] is not None:
                # Read in the same serialized transaction: of two replicas handed one request, one stores it.
                raise Duplicate(new.id)
            try:
                job, status = self._decide(row, new, now, owner, lease_s)
            except Refused as refused:
                return refused, claim  # a refused request is taken too: its replay must not start a job
            writes: Writes = [(_INSERT_JOB, self._job_values(job)), *claim]
            if job.state is JobState.QUEUED:  # the user's turn in the queue (storage.turns)
                writes.append(queued_turn(job.user_id, row["last_start"], now))
            return (job, status), writes

        # Snapshot, decision and insert in one serialized transaction (on SQLite, one trip to its
        # thread, shared with the reservations arriving meanwhile): acks wait on this.
        args: tuple[Any, ...] = (new.id, *self._snapshot_args(new.user_id, self._period(now)))
        if key is None:
            query = _RESERVE_SNAPSHOT
        else:
            query = _RESERVE_CLAIMING
            args = (new.id, key, now - REQUEST_TTL_S, *args[1:])
        outcome = await self._db.decide_and_write(query, args, decide)
        if isinstance(outcome, Refused):
            raise outcome
        return outcome

    @staticmethod
    def _job_values(job: Job) -> list[Any]:
        """The job as the row to insert (what `model_dump(mode="json")` gives, without its cost)."""
        values = job.__dict__
        return [_plain(values[name]) if name in _ENUM_COLUMNS else values[name] for name in JOB_COLUMNS]

    def _decide(
        self, row: Row, new: NewJob, now: float, owner: str, lease_s: float
    ) -> tuple[Job, BudgetStatus]:
        """The reservation decision on a snapshot: the job to store, or Refused (nothing stored)."""
        estimate = cost_micros(new.duration, new.price_micros)
        status, inflight, workspace = self._statuses(row, new.user_id, now)
        reason: RefusalReason | None = None
        state = initial_state(row, inflight, self.config)
        if status.frozen:
            reason = "frozen"
        elif not isinstance(state, JobState):
            reason = state
        elif status.spent_micros + status.reserved_micros + estimate > status.limit_micros:
            reason = "budget"
        elif (
            workspace.cap_micros is not None
            and workspace.spent_micros + workspace.reserved_micros + estimate > workspace.cap_micros
        ):
            reason = "cap"
        if reason is not None or not isinstance(state, JobState):
            raise Refused(reason or "inflight", status, workspace, estimate)
        # Built from values this function made and checked: no validation pass (an ack waits on this).
        job = constructed_job(
            dict(
                id=new.id,
                team_id=new.team_id,
                user_id=new.user_id,
                channel_id=new.channel_id,
                response_url=new.response_url,
                delivery_channel=new.channel_id if new.thread_ts else None,
                parent_ts=new.thread_ts,
                prompt=new.prompt,
                duration=new.duration,
                aspect_ratio=new.aspect_ratio,
                model=new.model,
                price_micros=new.price_micros,
                estimate_micros=estimate,
                period=status.period,
                state=state,
                started_at=now if state is JobState.ACCEPTED else None,
                money_state=MoneyState.RESERVED,
                created_at=now,
                updated_at=now,
                deadline_at=now + self.config.job_timeout_s,
                owner=owner,
                lease_until=now + lease_s,
                origin=new.origin,
                thread_ts=new.thread_ts,
            )
        )
        return job, status.model_copy(update={"reserved_micros": status.reserved_micros + estimate})

    async def budget_status(self, user_id: str) -> BudgetStatus:
        """A user's limit, spend and reservations in the current period (one statement: a quick read)."""
        now = self._clock()
        args = self._status_args(user_id, self._period(now))
        [row] = await self._db.fetch_statement(_STATUS_SNAPSHOT, *args)  # aggregates: always one row
        status, _, _ = self._statuses(row, user_id, now)
        return status

    async def workspace_status(self) -> WorkspaceStatus:
        """The workspace's cap, spend, reservations and effective default budget."""
        async with self._db.transaction() as tx:
            return await self._workspace_status(tx, self._clock())

    async def capped_workspace_status(self) -> WorkspaceStatus | None:
        """`workspace_status` when a cap is set; None without one, having read only that (the totals
        scan the whole period: after every delivery, that is what a workspace without a cap skips).
        The cap is read first as a statement of its own: a short read on the event loop's thread,
        where a transaction would take the store's lock for three trips to the connection's thread."""
        [row] = await self._db.fetch_statement(f"SELECT {_CAP} AS cap")  # always one row
        if row["cap"] is None:
            return None
        return await self.workspace_status()

    async def set_user_budget(
        self, user_id: str, micros: int, audit: Audited[tuple[int, bool]] | None = None
    ) -> None:
        """Give a user their own budget per period; with `audit`, recorded in the same transaction."""
        if micros < 0:
            raise ValueError("a budget cannot be negative")
        async with self._db.transaction(serialize=audit is not None) as tx:
            if audit is not None:
                own = await tx.fetchval("SELECT micros FROM budgets WHERE user_id = ?", user_id)
                old = (int(own), True) if own is not None else (await self._default_budget(tx), False)
                await _record(tx, audit, old, self._clock())
            await tx.execute(
                "INSERT INTO budgets (user_id, micros, updated_at) VALUES (?, ?, ?) ON CONFLICT (user_id)"
                " DO UPDATE SET micros = excluded.micros, updated_at = excluded.updated_at",
                user_id,
                micros,
                self._clock(),
            )

    async def _set_setting(
        self, key: str, micros: int | None, audit: Audited[Any] | None, shown: Callable[[int | None], Any]
    ) -> None:
        """Set or clear a workspace setting; with `audit`, recorded in the same transaction, the value
        replaced passed through `shown` (the stored value, None when unset)."""
        if micros is not None and micros < 0:
            raise ValueError(f"{key} cannot be negative")
        async with self._db.transaction(serialize=audit is not None) as tx:
            if audit is not None:
                await _record(tx, audit, shown(await _setting(tx, key)), self._clock())
            if micros is None:
                await tx.execute("DELETE FROM workspace_settings WHERE key = ?", key)
                return
            await tx.execute(
                "INSERT INTO workspace_settings (key, micros, updated_at) VALUES (?, ?, ?) ON CONFLICT (key)"
                " DO UPDATE SET micros = excluded.micros, updated_at = excluded.updated_at",
                key,
                micros,
                self._clock(),
            )

    async def set_default_budget(self, micros: int | None, audit: Audited[int] | None = None) -> None:
        """Set the budget of users without their own; None goes back to the configured default."""
        default = self.config.default_budget_micros
        await self._set_setting("default_budget", micros, audit, lambda v: default if v is None else v)

    async def set_cap(self, micros: int | None, audit: Audited[int | None] | None = None) -> None:
        """Set the workspace-wide cap per period; None means no cap."""
        await self._set_setting("cap", micros, audit, lambda v: v)

    async def set_frozen(self, user_id: str, frozen: bool, audit: Audited[bool] | None = None) -> bool:
        """Freeze or unfreeze a user; True when this changed anything. With `audit`, recorded in the
        same transaction (the old value: whether the user was frozen)."""
        async with self._db.transaction(serialize=audit is not None) as tx:
            if frozen:
                changed = await tx.execute(
                    "INSERT INTO frozen_users (user_id, frozen_at) VALUES (?, ?)"
                    " ON CONFLICT (user_id) DO NOTHING",
                    user_id,
                    self._clock(),
                )
            else:
                changed = await tx.execute("DELETE FROM frozen_users WHERE user_id = ?", user_id)
            if audit is not None:
                await _record(tx, audit, frozen != (changed == 1), self._clock())
        return changed == 1

    async def usage(self) -> list[UserUsage]:
        """This period's spend per user (users with jobs this period or money reserved), largest first."""
        async with self._db.transaction() as tx:
            p = self._period(self._clock())
            rows = await tx.fetchall(_USAGE, p, p, CHARGED, p, CHARGED, RESERVED, p, CHARGED, p, RESERVED)
            budgets = {
                r["user_id"]: int(r["micros"])
                for r in await tx.fetchall("SELECT user_id, micros FROM budgets")
            }
            default = await self._default_budget(tx)
            refusals = {
                r["user_id"]: int(r["refusals"])
                for r in await tx.fetchall(
                    "SELECT user_id, refusals FROM policy_refusals WHERE period = ?", p
                )
            }
        # Users whose only activity this period was refused prompts are listed too.
        blank = {"jobs": 0, "seconds": 0, "spent": 0, "reserved": 0, "overage": 0}
        rows += [{"user_id": user, **blank} for user in refusals.keys() - {r["user_id"] for r in rows}]
        result = [
            UserUsage(
                user_id=r["user_id"],
                jobs=int(r["jobs"]),
                seconds=int(r["seconds"]),
                spent_micros=int(r["spent"]),
                reserved_micros=int(r["reserved"]),
                limit_micros=budgets.get(r["user_id"], default),
                policy_refusals=refusals.get(r["user_id"], 0),
                overage_micros=int(r["overage"]),
            )
            for r in rows
        ]
        result.sort(key=lambda u: (-u.spent_micros, -u.reserved_micros, u.user_id))
        return result

    async def user_jobs(self, user_id: str, limit: int = 10, *, this_period: bool = False) -> list[Job]:
        """A user's most recent jobs, newest first."""
        sql, args = "SELECT * FROM jobs WHERE user_id = ?", [user_id]
        if this_period:
            sql += " AND period = ?"
            args.append(self._period(self._clock()))
        async with self._db.transaction() as tx:
            rows = await tx.fetchall(sql + " ORDER BY created_at DESC, id DESC LIMIT ?", *args, limit)
        return [job_from_row(r) for r in rows]

    async def period_jobs(self) -> list[Job]:
        """Every job counted in the current period, oldest first (for export)."""
        async with self._db.transaction() as tx:
            rows = await tx.fetchall(
                "SELECT * FROM jobs WHERE period = ? ORDER BY created_at, id", self._period(self._clock())
            )
        return [job_from_row(r) for r in rows]

    async def claim_alert(self, key: str) -> bool:
        """Record that alert `key` was sent this period; True only the first time."""
        now = self._clock()
        async with self._db.transaction() as tx:
            inserted = await tx.execute(
                "INSERT INTO alerts_sent (key, period, sent_at) VALUES (?, ?, ?)"
                " ON CONFLICT (key, period) DO NOTHING",
                key,
                self._period(now),
                now,
            )
        return inserted == 1
