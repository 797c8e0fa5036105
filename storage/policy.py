"""The workspace content policy in the database: blocked terms (normalized by `bot.policy`) and the
count of refused prompts per user and period. Changing a term records the admin action with it."""

from __future__ import annotations

from collections.abc import Callable

from storage.api import LedgerConfig
from storage.audit_log import insert_admin_action
from storage.db import Database
from storage.periods import period_key

BLOCKED = "blocked"
ALLOWED = "allowed"


class Policy:
    """Blocked terms and policy refusals, shared by every replica."""

    _db: Database
    _clock: Callable[[], float]
    config: LedgerConfig

    async def blocked_terms(self) -> list[str]:
        """Every blocked term, alphabetically."""
        rows = await self._db.fetch_statement("SELECT term FROM blocked_terms ORDER BY term")
        return [str(row["term"]) for row in rows]

    async def set_blocked(self, term: str, blocked: bool, *, actor: str) -> bool:
        """Block or allow a (normalized) term and record who did it; True when this changed anything."""
        if not term:
            raise ValueError("a blocked term cannot be empty")
        now = self._clock()
        async with self._db.transaction(serialize=True) as tx:
            if blocked:
                changed = await tx.execute(
                    "INSERT INTO blocked_terms (term, added_by, added_at) VALUES (?, ?, ?)"
                    " ON CONFLICT (term) DO NOTHING",
                    term,
                    actor,
                    now,
                )
            else:
                changed = await tx.execute("DELETE FROM blocked_terms WHERE term = ?", term)
            was = (ALLOWED if changed else BLOCKED) if blocked else (BLOCKED if changed else ALLOWED)
            new = BLOCKED if blocked else ALLOWED
            verb = "block add" if blocked else "block remove"
            await insert_admin_action(tx, at=now, actor=actor, action=verb, target=term, old=was, new=new)
        return changed == 1

    async def count_policy_refusal(self, user_id: str) -> None:
        """Count one prompt of `user_id` refused by the content policy in the current period."""
        period = period_key(self.config.period, self._clock())
        async with self._db.transaction() as tx:
            await tx.execute(
                "INSERT INTO policy_refusals (user_id, period, refusals) VALUES (?, ?, 1)"
                " ON CONFLICT (user_id, period) DO UPDATE SET refusals = policy_refusals.refusals + 1",
                user_id,
                period,
            )

    async def policy_refusals(self) -> dict[str, int]:
        """Prompts refused by the content policy this period, per user."""
        period = period_key(self.config.period, self._clock())
        rows = await self._db.fetch_statement(
            "SELECT user_id, refusals FROM policy_refusals WHERE period = ?", period
        )
        return {str(row["user_id"]): int(row["refusals"]) for row in rows}
