"""`kill -9` right after a mention was acknowledged, then Slack resends the event to the restarted
app: the thread gets exactly one video, the gateway one create, the ledger one charge."""

from __future__ import annotations

import asyncio
import time

import httpx

from bot.sim.slack import BOT_USER
from bot.sim.slack.events import mention_envelope, post_mention, send_event
from storage.models import JobState, MoneyState
from tests.durability.proc import AppProcess
from tests.e2e.harness import ALICE, BOB, CHANNEL, SIGNING_SECRET


async def test_kill9_after_the_ack_then_a_resend_still_one_video(tmp_path, sim, slack, store):
    db_url = f"sqlite:///{tmp_path / 'bot.db'}"
    sim.configure(take_s=1.0)
    root = post_mention(slack, CHANNEL, BOB, "the trailer?")
    message = post_mention(
        slack, CHANNEL, ALICE, f"<@{BOT_USER}> a waterfall in a jungle -d 4", thread_ts=root.ts
    )
    envelope = mention_envelope(message)
    first = AppProcess(sim=sim, slack=slack, db_url=db_url, log_path=tmp_path / "app.log")
    await first.start()
    try:
        async with httpx.AsyncClient() as http:
            assert (await send_event(http, first.events_url, SIGNING_SECRET, envelope)).status_code == 200
        first.kill9()  # acknowledged and stored; killed before (or while) the job started
    finally:
        first.stop()

    second = AppProcess(sim=sim, slack=slack, db_url=db_url, log_path=tmp_path / "app.log")
    await second.start()
    try:
        async with httpx.AsyncClient() as http:
            resent = await send_event(http, second.events_url, SIGNING_SECRET, envelope, retry_num=1)
        assert resent.status_code == 200
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            jobs = await store.user_jobs(ALICE, 10)
            if jobs and jobs[0].state.finished:
                break
            await asyncio.sleep(0.05)
    finally:
        second.stop()
    [job] = await store.user_jobs(ALICE, 10)
    assert job.state is JobState.DELIVERED and job.money_state is MoneyState.CHARGED
    assert job.charged_micros == 44_000 and sim.create_count == 1
    assert [f.thread_ts for f in slack.files] == [root.ts]
    assert await store.audit() == []
