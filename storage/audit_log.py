"""The admin audit log: every admin action with who, when, and the old and new value."""

from __future__ import annotations

from storage.db import Database, Tx
from storage.models import AdminAction


async def insert_admin_action(
    tx: Tx, *, at: float, actor: str, action: str, target: str, old: str, new: str
) -> AdminAction:
    """Append one entry inside an open serialized transaction (so `seq` is taken by one writer)."""
    seq = int(await tx.fetchval("SELECT COALESCE(MAX(seq), 0) + 1 FROM admin_audit"))
    entry = AdminAction(
        seq=seq, at=at, actor=actor, action=action, target=target, old_value=old, new_value=new
    )
    await tx.execute(
        "INSERT INTO admin_audit (seq, at, actor, action, target, old_value, new_value)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        entry.seq,
        entry.at,
        entry.actor,
        entry.action,
        entry.target,
        entry.old_value,
        entry.new_value,
    )
    return entry


class AuditLog:
    """Reading the admin audit log (entries are appended by the changes they record, in the same
    transaction: `insert_admin_action`)."""

    _db: Database

    async def admin_actions(self, limit: int | None = 20) -> list[AdminAction]:
        """The most recent admin actions, newest first (all of them when `limit` is None)."""
        sql = "SELECT * FROM admin_audit ORDER BY seq DESC"
        async with self._db.transaction() as tx:
            rows = await (tx.fetchall(sql + " LIMIT ?", limit) if limit is not None else tx.fetchall(sql))
        return [AdminAction.model_validate(row) for row in rows]
