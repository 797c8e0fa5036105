"""What tests need from a store beyond what the product uses: shortcuts to move money without a job's
flow, and the ledger audit that checks every micro-dollar balances after a test."""

from __future__ import annotations

from storage import SqlStore
from storage.api import NewJob
from storage.billing import cost_micros, job_charge, job_overage
from storage.jobs import job_from_row
from storage.ledger import charge_reservation, release_reservation
from storage.models import Job, JobState, MoneyState


class StoreForTests(SqlStore):
    """The product's store, plus test shortcuts and the audit (a second view of the same database)."""

    @classmethod
    def view(cls, store: object) -> StoreForTests:
        """This class over the database and configuration of an open store."""
        assert isinstance(store, SqlStore)
        return cls(store.db, store.config)

    async def reserve(self, new: NewJob, *, owner: str, lease_s: float) -> Job:
        """`reserve_with_status` without the status."""
        job, _ = await self.reserve_with_status(new, owner=owner, lease_s=lease_s)
        return job

    async def settle(self, job_id: str, billed_seconds: int) -> bool:
        """Charge billed_seconds x price without finishing the job; True only the first time."""
        async with self.db.transaction(serialize=True) as tx:
            return await charge_reservation(tx, job_id, billed_seconds, self._clock())

    async def release(self, job_id: str) -> bool:
        """Release the reservation without finishing the job; True only the first time."""
        async with self.db.transaction(serialize=True) as tx:
            return await release_reservation(tx, job_id, self._clock())

    async def unfinished_jobs(self) -> list[Job]:
        """Every job not delivered, failed, expired or cancelled, oldest first."""
        rows = await self.db.fetch_statement("SELECT * FROM jobs ORDER BY created_at, id")
        return [job for job in map(job_from_row, rows) if not job.state.finished]

    async def audit(self) -> list[str]:
        """Ledger inconsistencies in words; empty when every micro-dollar balances."""
        async with self.db.transaction() as tx:
            jobs = [job_from_row(r) for r in await tx.fetchall("SELECT * FROM jobs ORDER BY created_at, id")]
            budgets = await tx.fetchall("SELECT user_id, micros FROM budgets WHERE micros < 0")
            settings = await tx.fetchall("SELECT key, micros FROM workspace_settings WHERE micros < 0")
        problems = [p for job in jobs for p in audit_job(job)]
        problems += [f"budget of {r['user_id']} is negative ({r['micros']})" for r in budgets]
        problems += [f"workspace {r['key']} is negative ({r['micros']})" for r in settings]
        return problems


def audit_job(job: Job) -> list[str]:
    """What is wrong with one job's money, in words."""
    problems: list[str] = []
    where = f"job {job.id} ({job.state.value}, {job.money_state.value})"
    if job.state.finished and job.money_state is MoneyState.RESERVED:
        problems.append(f"{where}: finished but its reservation is still held")
    if job.state is JobState.DELIVERED and job.money_state is not MoneyState.CHARGED:
        problems.append(f"{where}: delivered but not charged")
    if job.state.finished and job.state is not JobState.DELIVERED and job.money_state is MoneyState.CHARGED:
        problems.append(f"{where}: did not deliver but was charged")
    if job.money_state is MoneyState.CHARGED:
        expected = job_charge(job)
        if job.charged_micros != expected:
            problems.append(f"{where}: charged {job.charged_micros}, expected {expected}")
        if job.overage_micros != job_overage(job):
            problems.append(f"{where}: overage {job.overage_micros}, expected {job_overage(job)}")
    elif job.charged_micros != 0 or job.overage_micros != 0:
        problems.append(f"{where}: charged {job.charged_micros} without being settled")
    for name in ("price_micros", "estimate_micros", "charged_micros", "duration"):
        if getattr(job, name) < 0:
            problems.append(f"{where}: {name} is negative ({getattr(job, name)})")
    if job.estimate_micros != cost_micros(job.duration, job.price_micros):
        problems.append(f"{where}: estimate {job.estimate_micros} is not duration x price")
    return problems
