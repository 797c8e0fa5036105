"""Request idempotency: each Slack request is acted on at most once, across restarts and replicas.

Keys name a request by the identity Slack gives it: `command:<trigger_id>`, `action:<…>`,
`view:<…>`, `event:<event_id>`. The first caller to claim a key does the work and records the
answer it gave; anyone claiming the same key later (a replay, a Slack retry, another replica)
gets `first=False` and that answer, and must move no money. Keys are kept `REQUEST_TTL_S`
(an hour, well past Slack's 5-minute signature window and its retries); older ones are swept.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from storage.db import Database, Row, Writes

REQUEST_TTL_S = 3600.0  # at least 10 minutes, as promised; an hour costs a few rows
SWEEP_EVERY_S = 60.0  # old keys are deleted at most this often per store
MAX_KEY_CHARS = 300  # Slack's ids are short; a longer key is a forged request, cut to size
_SWEEP = "DELETE FROM requests_seen WHERE claimed_at < ?"
_CLAIM = "INSERT INTO requests_seen (key, claimed_at) VALUES (?, ?) ON CONFLICT (key) DO NOTHING"
# A claim taken inside another decision (a reservation): a key older than the TTL is taken afresh.
CLAIM_AFRESH = (
    "INSERT INTO requests_seen (key, claimed_at) VALUES (?, ?)"
    " ON CONFLICT (key) DO UPDATE SET claimed_at = excluded.claimed_at, answer = NULL"
)
# The claim of a key as a column of another snapshot: NULL when unclaimed (or older than the TTL),
# '' when claimed without an answer yet, else the answer.
SEEN_COLUMN = "(SELECT COALESCE(answer, '') FROM requests_seen WHERE key = ? AND claimed_at >= ?)"
_SEEN = "SELECT answer, claimed_at FROM requests_seen WHERE key = ?"
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
        """Take request `key` atomically (one serialized read-and-insert); see `RequestClaim`.

        This runs before every ack: it goes through `decide_and_write`, so on SQLite it shares the
        group commit of reservations (one trip to the connection's thread, one COMMIT for all who
        arrive together)."""
        now = self._clock() if now is None else now
        key = key[:MAX_KEY_CHARS]
        sweep = now - self._swept_at >= SWEEP_EVERY_S
        if sweep:
            self._swept_at = now

        def decide(row: Row) -> tuple[RequestClaim, Writes]:
            writes: Writes = [(_SWEEP, (now - REQUEST_TTL_S,))] if sweep else []
            if row and not (sweep and float(row["claimed_at"]) < now - REQUEST_TTL_S):
                answer = row["answer"]
                return RequestClaim(first=False, answer=None if answer is None else str(answer)), writes
            # ON CONFLICT: another replica's claim committed first; the serialized transaction makes
            # that impossible, the statement makes it harmless.
            return RequestClaim(first=True), [*writes, (_CLAIM, (key, now))]

        return await self._db.decide_and_write(_SEEN, (key,), decide)

    async def record_answer(self, key: str, answer: str) -> None:
        """Keep the answer given to request `key`, for repeats of it (JSON text by convention)."""
        await self.record_answers([(key, answer)])

    async def record_answers(self, answers: Sequence[tuple[str, str]]) -> None:
        """`record_answer` for several requests at once, in one transaction."""
        writes: Writes = [(_RECORD, (answer, key[:MAX_KEY_CHARS])) for key, answer in answers]
        if self._db.dialect != "sqlite":
            async with self._db.transaction() as tx:
                for sql, args in writes:
                    await tx.execute(sql, *args)
            return

        # On SQLite a transaction of its own would pay a COMMIT of its own, behind the group commit of
        # the reservations in flight: it joins that group instead.
        def decide(_: Row) -> tuple[None, Writes]:
            return None, writes

        await self._db.decide_and_write("SELECT 1", (), decide)
