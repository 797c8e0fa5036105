"""What `/video-admin` and `videobot admin` do: one implementation for Slack and the shell."""

from __future__ import annotations

import csv
import io
import time
from dataclasses import dataclass

from bot.admin_commands import (
    AdminCommand,
    AdminHelp,
    Export,
    ListBlocked,
    SetBlocked,
    SetCap,
    SetDefaultBudget,
    SetFrozen,
    SetUserBudget,
    ShowAudit,
    ShowUsage,
)
from bot.money import format_usd
from bot.ui.words import admin as words
from storage.api import Audited, Store
from storage.billing import billed_seconds
from storage.models import AdminAction, Job

EXPORT_HEADER = (
    "when_utc", "job_id", "user", "prompt", "seconds", "status", "cost_usd", "cost_micros",
    "gateway_overage_usd", "gateway_overage_micros",
)  # fmt: skip
AUDIT_HEADER = ("when_utc", "actor", "action", "target", "old_value", "new_value")


@dataclass(frozen=True)
class AdminResult:
    """The answer an admin reads, and the CSV to send along (export only: the ledger, then the audit
    log in `more_files`)."""

    text: str
    csv_name: str | None = None
    csv_text: str | None = None
    more_files: tuple[tuple[str, str, str], ...] = ()  # (name, CSV text, comment)


def _usd_or(micros: int | None, none: str) -> str:
    return none if micros is None else format_usd(micros)


def _limit_shown(limit: tuple[int, bool]) -> str:
    """A user's limit in the audit log: theirs, or the workspace default's, marked so."""
    micros, own = limit
    return format_usd(micros) + ("" if own else " (default)")


def _cap_shown(micros: int | None) -> str:
    return _usd_or(micros, "off")


def _frozen_shown(frozen: bool) -> str:
    return "frozen" if frozen else "not frozen"


async def run_admin(store: Store, command: AdminCommand, *, actor: str) -> AdminResult:
    """Carry out one admin command against the store; every change is recorded in the audit log as
    done by `actor` (a Slack user ID, or `shell:<name>`)."""
    period = store.config.period
    match command:
        case AdminHelp():
            return AdminResult(words.admin_help())
        # Each change is recorded in the audit log in its own transaction, with the value it replaced.
        case SetUserBudget(user_id=user, micros=micros):
            budget = Audited[tuple[int, bool]](actor, "budget", user, format_usd(micros), _limit_shown)
            await store.set_user_budget(user, micros, budget)
            return AdminResult(words.admin_budget_set(user, micros, period))
        case SetDefaultBudget(micros=micros):
            default = Audited[int](actor, "budget default", "workspace", format_usd(micros), format_usd)
            await store.set_default_budget(micros, default)
            return AdminResult(words.admin_default_budget_set(micros, period))
        case SetCap(micros=micros):
            cap = Audited[int | None](actor, "cap", "workspace", _usd_or(micros, "off"), _cap_shown)
            await store.set_cap(micros, cap)
            return AdminResult(words.admin_cap_set(micros, period))
        case ShowUsage(user_id=None):
            return AdminResult(words.admin_usage(await store.usage(), await store.workspace_status()))
        case ShowUsage(user_id=str(user)):
            jobs = await store.user_jobs(user, 50, this_period=True)
            return AdminResult(words.admin_user_usage(await store.budget_status(user), jobs))
        case SetFrozen(user_id=user, frozen=frozen):
            verb = "freeze" if frozen else "unfreeze"
            changed = await store.set_frozen(
                user, frozen, Audited[bool](actor, verb, user, _frozen_shown(frozen), _frozen_shown)
            )
            return AdminResult(words.admin_frozen(user, frozen, changed))
        case SetBlocked(term=term, blocked=blocked):
            changed = await store.set_blocked(term, blocked, actor=actor)  # audited in the same transaction
            return AdminResult(words.admin_blocked(term, blocked, changed))
        case ListBlocked():
            return AdminResult(words.admin_block_list(await store.blocked_terms()))
        case ShowAudit():
            return AdminResult(words.admin_audit(await store.admin_actions(20)))
        case Export():
            jobs = await store.period_jobs()
            workspace = await store.workspace_status()
            name = f"videobot-ledger-{workspace.period}.csv"
            actions = await store.admin_actions(None)
            audit = ("videobot-audit-log.csv", audit_csv(actions), words.admin_export_audit(len(actions)))
            text = words.admin_export_done(len(jobs), workspace.period)
            return AdminResult(text, name, ledger_csv(jobs), more_files=(audit,))
    raise AssertionError(f"unhandled admin command {command!r}")


def _cell(text: str) -> str:
    """Text a spreadsheet shows as text: never run as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def _when(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def audit_csv(entries: list[AdminAction]) -> str:
    """The whole admin audit log, oldest first: when, who, what, old and new value."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(AUDIT_HEADER)
    for e in sorted(entries, key=lambda entry: entry.seq):
        writer.writerow(
            (_when(e.at), e.actor, e.action, _cell(e.target), _cell(e.old_value), _cell(e.new_value))
        )
    return out.getvalue()


def _seconds(job: Job) -> int:
    return billed_seconds(job) if job.charged_micros else job.duration


def ledger_csv(jobs: list[Job]) -> str:
    """One row per job: when, user, prompt, seconds, status, cost."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(EXPORT_HEADER)
    for job in jobs:
        writer.writerow(
            (
                _when(job.created_at),
                job.id,
                job.user_id,
                _cell(job.prompt),
                _seconds(job),
                job.state.value,
                format_usd(job.charged_micros),
                job.charged_micros,
                format_usd(job.overage_micros),
                job.overage_micros,
            )
        )
    return out.getvalue()
