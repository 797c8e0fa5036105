"""The words of `/video-admin` (and `videobot admin`), in the voice of the rest of `bot.ui.words`."""

from __future__ import annotations

from collections.abc import Sequence

from bot.money import format_usd
from bot.ui.words.format import escape, per_period, this_period, utc
from bot.ui.words.video import job_line
from storage.api import PeriodKind
from storage.models import AdminAction, BudgetStatus, Job, UserUsage, WorkspaceStatus

USAGE_LINES = {
    "budget": "`budget <@user> <usd>` · `budget default <usd>`",
    "cap": "`cap <usd>` · `cap off`",
    "usage": "`usage` · `usage <@user>`",
    "freeze": "`freeze <@user>`",
    "unfreeze": "`unfreeze <@user>`",
    "export": "`export`",
    "block": "`block add <term>` · `block remove <term>` · `block list`",
    "audit": "`audit`",
    "help": "`help`",
}


def admin_help() -> str:
    """The answer to `/video-admin help` (and to no text at all)."""
    return "\n".join(
        [
            "*Video admin commands* (`/video-admin …`)",
            "• `budget <@user> <usd>`: set a person's budget per period, like `budget @ana 10`",
            "• `budget default <usd>`: the budget of everyone without their own",
            "• `cap <usd>` · `cap off`: a spending cap for the whole workspace per period",
            "• `usage`: spend this period per person, with totals · `usage <@user>`: one person's videos",
            "• `freeze <@user>` · `unfreeze <@user>`: stop / allow a person's new videos",
            "• `export`: this period's ledger as a CSV file, with the audit log as a second one, sent to you",
            "• `block add <term>` · `block remove <term>` · `block list`: the content policy; prompts with "
            "a blocked word or phrase (any case or accents) are refused before anything is reserved",
            "• `audit`: the last 20 admin actions, who did them and what changed",
            "Amounts look like `5`, `5.5` or `$5.50`.",
        ]
    )


def admin_denied() -> str:
    """The polite refusal for people who are not video admins."""
    return (
        "Sorry, `/video-admin` is only for this workspace's video admins. If you need a bigger budget, "
        "ask one of them; `/video budget` shows your own."
    )


# --- parse errors --------------------------------------------------------------------------------


def err_admin(verb: str, problem: str) -> str:
    """A bad value for `verb` (problem is a plain sentence, escaped here), with its usage line."""
    return f"{escape(problem.rstrip('.'))}.\nUsage: {USAGE_LINES.get(verb, USAGE_LINES['help'])}"


def err_block_term_empty() -> str:
    """`block add|remove` with a term that has no letters or digits."""
    return err_admin("block", "A term needs letters or digits")


def err_block_term_long(max_chars: int) -> str:
    """`block add|remove` with a term longer than the limit."""
    return err_admin("block", f"A term can be at most {max_chars} characters")


def err_admin_user(verb: str, token: str) -> str:
    """A word where a person was expected."""
    return (
        f"“{escape(token)}” is not a person. Mention them with @, like `{verb} @ana`.\n"
        f"Usage: {USAGE_LINES[verb]}"
    )


def err_admin_arity(verb: str) -> str:
    """The right command with the wrong number of words."""
    return f"`{verb}` doesn't take those words.\nUsage: {USAGE_LINES[verb]}"


def err_admin_unknown(word: str) -> str:
    """A command we do not know."""
    known = " · ".join(USAGE_LINES.values())
    return f"I don't know the admin command “{escape(word)}”. Commands: {known}"


# --- answers -------------------------------------------------------------------------------------


def admin_budget_set(user_id: str, micros: int, period: PeriodKind) -> str:
    """`budget <@user> <usd>` done."""
    return (
        f":white_check_mark: <@{escape(user_id)}>'s budget is now {format_usd(micros)} {per_period(period)}."
    )


def admin_default_budget_set(micros: int, period: PeriodKind) -> str:
    """`budget default <usd>` done."""
    return (
        f":white_check_mark: The default budget is now {format_usd(micros)} {per_period(period)} "
        "for everyone without a budget of their own."
    )


def admin_cap_set(micros: int | None, period: PeriodKind) -> str:
    """`cap <usd>` / `cap off` done."""
    if micros is None:
        return ":white_check_mark: The workspace cap is off; only personal budgets limit spending."
    return (
        f":white_check_mark: The workspace can now spend at most {format_usd(micros)} {per_period(period)}."
    )


def admin_frozen(user_id: str, frozen: bool, changed: bool) -> str:
    """`freeze` / `unfreeze` done (or nothing to do)."""
    who = f"<@{escape(user_id)}>"
    if not changed:
        return f"{who} was already {'frozen' if frozen else 'allowed to make videos'}; nothing changed."
    if frozen:
        return (
            f":white_check_mark: {who} is frozen: their new video requests are refused until you "
            f"`unfreeze` them. Videos already in progress still finish."
        )
    return f":white_check_mark: {who} can make videos again."


def admin_export_started() -> str:
    """The ack of `export`, before the file arrives."""
    return ":hourglass_flowing_sand: Preparing this period's ledger; the CSV file will arrive in our DM."


def admin_export_failed() -> str:
    """`export` could not deliver the file."""
    return ":x: I couldn't send you the CSV file. Try `export` again in a minute."


def admin_export_done(jobs: int, period: str) -> str:
    """`export` done: the comment on the CSV file."""
    if jobs == 0:
        return f"No videos {this_period(period)} yet; the CSV has only its header row."
    return f"Here is the ledger {this_period(period)} ({period}): {jobs:,} video{'s' if jobs != 1 else ''}."


def admin_export_audit(actions: int) -> str:
    """The comment on the audit log CSV that comes with `export`."""
    return f"And the admin audit log: {actions:,} action{'s' if actions != 1 else ''}, oldest first."


def _cap_line(ws: WorkspaceStatus) -> str:
    used = format_usd(ws.spent_micros + ws.reserved_micros)
    cap = "no workspace cap" if ws.cap_micros is None else f"workspace cap {format_usd(ws.cap_micros)}"
    return f"{cap} ({used} spent or reserved) · default budget {format_usd(ws.default_budget_micros)}"


def _table(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    return "```\n" + "\n".join(line.rstrip() for line in lines) + "\n```"


def admin_usage(rows: Sequence[UserUsage], workspace: WorkspaceStatus) -> str:
    """`usage`: spend this period per user (largest first) as a monospace table with totals."""
    title = f"*Video usage {this_period(workspace.period)}* ({escape(workspace.period)})"
    if not rows:
        return (
            f"{title}\nNobody has made a video {this_period(workspace.period)} yet.\n{_cap_line(workspace)}"
        )
    ordered = sorted(rows, key=lambda r: (-r.spent_micros, -r.reserved_micros, r.user_id))
    table: list[list[str]] = [["user", "videos", "seconds", "spent", "reserved", "limit", "refused"]]
    for r in ordered:
        table.append(
            [escape(r.user_id), f"{r.jobs:,}", f"{r.seconds:,}", format_usd(r.spent_micros),
             format_usd(r.reserved_micros), format_usd(r.limit_micros), f"{r.policy_refusals:,}"]
        )  # fmt: skip
    table.append(
        ["total", f"{sum(r.jobs for r in rows):,}", f"{sum(r.seconds for r in rows):,}",
         format_usd(sum(r.spent_micros for r in rows)), format_usd(sum(r.reserved_micros for r in rows)), "",
         f"{sum(r.policy_refusals for r in rows):,}"]
    )  # fmt: skip
    refused = (
        "\n`refused`: prompts the content policy refused" if any(r.policy_refusals for r in rows) else ""
    )
    return f"{title}\n{_table(table)}\n{_cap_line(workspace)}{refused}" + overage_note(rows)


def overage_note(rows: Sequence[UserUsage]) -> str:
    """A line on what the gateway billed beyond reservations (empty when nothing)."""
    total = sum(r.overage_micros for r in rows)
    if not total:
        return ""
    who = ", ".join(
        f"<@{escape(r.user_id)}> {format_usd(r.overage_micros)}" for r in rows if r.overage_micros
    )
    return (
        f"\n:warning: The gateway billed {format_usd(total)} more than was reserved ({who}): results "
        "longer than asked. Users were charged their reservation only; check the gateway's invoice."
    )


def _overage(job: Job) -> str:
    return (
        f" · gateway billed {format_usd(job.overage_micros)} more (not charged)" if job.overage_micros else ""
    )


def admin_user_usage(status: BudgetStatus, jobs: Sequence[Job]) -> str:
    """`usage <@user>`: one person's money and videos this period."""
    who = f"<@{escape(status.user_id)}>"
    source = "own budget" if status.own_budget else "default budget"
    lines = [
        f"*{who} {this_period(status.period)}*: spent {format_usd(status.spent_micros)}, reserved "
        f"{format_usd(status.reserved_micros)}, left {format_usd(status.remaining_micros)} of "
        f"{format_usd(status.limit_micros)} ({source})"
        + ("" if status.resets_at is None else f"; resets {utc(status.resets_at)}"),
    ]
    if status.frozen:
        lines.append(":no_entry: Frozen: new video requests are refused.")
    if jobs:
        lines.extend(job_line(job) + _overage(job) for job in jobs)
    else:
        lines.append("No videos in this period.")
    return "\n".join(lines)


# --- content policy and audit log ---------------------------------------------------------------


def admin_blocked(term: str, blocked: bool, changed: bool) -> str:
    """`block add` / `block remove` done (or nothing to do)."""
    shown = f"“{escape(term)}”"
    if not changed:
        return f"{shown} was already {'blocked' if blocked else 'allowed'}; nothing changed."
    if blocked:
        return (
            f":white_check_mark: {shown} is blocked: prompts containing it (any case or accents, as whole "
            "words) are refused before anything is reserved."
        )
    return f":white_check_mark: {shown} is no longer blocked."


def admin_block_list(terms: Sequence[str]) -> str:
    """`block list`."""
    if not terms:
        return "No terms are blocked. Add one with `block add <term>`."
    return "*Blocked terms* (matched as whole words, any case or accents)\n" + "\n".join(
        f"• {escape(term)}" for term in terms
    )


def _actor(actor: str) -> str:
    return escape(actor) if actor.startswith("shell:") else f"<@{escape(actor)}>"


def _target(entry: AdminAction) -> str:
    if entry.action.startswith("block"):
        return f"“{escape(entry.target)}”"
    return "" if entry.target == "workspace" else f"<@{escape(entry.target)}>"


def audit_line(entry: AdminAction) -> str:
    """`• 2026-11-25 14:30 UTC · <@U1> budget <@U2>: $5.00 (default) → $10.00`."""
    target = _target(entry)
    what = f"{escape(entry.action)} {target}".rstrip()
    change = f"{escape(entry.old_value)} → {escape(entry.new_value)}"
    return f"• {utc(entry.at)} · {_actor(entry.actor)} {what}: {change}"


def admin_audit(entries: Sequence[AdminAction]) -> str:
    """`audit`: the last admin actions, newest first."""
    if not entries:
        return "No admin actions are recorded yet."
    title = "*The last admin action*" if len(entries) == 1 else f"*The last {len(entries)} admin actions*"
    return "\n".join([f"{title} (newest first)", *(audit_line(e) for e in entries)])
