"""The fair queue: which new job waits, and which waiting jobs start when slots free up.

A job runs at once only when its user is below `max_inflight_per_user`, the workspace below
`max_inflight`, and nobody who could start is waiting before it; otherwise it is stored QUEUED with its
money reserved. `start_queued` fills free slots in round-robin order across users (the user whose last
start is oldest goes first) and oldest first per user, so one user's burst never starves the others.
Every decision runs in the ledger's serialized transaction, so replicas never exceed the limits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from storage.api import LedgerConfig, RefusalReason
from storage.db import Database, Row, Tx, placeholders
from storage.jobs import job_from_row
from storage.models import Job, JobState
from storage.states import check_transition

QUEUED = JobState.QUEUED.value
_RUNNING = "money_state = 'reserved' AND state <> 'queued'"
# Two columns of the ledger's reservation snapshot (one `?`: the per-user in-flight limit): jobs holding
# a slot, and queued jobs whose user is below their own limit (they take the next free slots).
WORKSPACE_QUEUE = (
    f"(SELECT COUNT(*) FROM jobs WHERE {_RUNNING}) AS ws_running,"
    " (SELECT COUNT(*) FROM jobs q WHERE q.state = 'queued' AND (SELECT COUNT(*) FROM jobs r"
    " WHERE r.user_id = q.user_id AND r.money_state = 'reserved' AND r.state <> 'queued') < ?) AS ws_waiting"
)


def initial_state(row: Row, inflight: int, config: LedgerConfig) -> JobState | RefusalReason:
    """ACCEPTED (a slot is free), QUEUED, or why it cannot even be queued, from a snapshot row."""
    queued = int(row["queued"])
    busy = int(row["ws_running"]) + int(row["ws_waiting"])
    if inflight < config.max_inflight_per_user and queued == 0 and busy < config.max_inflight:
        return JobState.ACCEPTED
    if queued < config.max_queued_per_user:
        return JobState.QUEUED
    return "inflight" if config.max_queued_per_user == 0 else "queue_full"


def fair_order(queued: Sequence[Row], last_start: Mapping[str, float | None]) -> list[Row]:
    """Queued rows (oldest first) in the order they start: round-robin across users, the user whose
    last start is oldest (or who never started) first; oldest first within each user."""
    per_user: dict[str, list[Row]] = {}
    for row in queued:
        per_user.setdefault(str(row["user_id"]), []).append(row)

    def turn(user: str) -> tuple[float, float, str]:
        last = last_start.get(user)
        return (float("-inf") if last is None else last, float(per_user[user][0]["created_at"]), user)

    users = sorted(per_user, key=turn)
    order = {user: index for index, user in enumerate(users)}
    ranked = [(rank, order[user], row) for user, rows in per_user.items() for rank, row in enumerate(rows)]
    return [row for _, _, row in sorted(ranked, key=lambda item: (item[0], item[1]))]


def pick(order: Iterable[Row], running: Mapping[str, int], per_user: int, free: int) -> list[str]:
    """Ids of the jobs to start: in fair order, skipping users at their limit, up to `free` slots."""
    taken: dict[str, int] = {}
    chosen: list[str] = []
    for row in order:
        if len(chosen) >= free:
            break
        user = str(row["user_id"])
        if running.get(user, 0) + taken.get(user, 0) >= per_user:
            continue
        taken[user] = taken.get(user, 0) + 1
        chosen.append(str(row["id"]))
    return chosen


async def _queue_view(tx: Tx) -> tuple[list[Row], dict[str, float | None]]:
    """Queued jobs (oldest first) and the last start of each of their users."""
    queued = await tx.fetchall(
        "SELECT id, user_id, created_at FROM jobs WHERE state = ? ORDER BY created_at, id", QUEUED
    )
    users = sorted({str(r["user_id"]) for r in queued})
    if not users:
        return [], {}
    rows = await tx.fetchall(
        f"SELECT user_id, MAX(started_at) AS last FROM jobs WHERE user_id IN ({placeholders(len(users))})"
        " GROUP BY user_id",
        *users,
    )
    return queued, {str(r["user_id"]): (None if r["last"] is None else float(r["last"])) for r in rows}


class Queue:
    """Starting queued jobs and telling their place; shared by every replica through the database."""

    _db: Database
    _clock: Callable[[], float]
    config: LedgerConfig

    async def start_queued(self, owner: str, lease_s: float) -> list[Job]:
        """Move the queued jobs that fit the free slots to ACCEPTED, in fair order; returns them.

        A job whose owner's lease is live stays with that replica (it starts it at its next lease
        round); an orphaned one becomes `owner`'s.
        """
        check_transition([JobState.QUEUED], JobState.ACCEPTED)
        config = self.config
        # The usual answer is "nobody waits": found without taking the ledger's write lock.
        if not await self._db.fetch_statement("SELECT id FROM jobs WHERE state = ? LIMIT 1", QUEUED):
            return []
        async with self._db.transaction(serialize=True) as tx:
            now = self._clock()
            queued, last = await _queue_view(tx)
            if not queued:
                return []
            rows = await tx.fetchall(
                f"SELECT user_id, COUNT(*) AS n FROM jobs WHERE {_RUNNING} GROUP BY user_id"
            )
            running = {str(r["user_id"]): int(r["n"]) for r in rows}
            free = config.max_inflight - sum(running.values())
            chosen = pick(fair_order(queued, last), running, config.max_inflight_per_user, free)
            if not chosen:
                return []
            orphan = "owner IS NULL OR lease_until IS NULL OR lease_until < ?"
            update = (
                "UPDATE jobs SET state = ?, started_at = ?, deadline_at = ?, updated_at = ?,"
                f" owner = CASE WHEN {orphan} THEN ? ELSE owner END,"
                f" lease_until = CASE WHEN {orphan} THEN ? ELSE lease_until END"
                " WHERE id = ? AND state = ?"
            )
            for index, job_id in enumerate(chosen):
                # 10 µs apart (a few float steps at epoch scale), so the start order stays exact.
                started = now + index * 1e-5
                lease = (now, owner, now, now + lease_s)
                deadline = now + config.job_timeout_s  # the time limit counts from the start
                await tx.execute(
                    update, JobState.ACCEPTED.value, started, deadline, now, *lease, job_id, QUEUED
                )
            rows = await tx.fetchall(f"SELECT * FROM jobs WHERE id IN ({placeholders(len(chosen))})", *chosen)
        by_id = {str(r["id"]): job_from_row(r) for r in rows}
        return [by_id[job_id] for job_id in chosen if job_id in by_id]

    async def queue_ahead(self) -> dict[str, int]:
        """For every queued job, how many queued jobs start before it."""
        async with self._db.transaction() as tx:
            queued, last = await _queue_view(tx)
        return {str(row["id"]): index for index, row in enumerate(fair_order(queued, last))}
