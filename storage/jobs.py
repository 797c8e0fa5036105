"""Job records: compare-and-set transitions (checked against `storage.states`), field updates and
replica leases."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from enum import Enum
from typing import Any

from storage.db import Database, Row, Tx, placeholders
from storage.models import UNFINISHED_STATES, Job, JobState
from storage.states import check_transition
from storage.turns import after_transition

JOB_COLUMNS: tuple[str, ...] = tuple(Job.model_fields)
# Money and identity move only through the ledger (reserve/settle/release), never through field updates.
_PROTECTED = frozenset(
    {"id", "state", "money_state", "charged_micros", "overage_micros", "estimate_micros", "updated_at"}
)
UPDATABLE_FIELDS: frozenset[str] = frozenset(JOB_COLUMNS) - _PROTECTED
_UNFINISHED = tuple(s.value for s in UNFINISHED_STATES)
_UNFINISHED_SQL = f"state IN ({placeholders(len(_UNFINISHED))})"


def job_from_row(row: Row) -> Job:
    """Build a Job from a `jobs` row."""
    return Job.model_validate(row)


def _value(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def _assignments(fields: dict[str, Any]) -> tuple[str, list[Any]]:
    """`a = ?, b = ?` for known, updatable Job fields; refuses anything else before it reaches SQL."""
    unknown = sorted(set(fields) - UPDATABLE_FIELDS)
    if unknown:
        raise ValueError(f"not updatable job fields: {', '.join(unknown)}")
    names = sorted(fields)
    return "".join(f", {name} = ?" for name in names), [_value(fields[name]) for name in names]


def transition_sql(
    job_id: str,
    to: JobState,
    expect: Iterable[JobState],
    owner: str | None,
    fields: dict[str, Any],
    now: float,
) -> tuple[str, list[Any]]:
    """The guarded UPDATE of a compare-and-set transition and its arguments (checked by the table)."""
    expected = [s.value for s in check_transition(expect, to)]
    sets, values = _assignments(fields)
    sql = (
        f"UPDATE jobs SET state = ?, updated_at = ?{sets}"
        f" WHERE id = ? AND state IN ({placeholders(len(expected))})"
    )
    args: list[Any] = [JobState(to).value, now, *values, job_id, *expected]
    if owner is not None:
        sql += " AND owner = ?"
        args.append(owner)
    return sql, args


def start_queued_sql(
    job_id: str, started: float, deadline: float, now: float, owner: str, lease_until: float
) -> list[tuple[str, list[Any]]]:
    """The statements moving a queued job to ACCEPTED: the guarded transition (started now, its time
    limit counted from the start), then an orphaned job (no live lease) becomes `owner`'s."""
    fields = {"started_at": started, "deadline_at": deadline}
    move = transition_sql(job_id, JobState.ACCEPTED, [JobState.QUEUED], None, fields, now)
    adopt = (
        "UPDATE jobs SET owner = ?, lease_until = ?"
        " WHERE id = ? AND state = 'accepted' AND (owner IS NULL OR lease_until IS NULL OR lease_until < ?)"
    )
    return [move, (adopt, [owner, lease_until, job_id, now])]


async def fetch_job(tx: Tx, job_id: str) -> Job | None:
    """One job by id, inside an open transaction."""
    row = await tx.fetchone("SELECT * FROM jobs WHERE id = ?", job_id)
    return None if row is None else job_from_row(row)


class Jobs:
    """Job records: reads, guarded transitions, leases shared between replicas."""

    _db: Database
    _clock: Callable[[], float]

    async def get_job(self, job_id: str) -> Job | None:
        """One job by id, or None."""
        rows = await self._db.fetch_statement("SELECT * FROM jobs WHERE id = ?", job_id)
        return job_from_row(rows[0]) if rows else None

    async def transition(
        self,
        job_id: str,
        to: JobState,
        *,
        expect: Iterable[JobState],
        owner: str | None = None,
        **fields: Any,
    ) -> Job | None:
        """Compare-and-set the state (and fields); None when the state or owner did not match."""
        if JobState(to).finished:
            raise ValueError("a job is finished only with its money: use finish()")
        expect = list(expect)
        sql, args = transition_sql(job_id, to, expect, owner, fields, self._clock())
        turns = after_transition(job_id, expect, JobState(to))
        if not turns:
            rows = await self._db.fetch_statement(sql + " RETURNING *", *args)
            return job_from_row(rows[0]) if rows else None
        async with self._db.transaction(serialize=True) as tx:  # the user's turn moves with it
            rows = await tx.fetchall(sql + " RETURNING *", *args)
            if rows:
                for refresh, values in turns:
                    await tx.execute(refresh, *values)
        return job_from_row(rows[0]) if rows else None

    async def update(self, job_id: str, **fields: Any) -> Job | None:
        """Set non-state fields; None when there is no such job."""
        sets, values = _assignments(fields)
        rows = await self._db.fetch_statement(
            f"UPDATE jobs SET updated_at = ?{sets} WHERE id = ? RETURNING *", self._clock(), *values, job_id
        )
        return job_from_row(rows[0]) if rows else None

    async def claim(
        self, owner: str, lease_s: float, limit: int = 500, known: Collection[str] = ()
    ) -> list[Job]:
        """Take unfinished jobs that are free (lease expired or never set) or already ours; the jobs in
        `known` (the caller drives them already) are leased but not read back."""
        now = self._clock()
        # PostgreSQL: rows another replica is claiming right now are skipped, not waited for.
        # SQLite: BEGIN IMMEDIATE makes the whole claim exclusive across connections.
        lock = " FOR UPDATE SKIP LOCKED" if self._db.dialect == "postgresql" else ""
        pick = (
            f"SELECT id FROM jobs WHERE {_UNFINISHED_SQL} "
            "AND (owner = ? OR lease_until IS NULL OR lease_until < ?) "
            f"ORDER BY created_at, id LIMIT ?{lock}"
        )
        async with self._db.transaction(serialize=self._db.dialect == "sqlite") as tx:
            ids = [row["id"] for row in await tx.fetchall(pick, *_UNFINISHED, owner, now, limit)]
            if not ids:
                return []
            marks = placeholders(len(ids))
            await tx.execute(
                f"UPDATE jobs SET owner = ?, lease_until = ? WHERE id IN ({marks})",
                owner,
                now + lease_s,
                *ids,
            )
            wanted = [i for i in ids if i not in known]
            if not wanted:
                return []
            rows = await tx.fetchall(
                f"SELECT * FROM jobs WHERE id IN ({placeholders(len(wanted))}) ORDER BY created_at, id",
                *wanted,
            )
        return [job_from_row(row) for row in rows]

    async def renew(self, owner: str, lease_s: float) -> int:
        """Extend the lease of every unfinished job `owner` holds; returns how many."""
        async with self._db.transaction() as tx:
            return await tx.execute(
                f"UPDATE jobs SET lease_until = ? WHERE owner = ? AND {_UNFINISHED_SQL}",
                self._clock() + lease_s,
                owner,
                *_UNFINISHED,
            )

    async def drop_leases(self, owner: str) -> None:
        """Expire `owner`'s leases now so another replica can claim its jobs at once."""
        async with self._db.transaction() as tx:
            await tx.execute(
                f"UPDATE jobs SET lease_until = 0 WHERE owner = ? AND {_UNFINISHED_SQL}", owner, *_UNFINISHED
            )

    async def taken_by_others(self, owner: str) -> set[str]:
        """Ids of unfinished jobs that another replica owns (to stop our tasks for them)."""
        rows = await self._db.fetch_statement(
            f"SELECT id FROM jobs WHERE {_UNFINISHED_SQL} AND owner IS NOT NULL AND owner <> ?",
            *_UNFINISHED,
            owner,
        )
        return {str(row["id"]) for row in rows}

    async def heartbeat(self, replica_id: str, ttl_s: float) -> int:
        """Record that `replica_id` is alive; count the replicas seen within `ttl_s` (itself included)."""
        now = self._clock()
        async with self._db.transaction(short=True) as tx:
            await tx.execute(
                "INSERT INTO replicas (id, seen_at) VALUES (?, ?) "
                "ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at",
                replica_id,
                now,
            )
            live = await tx.fetchval("SELECT COUNT(*) FROM replicas WHERE seen_at >= ?", now - ttl_s)
        return max(1, int(live or 0))
