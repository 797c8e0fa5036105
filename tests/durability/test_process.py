"""The app as a process: structured logs without secrets, and a graceful SIGTERM."""

from __future__ import annotations

import json

from tests.durability.proc import (
    AppProcess,
    deliver_one_fail_one,
    resumes_and_delivers_once,
    send_video,
    until,
)
from tests.e2e.harness import ALICE, API_KEY, BOT_TOKEN, SIGNING_SECRET


async def test_logs_are_json_lines_per_transition_and_never_hold_a_secret(tmp_path, sim, slack):
    log_path = tmp_path / "app.log"
    app = AppProcess(sim=sim, slack=slack, db_url=f"sqlite:///{tmp_path / 'bot.db'}", log_path=log_path)
    await app.start()
    try:
        await deliver_one_fail_one(app, sim, slack)
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
    await send_video(first, "a long one", slack)
    await until(lambda: sim.create_count == 1)
    code, seconds = await first.terminate()
    assert code == 0 and seconds < 10
    assert slack.files == []
    second = AppProcess(sim=sim, slack=slack, db_url=db_url, log_path=tmp_path / "app.log")
    await resumes_and_delivers_once(second, sim, slack)
