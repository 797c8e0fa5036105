"""Small helpers shared by the storage tests."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from storage import JobState, NewJob

PRICE = 11_000  # $0.011 per second
EST_DEFAULT = 5 * PRICE  # one default 5 s job
_ids = itertools.count(1)


def at(text: str) -> float:
    """Epoch seconds of an ISO UTC time like "2026-11-10T12:00:00"."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


class Clock:
    """A clock tests move by hand."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def set(self, text: str) -> None:
        self.now = at(text)


def new_job(user: str = "U1", duration: int = 5, price: int = PRICE, **kw: object) -> NewJob:
    """A NewJob with a fresh id."""
    return NewJob(
        id=f"job{next(_ids):06d}",
        team_id="T1",
        user_id=user,
        channel_id="C1",
        prompt="a slow drone shot over a mountain lake",
        duration=duration,
        aspect_ratio="16:9",
        model="bytedance/seedance-2.0-fast",
        price_micros=price,
        **kw,  # type: ignore[arg-type]
    )


# The way a job goes when nothing goes wrong, up to the step before it is delivered.
PATH = (
    JobState.ACCEPTED,
    JobState.SUBMITTING,
    JobState.SUBMITTED,
    JobState.GENERATING,
    JobState.DOWNLOADING,
    JobState.UPLOADING,
)


async def walk(store: object, job_id: str, to: JobState = JobState.UPLOADING, **fields: object) -> object:
    """Move an accepted job along the legal path up to `to` (setting `fields` on the last step)."""
    job = None
    for src, dst in itertools.pairwise(PATH[: PATH.index(to) + 1]):
        extra = fields if dst is to else {}
        job = await store.transition(job_id, dst, expect=[src], **extra)  # type: ignore[attr-defined]
        assert job is not None, f"{job_id} is not {src.value}"
    return job


TABLES = (
    "jobs",
    "budgets",
    "workspace_settings",
    "frozen_users",
    "alerts_sent",
    "generation_times",
    "blocked_terms",
    "policy_refusals",
    "admin_audit",
    "requests_seen",
    "queue_turns",
)


async def wipe(store: object) -> None:
    """Delete every row (between hypothesis examples), keeping the schema."""
    async with store.db.transaction(serialize=True) as tx:  # type: ignore[attr-defined]
        for table in TABLES:
            await tx.execute(f"DELETE FROM {table}")
