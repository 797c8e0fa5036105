"""The fair queue: which new job waits, and which waiting jobs start when slots free up.

A job runs at once only when its user is below `max_inflight_per_user`, the workspace below
`max_inflight`, and nobody who could start is waiting before it; otherwise it is stored QUEUED with its
money reserved. `start_queued` fills free slots in round-robin order across users (the user whose last
start is oldest goes first) and oldest first per user, so one user's burst never starves the others.
Every decision runs in the ledger's serialized transaction, so replicas never exceed the limits.
"""

from __future__ import annotations

import asyncio
import bisect
from collections.abc import Callable, Mapping, Sequence

from storage.api import LedgerConfig
from storage.db import Database, Row, placeholders
from storage.errors import RefusalReason
from storage.jobs import job_from_row, start_queued_sql
from storage.models import RUNNING_STATES, Job, JobState
from storage.turns import NEVER_STARTED_SQL, turn_refresh

_RUNNING_STATES = ", ".join(f"'{state.value}'" for state in RUNNING_STATES)
# Holding a slot: the same jobs the per-user in-flight count sees (money reserved, not queued).
_RUNNING = f"state IN ({_RUNNING_STATES}) AND money_state = 'reserved'"
# Two columns of the ledger's reservation snapshot (two `?`: the workspace's in-flight limit, then the
# per-user one): jobs holding a slot, and queued jobs whose user is below their own limit (they take
# the next free slots). The second only matters while slots are free: with the workspace full it is
# not counted (0), so a reservation stays quick however long the queue grows.
_RUNNING_COUNT = f"(SELECT COUNT(*) FROM jobs WHERE {_RUNNING})"
WORKSPACE_QUEUE = (
    f"{_RUNNING_COUNT} AS ws_running,"
    f" CASE WHEN {_RUNNING_COUNT} >= ? THEN 0 ELSE"
    " (SELECT COUNT(*) FROM jobs WHERE state = 'queued' AND user_id NOT IN"
    f" (SELECT user_id FROM jobs WHERE {_RUNNING} GROUP BY user_id HAVING COUNT(*) >= ?)) END AS ws_waiting"
)
# Each user with queued jobs: how many, the oldest, and their last start (their turn in the round-robin).
_TURNS = (
    "SELECT q.user_id, COUNT(*) AS n, MIN(q.created_at) AS oldest,"
    " COALESCE((SELECT MAX(s.started_at) FROM jobs s WHERE s.user_id = q.user_id),"
    f" {NEVER_STARTED_SQL}) AS last"
    " FROM jobs q WHERE q.state = 'queued' GROUP BY q.user_id"
)
MAX_PLACES = 500  # jobs whose place one read answers, at most

_TURN_COUNT = "SELECT COUNT(*) AS n FROM queue_turns"  # SQLite counts a whole table by its pages


def _ranks_sql(count: int) -> str:
    """Each of `count` jobs (`?` ids) with its state, how many users' turns come after its user's
    (`turn_order`, counted on `queue_turns`' index; NULL when its user has nothing queued) and how many
    of its user's queued jobs are older. For a queued job with none older, its place is the number of
    users with queued jobs, less one, less those after: a new arrival's turn is near the end of the
    round-robin, so few entries are counted one by one."""
    return (
        "SELECT j.id, j.state, (SELECT"
        " (SELECT COUNT(*) FROM queue_turns t WHERE t.last_start > me.last_start)"
        " + (SELECT COUNT(*) FROM queue_turns t WHERE t.last_start = me.last_start AND t.oldest > me.oldest)"
        " + (SELECT COUNT(*) FROM queue_turns t WHERE t.last_start = me.last_start"
        " AND t.oldest = me.oldest AND t.user_id > me.user_id)"
        " FROM queue_turns me WHERE me.user_id = j.user_id) AS after,"
        " (SELECT COUNT(*) FROM jobs k WHERE k.state = 'queued' AND k.user_id = j.user_id"
        " AND (k.created_at < j.created_at OR (k.created_at = j.created_at AND k.id < j.id))) AS older"
        f" FROM jobs j WHERE j.id IN ({placeholders(count)})"
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


def places(mine: Sequence[Row], turns: Sequence[Row], theirs: Sequence[Row]) -> dict[str, int]:
    """How many queued jobs start before each job of `mine` under `fair_order`, without ordering the
    whole queue. `turns`: rows of `_TURNS`; `theirs`: every queued job of the users of `mine`, oldest
    first. If r of a job's user's queued jobs are older, it waits for r of them, for min(n, r) of
    every other user's n, and for one more of each other user with more than r whose turn comes
    first; with r = 0 (the usual case) that is its user's rank in the turn order, found by bisection.
    """
    key = {str(t["user_id"]): (float(t["last"]), float(t["oldest"]), str(t["user_id"])) for t in turns}
    count = {str(t["user_id"]): int(t["n"]) for t in turns}
    ranked = sorted(key.values())
    older: dict[str, int] = {}
    seen: dict[str, int] = {}
    for row in theirs:
        user = str(row["user_id"])
        older[str(row["id"])] = seen.get(user, 0)
        seen[user] = seen.get(user, 0) + 1
    ahead: dict[str, int] = {}
    for row in mine:
        job_id, user = str(row["id"]), str(row["user_id"])
        if job_id not in older or user not in key:
            continue
        r, me = older[job_id], key[user]
        if r == 0:
            ahead[job_id] = bisect.bisect_left(ranked, me)
            continue
        others = [(n, key[o]) for o, n in count.items() if o != user]
        ahead[job_id] = r + sum(min(n, r) + (n > r and k < me) for n, k in others)
    return ahead


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
    _place_wanted: list[tuple[str, asyncio.Future[int | None]]] | None = None
    _placer: asyncio.Task[None] | None = None

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
            for user in set(users):  # their turns moved on
                for sql, args in turn_refresh(user):
                    await tx.execute(sql, *args)
            rows = await tx.fetchall(f"SELECT * FROM jobs WHERE id IN ({placeholders(len(chosen))})", *chosen)
        by_id = {str(r["id"]): job_from_row(r) for r in rows}
        return [by_id[job_id] for job_id in chosen if job_id in by_id]

    async def queue_place(self, job_id: str) -> int | None:
        """How many queued jobs start before this one (None when it is not queued).

        Asked by every queued ack: the calls arriving together (a flood of commands) share one read
        of the turns, one at a time, so its cost is paid per batch, not per ack."""
        future: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        if self._place_wanted is None:
            self._place_wanted = []
        self._place_wanted.append((job_id, future))
        if self._placer is None:
            self._placer = asyncio.create_task(self._answer_places(), name="queue-places")
        return await future

    async def _answer_places(self) -> None:
        wanted: list[tuple[str, asyncio.Future[int | None]]] = []
        try:
            await asyncio.sleep(0)  # the calls of this moment join the first batch
            while self._place_wanted:
                wanted, self._place_wanted = self._place_wanted[:MAX_PLACES], self._place_wanted[MAX_PLACES:]
                try:
                    found = await self._places(sorted({job_id for job_id, _ in wanted}))
                except Exception as exc:
                    for _, future in wanted:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for job_id, future in wanted:
                    if not future.done():
                        future.set_result(found.get(job_id))
                wanted = []
        finally:
            for _, future in [*wanted, *(self._place_wanted or [])]:
                if not future.done():
                    future.cancel()
            self._place_wanted = None
            self._placer = None

    async def _places(self, job_ids: list[str]) -> dict[str, int]:
        """The places of these jobs: a user's first queued job (nearly every one) from its user's rank
        in `queue_turns`; the others by `places`, from one consistent read."""
        [[total], ranks] = await self._db.read_together(
            [(_TURN_COUNT, ()), (_ranks_sql(len(job_ids)), job_ids)]
        )
        queued = [r for r in ranks if r["state"] == "queued" and r["after"] is not None]
        users = int(total["n"])
        found = {str(r["id"]): users - 1 - int(r["after"]) for r in queued if int(r["older"]) == 0}
        rest = [str(r["id"]) for r in queued if int(r["older"]) > 0]
        if not rest:
            return found
        ids = placeholders(len(rest))
        turns, mine, theirs = await self._db.read_together(
            [
                (_TURNS, ()),
                (f"SELECT id, user_id FROM jobs WHERE state = 'queued' AND id IN ({ids})", rest),
                (
                    "SELECT id, user_id FROM jobs WHERE state = 'queued'"
                    f" AND user_id IN (SELECT user_id FROM jobs WHERE id IN ({ids})) ORDER BY created_at, id",
                    rest,
                ),
            ]
        )
        return found | places(mine, turns, theirs)

    async def queue_ahead(self) -> dict[str, int]:
        """For every queued job, how many queued jobs start before it."""
        async with self._db.transaction() as tx:
            turns = await tx.fetchall(_TURNS)
            queued = await tx.fetchall(
                "SELECT id, user_id FROM jobs WHERE state = 'queued' ORDER BY created_at, id"
            )
        return {str(row["id"]): index for index, row in enumerate(fair_order(queued, turn_order(turns)))}
