"""What video costs: the one billing rule (billed seconds) and the one charge, for every caller.

SPEC: estimate = requested duration x price, reserved before the job starts; charge = billed
seconds (the gateway's `result.duration`, else the requested duration) x price, exactly once, but
never more than the reservation (issue 17): what the gateway billed beyond it is the job's overage.
Prices are integer micro-dollars per second, so every amount here is an exact integer.
"""

from __future__ import annotations

from storage.models import BudgetStatus, Job

# The billing rule for SQL aggregates (usage): the same as `billed_seconds`, 0 or less counting as missing.
BILLED_SECONDS_SQL = "CASE WHEN result_duration > 0 THEN result_duration ELSE duration END"


def cost_micros(seconds: int, price_micros: int) -> int:
    """What `seconds` of video cost at a per-second price (estimates and charges alike)."""
    if seconds < 0:
        raise ValueError("billed seconds cannot be negative")
    return seconds * price_micros


def billed_seconds(job: Job) -> int:
    """The seconds a delivered job is charged for: what the gateway made, else what was asked."""
    # The gateway's answer is untrusted: a zero or negative length is no length.
    return job.result_duration if job.result_duration and job.result_duration > 0 else job.duration


def split_charge(seconds: int, price_micros: int, estimate_micros: int) -> tuple[int, int]:
    """(charge, overage) for `seconds` billed by the gateway: the user pays at most the reservation
    (a shorter result pays less); what the gateway billed beyond it is the overage, never hidden."""
    billed = cost_micros(seconds, price_micros)
    charge = min(billed, estimate_micros)
    return charge, billed - charge


def job_charge(job: Job) -> int:
    """What delivering `job` costs its user (never more than its reservation)."""
    return split_charge(billed_seconds(job), job.price_micros, job.estimate_micros)[0]


def job_overage(job: Job) -> int:
    """What the gateway billed for `job` beyond its reservation."""
    return split_charge(billed_seconds(job), job.price_micros, job.estimate_micros)[1]


def remaining_after_charge(status: BudgetStatus, job: Job) -> int:
    """The user's budget left once `job`'s reservation (still counted in `status`) becomes its charge."""
    reserved_by_others = status.reserved_micros - job.estimate_micros
    return max(0, status.limit_micros - status.spent_micros - reserved_by_others - job_charge(job))
