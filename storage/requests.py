"""Request idempotency: each Slack request is acted on at most once, across restarts and replicas.

Keys name a request by the identity Slack gives it: `command:<trigger_id>`, `action:<…>`,
`view:<…>`, `event:<event_id>`. The first caller to claim a key does the work and records the
answer it gave; anyone claiming the same key later (a replay, a Slack retry, another replica)
gets `first=False` and that answer, and must move no money. Keys are kept `REQUEST_TTL_S`
(an hour, well past Slack's 5-minute signature window and its retries); older ones are swept.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from storage.db import Database
from storage.sqlite import SqliteDatabase

REQUEST_TTL_S = 3600.0  # at least 10 minutes, as promised; an hour costs a few rows
SWEEP_EVERY_S = 60.0  # old keys are deleted at most this often per store
MAX_KEY_CHARS = 300  # Slack's ids are short; a longer key is a forged request, cut to size
_SWEEP = "DELETE FROM requests_seen WHERE claimed_at < ?"
_CLAIM = "INSERT INTO requests_seen (key, claimed_at) VALUES (?, ?) ON CONFLICT (key) DO NOTHING"
_ANSWER = "SELECT answer FROM requests_seen WHERE key = ?"
_RECORD = "UPDATE requests_seen SET answer = ? WHERE key = ?"


@dataclass(frozen=True)
class RequestClaim:
    """The outcome of `claim_request`.

    `first`: this caller took the request and must answer it (then `record_answer`).
    `answer`: for a repeat, the answer recorded by the first caller (None while it is still working).
    """

    first: bool
    answer: str | None = None


class Requests:
    """`Store.claim_request` and `Store.record_answer`, on either backend."""

    _db: Database
    _clock: Callable[[], float]
    _swept_at: float = float("-inf")

    async def claim_request(self, key: str, now: float | None = None) -> RequestClaim:
        """Take request `key` atomically (INSERT … ON CONFLICT DO NOTHING); see `RequestClaim`."""
        now = self._clock() if now is None else now
        key = key[:MAX_KEY_CHARS]
        sweep = now - self._swept_at >= SWEEP_EVERY_S
        if sweep:
            self._swept_at = now
        if isinstance(self._db, SqliteDatabase):
            # This runs before every ack: on SQLite it shares the group commit of reservations
            # (one trip to the connection's thread, one COMMIT for all who arrive together).
            return await self._db.run_serialized(partial(_claim_sync, key, now, sweep))
        async with self._db.transaction() as tx:
            if sweep:
                await tx.execute(_SWEEP, now - REQUEST_TTL_S)
            if await tx.execute(_CLAIM, key, now) == 1:
                return RequestClaim(first=True)
            answer = await tx.fetchval(_ANSWER, key)
        return RequestClaim(first=False, answer=None if answer is None else str(answer))

    async def record_answer(self, key: str, answer: str) -> None:
        """Keep the answer given to request `key`, for repeats of it (JSON text by convention)."""
        if isinstance(self._db, SqliteDatabase):
            await self._db.run_serialized(partial(_record_sync, key[:MAX_KEY_CHARS], answer))
            return
        async with self._db.transaction() as tx:
            await tx.execute(_RECORD, answer, key[:MAX_KEY_CHARS])


def _claim_sync(key: str, now: float, sweep: bool, conn: sqlite3.Connection) -> RequestClaim:
    """claim_request inside an open SQLite write transaction (on its thread)."""
    if sweep:
        conn.execute(_SWEEP, (now - REQUEST_TTL_S,))
    if conn.execute(_CLAIM, (key, now)).rowcount == 1:
        return RequestClaim(first=True)
    row = conn.execute(_ANSWER, (key,)).fetchone()
    return RequestClaim(first=False, answer=None if row is None or row[0] is None else str(row[0]))


def _record_sync(key: str, answer: str, conn: sqlite3.Connection) -> None:
    conn.execute(_RECORD, (answer, key))
