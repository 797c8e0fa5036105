"""Blocked terms, policy refusals in `usage`, and the admin audit log, on both backends."""

from __future__ import annotations

import asyncio

from bot.admin_commands import SetCap, SetDefaultBudget, SetFrozen, SetUserBudget
from bot.admin_ops import run_admin
from bot.money import format_usd
from storage.api import Audited
from tests.storage.helpers import new_job


async def test_blocked_terms_are_shared_and_audited_once_per_change(store_factory, clock):
    one = await store_factory()
    two = await store_factory()
    assert await one.set_blocked("nuclear explosion", True, actor="UADMIN") is True
    assert await one.set_blocked("nuclear explosion", True, actor="UADMIN") is False
    clock.advance(60)
    assert await two.set_blocked("gore", True, actor="shell:ops") is True
    assert await two.blocked_terms() == await one.blocked_terms() == ["gore", "nuclear explosion"]
    assert await one.set_blocked("gore", False, actor="UADMIN") is True
    assert await one.blocked_terms() == ["nuclear explosion"]
    entries = await two.admin_actions()
    assert [(e.actor, e.action, e.target, e.old_value, e.new_value) for e in entries] == [
        ("UADMIN", "block remove", "gore", "blocked", "allowed"),
        ("shell:ops", "block add", "gore", "allowed", "blocked"),
        ("UADMIN", "block add", "nuclear explosion", "blocked", "blocked"),
        ("UADMIN", "block add", "nuclear explosion", "allowed", "blocked"),
    ]
    assert [e.seq for e in entries] == [4, 3, 2, 1]
    assert entries[1].at == clock.now and entries[3].at == clock.now - 60


async def test_audit_log_limit_and_order(store):
    for n in range(25):
        await store.set_cap(
            (n + 1) * 1_000_000, Audited[int | None]("UADMIN", "cap", "workspace", str(n + 1), str)
        )
    last = await store.admin_actions()
    assert len(last) == 20 and last[0].new_value == "25" and last[-1].new_value == "6"
    assert len(await store.admin_actions(None)) == 25


async def test_policy_refusals_count_in_usage(store):
    await store.reserve(new_job(user="U1"), owner="r1", lease_s=30)
    await store.count_policy_refusal("U1")
    await store.count_policy_refusal("U2")  # refused, and never made a video
    await store.count_policy_refusal("U2")
    usage = {u.user_id: u for u in await store.usage()}
    assert usage["U1"].policy_refusals == 1 and usage["U1"].jobs == 1
    assert usage["U2"].policy_refusals == 2 and usage["U2"].jobs == 0 and usage["U2"].spent_micros == 0
    assert await store.policy_refusals() == {"U1": 1, "U2": 2}


async def test_concurrent_admin_changes_each_record_the_value_they_replaced(store_factory):
    """Each change and its audit entry are one transaction: read in between, another admin's change
    would be recorded as replaced by nobody, or twice."""
    one, two = await store_factory(), await store_factory()  # two replicas, two admins
    changes = [
        run_admin(store, command, actor=actor)
        for n in range(12)
        for store, actor, command in (
            (one, "UADMIN1", SetCap(micros=(n + 1) * 1_000_000)),
            (two, "UADMIN2", SetDefaultBudget(micros=(n + 1) * 100_000)),
            (one, "UADMIN1", SetUserBudget(user_id="U1", micros=(n + 1) * 10_000)),
            (two, "UADMIN2", SetFrozen(user_id="U2", frozen=n % 2 == 0)),
        )
    ]
    await asyncio.gather(*changes)
    entries = list(reversed(await one.admin_actions(None)))  # oldest first
    assert len(entries) == 48
    workspace, budget = await one.workspace_status(), await one.budget_status("U1")
    for action, first_old, now in (
        ("cap", "off", format_usd(workspace.cap_micros or 0)),
        ("budget default", format_usd(1_000_000), format_usd(workspace.default_budget_micros)),
        ("budget", None, format_usd(budget.limit_micros)),  # first: the default of that moment
    ):
        chain = [(e.old_value, e.new_value) for e in entries if e.action == action]
        assert [old for old, _ in chain[1:]] == [new for _, new in chain[:-1]], action
        assert chain[0][0] == first_old or (first_old is None and chain[0][0].endswith(" (default)"))
        assert chain[-1][1] == now
    frozen = [(e.action, e.old_value, e.new_value) for e in entries if e.target == "U2"]
    was = "not frozen"
    for _, old, new in frozen:
        assert old == was
        was = new
    assert (was == "frozen") == (await one.budget_status("U2")).frozen
