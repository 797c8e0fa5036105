"""A job the ledger builds without validation is the job pydantic would build, and is stored as such."""

from __future__ import annotations

from storage.jobs import JOB_COLUMNS
from storage.ledger import Ledger
from storage.models import Job, JobState, MoneyState, constructed_job

VALUES = {
    "id": "j1",
    "team_id": "T1",
    "user_id": "U1",
    "channel_id": "C1",
    "response_url": None,
    "prompt": "a lighthouse at dusk",
    "duration": 5,
    "aspect_ratio": "16:9",
    "model": "seedance",
    "price_micros": 11_000,
    "estimate_micros": 55_000,
    "period": "2026-11",
    "state": JobState.QUEUED,
    "money_state": MoneyState.RESERVED,
    "created_at": 1.5,
    "updated_at": 1.5,
    "deadline_at": 1801.5,
    "owner": "r1",
    "lease_until": 31.5,
    "thread_ts": "1.2",
}


def test_a_constructed_job_is_the_one_model_construct_gives():
    fast, slow = constructed_job(dict(VALUES)), Job.model_construct(**VALUES)
    assert fast == slow and fast.model_dump() == slow.model_dump()
    assert fast.model_fields_set == slow.model_fields_set == set(VALUES)
    assert fast == Job.model_validate(VALUES)  # and the one validation would give
    assert fast.attempts == 0 and fast.origin == "command" and fast.status_ts is None  # the defaults
    assert fast.model_copy(update={"attempts": 2}).attempts == 2
    assert constructed_job(dict(VALUES)).__dict__ is not fast.__dict__  # nothing shared between jobs


def test_the_row_inserted_is_the_jobs_json_form():
    job = constructed_job(dict(VALUES))
    dumped = job.model_dump(mode="json")
    assert Ledger._job_values(job) == [dumped[name] for name in JOB_COLUMNS]
    assert Ledger._job_values(job)[JOB_COLUMNS.index("state")] == "queued"
