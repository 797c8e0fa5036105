"""`queue_turns` (migration 0009): each user with queued jobs and their turn in the queue's
round-robin (`storage.queue`), kept as a table so a queued ack's place is a count on its index.

A user's row is kept in the serialized transaction of every change to their queued jobs: a job
queued (the ledger's reservation: one upsert, `queued_turn`), started (`Queue.start_queued`:
`turn_refresh`) or moved out of the queue any other way (`Jobs.transition`, `Store.finish`:
`after_transition`) rewrites it from their jobs. A direct start (an ACCEPTED insert) needs none: it
happens only to a user with nothing queued, who has no row.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from storage.models import JobState

# The last start of a user who never started a job: their turn comes first.
NEVER_STARTED_SQL = "-1e18"
NEVER_STARTED = float(NEVER_STARTED_SQL)

# `{user}` is `?` (the user's id) or `(SELECT user_id FROM jobs WHERE id = ?)` (a job's user); the row
# is what `storage.queue._TURNS` reads for that user.
_TURN_DROP = "DELETE FROM queue_turns WHERE user_id = {user}"
_TURN_KEEP = (
    "INSERT INTO queue_turns (user_id, last_start, oldest)"
    " SELECT q.user_id, COALESCE((SELECT MAX(s.started_at) FROM jobs s WHERE s.user_id = q.user_id),"
    f" {NEVER_STARTED_SQL}), MIN(q.created_at) FROM jobs q WHERE q.state = 'queued' AND q.user_id = {{user}}"
    " GROUP BY q.user_id"
)
_REFRESH = {
    by: [sql.format(user=user) for sql in (_TURN_DROP, _TURN_KEEP)]
    for by, user in (("user", "?"), ("job", "(SELECT user_id FROM jobs WHERE id = ?)"))
}
# A job just queued, its user's last start read in the same transaction: their row as it was, or
# a new one (the oldest queued job is the older of the two, whatever the replicas' clocks say).
_QUEUED = (
    "INSERT INTO queue_turns (user_id, last_start, oldest) VALUES (?, ?, ?) ON CONFLICT (user_id)"
    " DO UPDATE SET oldest = CASE WHEN excluded.oldest < queue_turns.oldest"
    " THEN excluded.oldest ELSE queue_turns.oldest END"
)


def turn_refresh(user_id: str) -> list[tuple[str, list[Any]]]:
    """The statements rewriting a user's `queue_turns` row from their jobs."""
    return [(sql, [user_id]) for sql in _REFRESH["user"]]


def after_transition(job_id: str, expect: Collection[JobState], to: JobState) -> list[tuple[str, list[Any]]]:
    """The statements to run after a transition of `job_id` from one of `expect` to `to`, in its
    transaction: its user's row rewritten when the job may have left the queue, else none."""
    if JobState.QUEUED not in expect or to is JobState.QUEUED:
        return []
    return [(sql, [job_id]) for sql in _REFRESH["job"]]


def queued_turn(user_id: str, last_start: float | None, created_at: float) -> tuple[str, list[Any]]:
    """The statement keeping the turn of a user whose job was just queued (`last_start`: the latest
    start of any of their jobs, None if none)."""
    return _QUEUED, [user_id, NEVER_STARTED if last_start is None else last_start, created_at]
