"""What video costs: the one billing rule (billed seconds) and the one charge, for every caller.

SPEC: estimate = requested duration x price, reserved before the job starts; charge = billed
seconds (the gateway's `result.duration`, else the requested duration) x price, exactly once.
Prices are integer micro-dollars per second, so every amount here is an exact integer.
"""

from __future__ import annotations

from storage.models import BudgetStatus, Job

# The billing rule for SQL aggregates (usage): the same as `billed_seconds`, a 0 counting as missing.
BILLED_SECONDS_SQL = "COALESCE(NULLIF(result_duration, 0), duration)"


def cost_micros(seconds: int, price_micros: int) -> int:
    """What `seconds` of video cost at a per-second price (estimates and charges alike)."""
    if seconds < 0:
        raise ValueError("billed seconds cannot be negative")
    return seconds * price_micros


def billed_seconds(job: Job) -> int:
    """The seconds a delivered job is charged for: what the gateway made, else what was asked."""
    return job.result_duration or job.duration


def job_charge(job: Job) -> int:
    """What delivering `job` costs."""
    return cost_micros(billed_seconds(job), job.price_micros)


def remaining_after_charge(status: BudgetStatus, job: Job) -> int:
    """The user's budget left once `job`'s reservation (still counted in `status`) becomes its charge."""
    reserved_by_others = status.reserved_micros - job.estimate_micros
    return max(0, status.limit_micros - status.spent_micros - reserved_by_others - job_charge(job))
