"""The concrete Store: one Database, the ledger and the job records on top of it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from storage.api import LedgerConfig
from storage.audit_log import AuditLog
from storage.db import Database, Dialect
from storage.estimates import Estimates
from storage.jobs import Jobs, fetch_job, transition_sql
from storage.ledger import Ledger, charge_reservation, release_reservation
from storage.models import CANCELLABLE_STATES, Job, JobState
from storage.policy import Policy
from storage.queue import Queue
from storage.requests import Requests
from storage.turns import after_transition


class SqlStore(Ledger, Jobs, Estimates, Queue, Policy, AuditLog, Requests):
    """Implements `storage.api.Store` on SQLite or PostgreSQL alike."""

    dialect: Dialect

    def __init__(self, db: Database, config: LedgerConfig) -> None:
        self._db = db
        self._clock: Callable[[], float] = config.clock
        self.config = config
        self.dialect = db.dialect

    @property
    def db(self) -> Database:
        """The underlying database (for migrations, tools and tests)."""
        return self._db

    async def close(self) -> None:
        """Close every connection."""
        await self._db.close()

    async def ping(self) -> None:
        """One trivial query: raises when the database does not answer (for /readyz)."""
        await self._db.fetch_statement("SELECT 1")

    async def finish(
        self,
        job_id: str,
        to: JobState,
        *,
        expect: Iterable[JobState],
        owner: str | None = None,
        billed_seconds: int | None = None,
        **fields: Any,
    ) -> Job | None:
        """Move to a finished state and settle its money in one transaction; None when it did not match."""
        to = JobState(to)
        if not to.finished:
            raise ValueError(f"finish() moves to delivered, failed, expired or cancelled, not {to.value}")
        if to is JobState.DELIVERED and billed_seconds is None:
            raise ValueError("a delivered job needs billed_seconds")
        now = self._clock()
        expect = list(expect)
        sql, args = transition_sql(job_id, to, expect, owner, fields, now)
        async with self._db.transaction(serialize=True) as tx:
            if await tx.execute(sql, *args) != 1:
                return None
            for refresh, values in after_transition(job_id, expect, to):  # the user's turn moves with it
                await tx.execute(refresh, *values)
            # The money moves at most once: if it already left `reserved`, these change nothing.
            if to is JobState.DELIVERED:
                assert billed_seconds is not None
                await charge_reservation(tx, job_id, billed_seconds, now)
            else:
                await release_reservation(tx, job_id, now)
            return await fetch_job(tx, job_id)

    async def cancel(self, job_id: str, by: str) -> Job | None:
        """Cancel a job the gateway has not heard of and release its money; None when it is too late
        (already sent, finished, or cancelled: a second click changes nothing)."""
        return await self.finish(job_id, JobState.CANCELLED, expect=CANCELLABLE_STATES, cancelled_by=by)
