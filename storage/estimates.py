"""How long the gateway takes: recent generation times per model and duration, and their moving median."""

from __future__ import annotations

import statistics
from collections.abc import Callable

from storage.db import Database, Row, Tx

WINDOW = 21  # the last this many generations of a model and duration make the estimate
KEEP = 4 * WINDOW  # rows kept per model and duration; older ones are deleted as new ones come


class Estimates:
    """Generation times the gateway reported, kept in the database so every replica shares them."""

    _db: Database
    _clock: Callable[[], float]

    async def record_generation_time(self, model: str, duration_s: int, seconds: float, now: float) -> None:
        """Remember that a `duration_s`-second video of `model` took `seconds` to generate."""
        if duration_s <= 0 or not seconds >= 0:  # `not >=` also refuses NaN
            raise ValueError("a generation time needs a positive duration and non-negative seconds")
        async with self._db.transaction(short=True) as tx:
            await tx.execute(
                "INSERT INTO generation_times (model, duration, seconds, recorded_at) VALUES (?, ?, ?, ?)",
                model,
                duration_s,
                float(seconds),
                now,
            )
            # Older than the KEEP-th newest: none while fewer are kept (the subquery is then NULL).
            await tx.execute(
                "DELETE FROM generation_times WHERE model = ? AND duration = ? AND recorded_at < ("
                "SELECT recorded_at FROM generation_times WHERE model = ? AND duration = ?"
                " ORDER BY recorded_at DESC LIMIT 1 OFFSET ?)",
                model,
                duration_s,
                model,
                duration_s,
                KEEP - 1,
            )

    async def recent_generation_times(self, model: str, duration_s: int, limit: int) -> list[float]:
        """The last `limit` generation times (seconds) of this model and duration, oldest first."""
        async with self._db.transaction(short=True) as tx:
            rows = await _latest(tx, model, duration_s, limit)
        return [float(r["seconds"]) for r in reversed(rows)]

    async def generation_time_estimate(self, model: str, duration_s: int) -> float | None:
        """Moving median of the last generations of this model and duration, in seconds.

        Without any for that duration, the model's other durations scaled to this one (the median
        seconds per second of video); None when the model has no history at all.
        """
        async with self._db.transaction(short=True) as tx:
            same = await _latest(tx, model, duration_s, WINDOW)
            if same:
                return float(statistics.median(float(r["seconds"]) for r in same))
            other = await tx.fetchall(
                "SELECT seconds, duration FROM generation_times WHERE model = ?"
                " ORDER BY recorded_at DESC LIMIT ?",
                model,
                WINDOW,
            )
        if not other:
            return None
        per_second = statistics.median(float(r["seconds"]) / int(r["duration"]) for r in other)
        return float(per_second * duration_s)


async def _latest(tx: Tx, model: str, duration_s: int, limit: int) -> list[Row]:
    """The last `limit` generation times of this model and duration, newest first."""
    return await tx.fetchall(
        "SELECT seconds FROM generation_times WHERE model = ? AND duration = ?"
        " ORDER BY recorded_at DESC LIMIT ?",
        model,
        duration_s,
        limit,
    )
