"""Budgets under concurrency, /video budget and history, and every /video-admin subcommand via Slack."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import subprocess
import sys

from bot.deps import ledger_config
from bot.settings import load_settings
from storage import open_store
from storage.models import JobState
from tests.e2e.harness import ADMIN, ALICE, BOB, ack_text


async def test_fifty_concurrent_requests_at_a_budget_of_three(make_app, sim):
    # 3 x 5 s x $0.011 = $0.165 fits exactly three jobs; the in-flight limit is not what stops them.
    app = await make_app(default_budget="0.165", max_inflight_per_user=100)
    sim.configure(take_s=1.0)
    responses = await asyncio.gather(*(app.command(f"a glass of water #{i}") for i in range(50)))
    texts = [ack_text(r) for r in responses]
    assert all(r.status_code == 200 for r in responses)
    accepted = [t for t in texts if "on its way" in t]
    refused = [t for t in texts if "budget" in t.lower() and "on its way" not in t]
    assert len(accepted) == 3 and len(refused) == 47
    await app.wait_idle()
    assert sim.create_count == 3
    status = await app.store.budget_status(ALICE)
    assert status.spent_micros == 165_000 and status.reserved_micros == 0 and status.remaining_micros == 0
    assert await app.store.audit() == []


async def test_in_flight_limit_refuses_when_queueing_is_off(make_app, sim):
    app = await make_app(max_inflight_per_user=2, max_queued_per_user=0)
    sim.configure(take_s=1.5)
    texts = [ack_text(await app.command(f"a kite #{i}")) for i in range(3)]
    assert "on its way" in texts[0] and "on its way" in texts[1]
    assert "You already have 2 videos in progress" in texts[2]
    await app.wait_idle()
    assert sim.create_count == 2


async def test_a_full_queue_is_refused_with_nothing_reserved(make_app, sim):
    app = await make_app(max_inflight_per_user=1, max_queued_per_user=1)
    sim.configure(take_s=1.5)
    texts = [ack_text(await app.command(f"a kite #{i}")) for i in range(3)]
    assert "on its way" in texts[0] and "queued, next in line" in texts[1]
    assert "You already have 1 video waiting in the queue" in texts[2]
    assert len(await app.jobs()) == 2 and (await app.store.budget_status(ALICE)).reserved_micros == 2 * 55_000
    await app.wait_idle(timeout=30)
    assert sim.create_count == 2


async def test_budget_and_history_answers(make_app):
    app = await make_app()
    await app.command("a bonsai tree --duration 4")
    await app.wait_idle()
    budget = ack_text(await app.command("BUDGET"))
    assert "$5.00" in budget and "$0.044" in budget and "$4.956" in budget and "resets" in budget
    history = ack_text(await app.command("history"))
    assert "bonsai" in history and "delivered" in history and "$0.044" in history
    [job] = await app.jobs()
    assert job.permalink and f"<{job.permalink}|" in history  # a link to the thread


async def test_admin_refusal_changes_nothing(make_app):
    app = await make_app()
    for words in ("budget <@U0BOB0001|bob> 100", "cap 1", "freeze <@U0ALICE01>", "usage", "export"):
        answer = ack_text(await app.command(words, command="/video-admin", user=BOB))
        assert "only for" in answer, words
    assert (await app.store.budget_status(BOB)).limit_micros == 5_000_000
    assert (await app.store.workspace_status()).cap_micros is None
    assert (await app.store.budget_status(ALICE)).frozen is False
    assert app.slack.files == []


async def admin(app, words: str) -> str:
    return ack_text(await app.command(words, command="/video-admin", user=ADMIN))


async def test_every_admin_subcommand(make_app, slack):
    app = await make_app()
    assert "budget" in await admin(app, "help")
    assert "$0.10" in await admin(app, "budget <@U0ALICE01|alice> $0.10")
    assert (await app.store.budget_status(ALICE)).limit_micros == 100_000
    assert "$7.50" in await admin(app, "budget default 7.5")
    assert (await app.store.budget_status(BOB)).limit_micros == 7_500_000

    await app.command("a sunflower --duration 4")  # $0.044 of Alice's $0.10
    await app.wait_idle()
    over = ack_text(await app.command("a sunflower field --duration 15"))
    assert "budget" in over.lower() and "$0.056" in over  # what is left, and a way out

    usage = await admin(app, "usage")
    assert "U0ALICE01" in usage and "$0.044" in usage and "total" in usage.lower()
    assert "sunflower" in await admin(app, "usage <@U0ALICE01>")

    assert "frozen" in await admin(app, "freeze <@U0ALICE01>")
    frozen = ack_text(await app.command("a tulip"))
    assert "paused" in frozen.lower() or "frozen" in frozen.lower()
    assert "again" in await admin(app, "unfreeze <@U0ALICE01>")

    assert "$0.05" in await admin(app, "cap 0.05")
    capped = ack_text(await app.command("a rose --duration 5", user=BOB))
    assert "cap" in capped.lower() or "workspace" in capped.lower()
    assert "off" in await admin(app, "cap off")
    assert "on its way" in ack_text(await app.command("a rose --duration 5", user=BOB))
    await app.wait_idle()

    assert "DM" in await admin(app, "export")
    await app.wait_for(lambda: len([f for f in slack.files if f.name.endswith(".csv")]) == 2)
    [export] = [f for f in slack.files if f.name.startswith("videobot-ledger-")]
    assert export.channel is not None and export.channel.startswith("D")
    rows = list(csv.DictReader(io.StringIO(export.path.read_text())))
    assert {r["user"] for r in rows} == {ALICE, BOB}
    assert {r["cost_usd"] for r in rows} == {"$0.044", "$0.055"}
    assert all(r["status"] == JobState.DELIVERED.value for r in rows)

    bad = await admin(app, "budget <@U0ALICE01> lots")
    assert "lots" in bad
    assert (await app.store.budget_status(ALICE)).limit_micros == 100_000

    # Every change above is in the audit log: who, what, old -> new; in `audit` and in the export.
    expected = [
        ("budget", ALICE, "$5.00 (default)", "$0.10"),
        ("budget default", "workspace", "$5.00", "$7.50"),
        ("freeze", ALICE, "not frozen", "frozen"),
        ("unfreeze", ALICE, "frozen", "not frozen"),
        ("cap", "workspace", "off", "$0.05"),
        ("cap", "workspace", "$0.05", "off"),
    ]
    [log] = [f for f in slack.files if f.name == "videobot-audit-log.csv"]
    assert log.channel == export.channel
    logged = list(csv.DictReader(io.StringIO(log.path.read_text())))
    assert [(r["action"], r["target"], r["old_value"], r["new_value"]) for r in logged] == expected
    assert {r["actor"] for r in logged} == {ADMIN}
    lines = (await admin(app, "audit")).split("\n")
    assert "last 6 admin actions" in lines[0] and len(lines) == 7
    assert "<@U0ADMIN01> cap: $0.05 → off" in lines[1]  # newest first
    assert "<@U0ADMIN01> budget <@U0ALICE01>: $5.00 (default) → $0.10" in lines[6]


async def _create_database(url: str) -> None:
    await (await open_store(url, ledger_config(load_settings(database_url=url)))).close()


def test_admin_cli_on_the_same_database(tmp_path):
    db = tmp_path / "cli.db"
    url = f"sqlite:///{db}"
    asyncio.run(_create_database(url))  # as `videobot run` makes it; the admin CLI never starts one
    env = {**os.environ, "VIDEOBOT_DATABASE_URL": url}
    cli = [sys.executable, "-m", "bot.cli", "admin"]
    done = subprocess.run([*cli, "budget", "U0ALICE01", "$12.50"], env=env, capture_output=True, text=True)
    assert done.returncode == 0 and "$12.50" in done.stdout
    usage = subprocess.run([*cli, "usage"], env=env, capture_output=True, text=True)
    assert usage.returncode == 0 and "usage this month" in usage.stdout.lower()
    wrong = subprocess.run([*cli, "budget", "U0ALICE01"], env=env, capture_output=True, text=True)
    assert wrong.returncode == 2 and "budget" in wrong.stderr and "Traceback" not in wrong.stderr
    export = subprocess.run([*cli, "export"], env=env, capture_output=True, text=True)
    assert export.returncode == 0 and export.stdout.startswith("when_utc,job_id,user,prompt")
    audit = subprocess.run([*cli, "audit"], env=env, capture_output=True, text=True)
    assert audit.returncode == 0 and "shell:" in audit.stdout
    assert "budget U0ALICE01: $5.00 (default) → $12.50" in audit.stdout


class MutableClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def test_budget_period_rolls_over_on_the_utc_calendar(make_app):
    clock = MutableClock(1_796_083_200.0 - 3600)  # 2026-11-30 23:00 UTC
    app = await make_app(default_budget="0.055", clock_fn=clock)
    assert "on its way" in ack_text(await app.command("a comet"))
    await app.wait_idle()
    refused = ack_text(await app.command("another comet"))
    assert "budget" in refused.lower() and "2026-12-01" in refused
    clock.now += 3600  # midnight: December begins
    budget = ack_text(await app.command("budget"))
    assert "$0.00" in budget and "$0.055" in budget and "2027-01-01" in budget
    assert "on its way" in ack_text(await app.command("another comet"))
    await app.wait_idle()
    jobs = await app.jobs()
    assert sorted(j.period for j in jobs) == ["2026-11", "2026-12"]
