"""`kill -9` of the app at every point of a job's life: the user ends with exactly one video or one
clear failure, the gateway sees one create, and the ledger balances to the micro-dollar."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import httpx

from bot.sim.signing import post_signed, slash_command_body
from storage.models import Job, JobState, MoneyState
from tests.durability.proc import AppProcess
from tests.e2e.harness import ALICE, CHANNEL, SIGNING_SECRET
from tests.store_tools import StoreForTests


async def _send(app: AppProcess, text: str, slack) -> httpx.Response:
    body = slash_command_body(
        text=text, user_id=ALICE, channel_id=CHANNEL, response_url=slack.new_response_url()
    )
    async with httpx.AsyncClient() as http:
        return await post_signed(http, app.events_url, body, SIGNING_SECRET)


async def _wait_job(store: StoreForTests, predicate: Callable[[Job], bool], timeout: float = 30) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs = await store.user_jobs(ALICE, 10)
        if jobs and predicate(jobs[0]):
            return jobs[0]
        await asyncio.sleep(0.02)
    raise AssertionError(f"job never reached the expected point: {jobs[0] if jobs else None}")


async def _crash_and_recover(tmp_path, sim, slack, store, at: Callable[[Job], bool]) -> Job:
    """Start the app, send one /video, kill -9 it when `at(job)` holds, start it again, wait for the end."""
    db_url = f"sqlite:///{tmp_path / 'bot.db'}"
    first = AppProcess(sim=sim, slack=slack, db_url=db_url, log_path=tmp_path / "app.log")
    await first.start()
    try:
        response = await _send(first, "a waterfall in a jungle --duration 4", slack)
        assert response.status_code == 200 and "on its way" in response.text
        await _wait_job(store, at)
        first.kill9()
    finally:
        first.stop()
    second = AppProcess(sim=sim, slack=slack, db_url=db_url, log_path=tmp_path / "app.log")
    await second.start()
    try:
        return await _wait_job(store, lambda j: j.state.finished)
    finally:
        code, _ = await second.terminate()
        assert code == 0


async def _assert_balanced(store: StoreForTests, job: Job) -> None:
    assert await store.audit() == []
    status = await store.budget_status(ALICE)
    assert status.reserved_micros == 0
    if job.state is JobState.DELIVERED:
        assert job.money_state is MoneyState.CHARGED
        assert status.spent_micros == job.charged_micros == (job.result_duration or job.duration) * 11_000
    else:
        assert job.money_state is MoneyState.RELEASED and status.spent_micros == 0


def _videos(slack, job: Job) -> list:
    return [f for f in slack.files if f.channel == job.delivery_channel and f.thread_ts == job.parent_ts]


async def test_kill_after_accept_before_slack_heard(tmp_path, sim, slack, store):
    slack.set_latency("chat.postMessage", 2.0)  # the parent message is on its way when the app dies
    job = await _crash_and_recover(tmp_path, sim, slack, store, lambda j: j.state is JobState.ACCEPTED)
    assert job.state is JobState.DELIVERED
    assert len(_videos(slack, job)) == 1 and sim.create_count == 1
    await _assert_balanced(store, job)


async def test_kill_while_the_create_is_in_flight(tmp_path, sim, slack, store):
    sim.configure(create_delay_s=3.0)  # the gateway has the job but has not answered yet
    job = await _crash_and_recover(
        tmp_path, sim, slack, store, lambda j: j.state is JobState.SUBMITTING and sim.create_count == 1
    )
    # The create may have been taken: never sent again; the user is told and not charged.
    assert job.state is JobState.FAILED and sim.create_count == 1
    assert _videos(slack, job) == []
    replies = [m.text for m in slack.thread(job.delivery_channel, job.parent_ts)[1:] if m.ts != job.status_ts]
    assert sum("nothing was charged" in r.lower() for r in replies) == 1
    await _assert_balanced(store, job)


async def test_kill_after_submit(tmp_path, sim, slack, store):
    sim.configure(take_s=3.0)
    job = await _crash_and_recover(
        tmp_path, sim, slack, store, lambda j: j.state in (JobState.SUBMITTED, JobState.GENERATING)
    )
    assert job.state is JobState.DELIVERED
    assert len(_videos(slack, job)) == 1 and sim.create_count == 1
    await _assert_balanced(store, job)


async def test_kill_during_download(tmp_path, sim, slack, store):
    sim.configure(take_s=0.3, slow_bytes_per_s=4000)  # a ~16 kB MP4 takes about 4 s to arrive
    job = await _crash_and_recover(tmp_path, sim, slack, store, lambda j: j.state is JobState.DOWNLOADING)
    assert job.state is JobState.DELIVERED
    assert len(_videos(slack, job)) == 1 and sim.create_count == 1
    await _assert_balanced(store, job)


async def test_kill_during_upload(tmp_path, sim, slack, store):
    slack.set_latency("files.completeUploadExternal", 2.0)  # Slack finishes the share after the crash
    job = await _crash_and_recover(
        tmp_path, sim, slack, store, lambda j: j.state is JobState.UPLOADING and j.file_id is not None
    )
    assert job.state is JobState.DELIVERED
    assert len(_videos(slack, job)) == 1 and sim.create_count == 1  # never posted twice
    await _assert_balanced(store, job)
