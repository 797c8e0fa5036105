"""Request idempotency: each Slack request is acted on at most once, across restarts and replicas.

Keys name a request by the identity Slack gives it: `command:<trigger_id>`, `action:<…>`,
`view:<…>`, `event:<event_id>`. The first caller to claim a key does the work and records the
answer it gave; anyone claiming the same key later (a replay, a Slack retry, another replica)
gets `first=False` and that answer, and must move no money. Keys are kept `REQUEST_TTL_S`
(an hour, well past Slack's 5-minute signature window and its retries); older ones are swept.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from storage.db import Database

REQUEST_TTL_S = 3600.0  # at least 10 minutes, as promised; an hour costs a few rows
SWEEP_EVERY_S = 60.0  # old keys are deleted at most this often per store
MAX_KEY_CHARS = 300  # Slack's ids are short; a longer key is a forged request, cut to size


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
        async with self._db.transaction() as tx:
            if now - self._swept_at >= SWEEP_EVERY_S:
                self._swept_at = now
                await tx.execute("DELETE FROM requests_seen WHERE claimed_at < ?", now - REQUEST_TTL_S)
            inserted = await tx.execute(
                "INSERT INTO requests_seen (key, claimed_at) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
                key,
                now,
            )
            if inserted == 1:
                return RequestClaim(first=True)
            answer = await tx.fetchval("SELECT answer FROM requests_seen WHERE key = ?", key)
        return RequestClaim(first=False, answer=None if answer is None else str(answer))

    async def record_answer(self, key: str, answer: str) -> None:
        """Keep the answer given to request `key`, for repeats of it (JSON text by convention)."""
        async with self._db.transaction() as tx:
            await tx.execute("UPDATE requests_seen SET answer = ? WHERE key = ?", answer, key[:MAX_KEY_CHARS])
