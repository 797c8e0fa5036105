"""What `/video-admin` and `videobot admin` do: one implementation for Slack and the shell."""

from __future__ import annotations

import csv
import io
import time
from dataclasses import dataclass

from bot.commands import (
    AdminCommand,
    AdminHelp,
    Export,
    SetCap,
    SetDefaultBudget,
    SetFrozen,
    SetUserBudget,
    ShowUsage,
)
from bot.money import format_usd
from bot.ui.words import admin as words
from storage.api import Store
from storage.billing import billed_seconds
from storage.models import Job

EXPORT_HEADER = (
    "when_utc", "job_id", "user", "prompt", "seconds", "status", "cost_usd", "cost_micros",
    "gateway_overage_usd", "gateway_overage_micros",
)  # fmt: skip


@dataclass(frozen=True)
class AdminResult:
    """The answer an admin reads, and the CSV to send along (export only)."""

    text: str
    csv_name: str | None = None
    csv_text: str | None = None


async def run_admin(store: Store, command: AdminCommand) -> AdminResult:
    """Carry out one admin command against the store."""
    period = store.config.period
    match command:
        case AdminHelp():
            return AdminResult(words.admin_help())
        case SetUserBudget(user_id=user, micros=micros):
            await store.set_user_budget(user, micros)
            return AdminResult(words.admin_budget_set(user, micros, period))
        case SetDefaultBudget(micros=micros):
            await store.set_default_budget(micros)
            return AdminResult(words.admin_default_budget_set(micros, period))
        case SetCap(micros=micros):
            await store.set_cap(micros)
            return AdminResult(words.admin_cap_set(micros, period))
        case ShowUsage(user_id=None):
            return AdminResult(words.admin_usage(await store.usage(), await store.workspace_status()))
        case ShowUsage(user_id=str(user)):
            jobs = await store.user_jobs(user, 50, this_period=True)
            return AdminResult(words.admin_user_usage(await store.budget_status(user), jobs))
        case SetFrozen(user_id=user, frozen=frozen):
            changed = await store.set_frozen(user, frozen)
            return AdminResult(words.admin_frozen(user, frozen, changed))
        case Export():
            jobs = await store.period_jobs()
            workspace = await store.workspace_status()
            name = f"videobot-ledger-{workspace.period}.csv"
            return AdminResult(words.admin_export_done(len(jobs), workspace.period), name, ledger_csv(jobs))
    raise AssertionError(f"unhandled admin command {command!r}")


def _seconds(job: Job) -> int:
    return billed_seconds(job) if job.charged_micros else job.duration


def ledger_csv(jobs: list[Job]) -> str:
    """One row per job: when, user, prompt, seconds, status, cost."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(EXPORT_HEADER)
    for job in jobs:
        prompt = job.prompt
        if prompt[:1] in ("=", "+", "-", "@"):
            prompt = "'" + prompt  # a prompt must never run as a spreadsheet formula
        writer.writerow(
            (
                time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(job.created_at)),
                job.id,
                job.user_id,
                prompt,
                _seconds(job),
                job.state.value,
                format_usd(job.charged_micros),
                job.charged_micros,
                format_usd(job.overage_micros),
                job.overage_micros,
            )
        )
    return out.getvalue()
