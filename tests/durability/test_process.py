"""The app as a process: structured logs without secrets, and a graceful SIGTERM."""

from __future__ import annotations

import asyncio
import json

import httpx

from bot.sim.signing import post_signed, slash_command_body
from tests.durability.proc import AppProcess
from tests.e2e.harness import ALICE, API_KEY, BOT_TOKEN, CHANNEL, SIGNING_SECRET


async def _send(app: AppProcess, text: str, slack) -> None:
    body = slash_command_body(
        text=text, user_id=ALICE, channel_id=CHANNEL, response_url=slack.new_response_url()
    )
    async with httpx.AsyncClient() as http:
        response = await post_signed(http, app.events_url, body, SIGNING_SECRET)
    assert response.status_code == 200


async def _until(predicate, timeout: float = 30.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("not reached")


async def test_logs_are_json_lines_per_transition_and_never_hold_a_secret(tmp_path, sim, slack):
    log_path = tmp_path / "app.log"
    app = AppProcess(sim=sim, slack=slack, db_url=f"sqlite:///{tmp_path / 'bot.db'}", log_path=log_path)
    await app.start()
    try:
        await _send(app, "a good one", slack)
        await _until(lambda: len(slack.files) == 1)
        sim.configure(fail="nope")
        await _send(app, "a bad one", slack)
        await _until(lambda: '"dst": "failed"' in log_path.read_text())
    finally:
        code, _ = await app.terminate()
    assert code == 0
    text = log_path.read_text()
    for secret in (BOT_TOKEN, SIGNING_SECRET, API_KEY):
        assert secret not in text
    records = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    transitions = [r for r in records if r.get("event") == "job.transition"]
    assert all(r["job_id"] and r["user"] == ALICE for r in transitions)
    good, bad = (
        {r["job_id"] for r in transitions if r["dst"] == "delivered"},
        {r["job_id"] for r in transitions if r["dst"] == "failed"},
    )
    assert len(good) == 1 and len(bad) == 1
    [good_id] = good
    path = [r["dst"] for r in transitions if r["job_id"] == good_id]
    assert path[:2] == ["submitting", "submitted"] and path[-3:] == ["downloading", "uploading", "delivered"]
    assert set(path[2:-3]) <= {"generating"}  # seen only when a poll catches the job processing


async def test_sigterm_exits_quickly_and_the_next_start_finishes_the_job(tmp_path, sim, slack):
    sim.configure(take_s=4.0)
    db_url = f"sqlite:///{tmp_path / 'bot.db'}"
    first = AppProcess(sim=sim, slack=slack, db_url=db_url, log_path=tmp_path / "app.log")
    await first.start()
    await _send(first, "a long one", slack)
    await _until(lambda: sim.create_count == 1)
    code, seconds = await first.terminate()
    assert code == 0 and seconds < 10
    assert slack.files == []
    second = AppProcess(sim=sim, slack=slack, db_url=db_url, log_path=tmp_path / "app.log")
    await second.start()
    try:
        await _until(lambda: len(slack.files) == 1)
    finally:
        await second.terminate()
    assert sim.create_count == 1
