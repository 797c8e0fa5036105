"""The fair queue: which new job waits, and which waiting jobs start when slots free up.

A job runs at once only when its user is below `max_inflight_per_user`, the workspace below
`max_inflight`, and nobody who could start is waiting before it; otherwise it is stored QUEUED with its
money reserved. `start_queued` fills free slots in round-robin order across users (the user whose last
start is oldest goes first) and oldest first per user, so one user's burst never starves the others.
Every decision runs in the ledger's serialized transaction, so replicas never exceed the limits.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from storage.api import LedgerConfig
from storage.db import Database, Row, placeholders
from storage.errors import RefusalReason
from storage.jobs import job_from_row, start_queued_sql
from storage.models import RUNNING_STATES, Job, JobState

_RUNNING_STATES = ", ".join(f"'{state.value}'" for state in RUNNING_STATES)
# Holding a slot: the same jobs the per-user in-flight count sees (money reserved, not queued).
_RUNNING = f"state IN ({_RUNNING_STATES}) AND money_state = 'reserved'"
# Two columns of the ledger's reservation snapshot (one `?`: the per-user in-flight limit): jobs holding
# a slot, and queued jobs whose user is below their own limit (they take the next free slots).
WORKSPACE_QUEUE = (
    f"(SELECT COUNT(*) FROM jobs WHERE {_RUNNING}) AS ws_running,"
    " (SELECT COUNT(*) FROM jobs WHERE state = 'queued' AND user_id NOT IN"
    f" (SELECT user_id FROM jobs WHERE {_RUNNING} GROUP BY user_id HAVING COUNT(*) >= ?)) AS ws_waiting"
)
# Each user with queued jobs: how many, the oldest, and their last start (their turn in the round-robin).
_TURNS = (
    "SELECT q.user_id, COUNT(*) AS n, MIN(q.created_at) AS oldest,"
    " COALESCE((SELECT MAX(s.started_at) FROM jobs s WHERE s.user_id = q.user_id), -1e18) AS last"
    " FROM jobs q WHERE q.state = 'queued' GROUP BY q.user_id"
)
# How many queued jobs start before job `?` under `fair_order`, in one statement: if r of its user's
# queued jobs are older, every other user's min(n, r) and one more for each other user with more than r
# whose turn comes first, plus r. No row when the job is not queued.
_AHEAD = (
    f"WITH t AS ({_TURNS}),"
    " j AS (SELECT user_id, created_at, id FROM jobs WHERE id = ? AND state = 'queued'),"
    " me AS (SELECT t.user_id, t.last, t.oldest FROM t JOIN j ON t.user_id = j.user_id),"
    " r AS (SELECT COUNT(*) AS n FROM jobs k JOIN j ON k.user_id = j.user_id WHERE k.state = 'queued'"
    " AND (k.created_at < j.created_at OR (k.created_at = j.created_at AND k.id < j.id)))"
    " SELECT r.n + COALESCE(SUM(CASE WHEN o.n IS NULL THEN 0 WHEN o.n < r.n THEN o.n ELSE r.n END), 0)"
    " + COALESCE(SUM(CASE WHEN o.n > r.n AND (o.last < me.last OR (o.last = me.last AND"
    " (o.oldest < me.oldest OR (o.oldest = me.oldest AND o.user_id < me.user_id)))) THEN 1 ELSE 0 END), 0)"
    " AS ahead FROM me CROSS JOIN r LEFT JOIN t AS o ON o.user_id <> me.user_id GROUP BY r.n"
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


def turn_order(turns: Sequence[Row]) -> list[str]:
    """Users with queued jobs (rows of `_TURNS`) in round-robin order: the one whose last start is
    oldest (or who never started) first, then the one waiting longest."""
    ordered = sorted(turns, key=lambda t: (float(t["last"]), float(t["oldest"]), str(t["user_id"])))
    return [str(t["user_id"]) for t in ordered]


def fair_order(queued: Sequence[Row], users: Sequence[str]) -> list[Row]:
    """Queued rows (oldest first) in the order they start: one per user per round, users in `users`
    order (see `turn_order`), oldest first within each user."""
    index = {user: i for i, user in enumerate(users)}
    seen: dict[str, int] = {}
    ranked = []
    for row in queued:
        user = str(row["user_id"])
        ranked.append((seen.get(user, 0), index[user], row))
        seen[user] = seen.get(user, 0) + 1
    return [row for _, _, row in sorted(ranked, key=lambda item: (item[0], item[1]))]


def round_robin(turns: Sequence[Row], running: Mapping[str, int], per_user: int, free: int) -> list[str]:
    """Whose queued jobs start, one entry per job in start order: `fair_order` over `free` slots,
    skipping users at their own limit. Reads only per-user counts, never the whole queue."""
    counts = {str(t["user_id"]): int(t["n"]) for t in turns}
    users = turn_order(turns)
    taken: dict[str, int] = {}
    chosen: list[str] = []
    for rank in range(max(counts.values(), default=0)):
        for user in users:
            if len(chosen) >= free:
                return chosen
            if counts[user] > rank and running.get(user, 0) + taken.get(user, 0) < per_user:
                taken[user] = taken.get(user, 0) + 1
                chosen.append(user)
    return chosen


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
        config = self.config
        # The usual answers, "nobody waits" and "no slot is free", without taking the ledger's write lock.
        # Counting the running jobs only when one waits: with thousands in flight and none queued,
        # this runs after every finished job.
        [peek] = await self._db.fetch_statement(
            "SELECT CASE WHEN w.id IS NULL THEN NULL"
            f" ELSE (SELECT COUNT(*) FROM jobs WHERE {_RUNNING}) END AS running"
            " FROM (SELECT (SELECT id FROM jobs WHERE state = 'queued' LIMIT 1) AS id) AS w"
        )
        if peek["running"] is None or int(peek["running"]) >= config.max_inflight:
            return []
        async with self._db.transaction(serialize=True) as tx:
            now = self._clock()
            rows = await tx.fetchall(
                f"SELECT user_id, COUNT(*) AS n FROM jobs WHERE {_RUNNING} GROUP BY user_id"
            )
            running = {str(r["user_id"]): int(r["n"]) for r in rows}
            free = config.max_inflight - sum(running.values())
            users = round_robin(await tx.fetchall(_TURNS), running, config.max_inflight_per_user, free)
            if not users:
                return []
            oldest: dict[str, list[str]] = {}
            for user in set(users):
                picked = await tx.fetchall(
                    "SELECT id FROM jobs WHERE user_id = ? AND state = 'queued'"
                    " ORDER BY created_at, id LIMIT ?",
                    user,
                    users.count(user),
                )
                oldest[user] = [str(r["id"]) for r in picked]
            chosen = [oldest[user].pop(0) for user in users]
            for index, job_id in enumerate(chosen):
                # 10 µs apart (a few float steps at epoch scale), so the start order stays exact.
                started = now + index * 1e-5
                deadline = now + config.job_timeout_s  # the time limit counts from the start
                for sql, args in start_queued_sql(job_id, started, deadline, now, owner, now + lease_s):
                    await tx.execute(sql, *args)
            rows = await tx.fetchall(f"SELECT * FROM jobs WHERE id IN ({placeholders(len(chosen))})", *chosen)
        by_id = {str(r["id"]): job_from_row(r) for r in rows}
        return [by_id[job_id] for job_id in chosen if job_id in by_id]

    async def queue_place(self, job_id: str) -> int | None:
        """How many queued jobs start before this one (None when it is not queued): one aggregate
        statement, no list of the whole queue, so an ack stays quick however long the queue is."""
        rows = await self._db.fetch_statement(_AHEAD, job_id)
        return int(rows[0]["ahead"]) if rows else None

    async def queue_ahead(self) -> dict[str, int]:
        """For every queued job, how many queued jobs start before it."""
        async with self._db.transaction() as tx:
            turns = await tx.fetchall(_TURNS)
            queued = await tx.fetchall(
                "SELECT id, user_id FROM jobs WHERE state = 'queued' ORDER BY created_at, id"
            )
        return {str(row["id"]): index for index, row in enumerate(fair_order(queued, turn_order(turns)))}
