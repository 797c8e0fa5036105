"""`kill -9` with videos waiting in the queue: after a restart none is lost, none runs twice, they
still start one at a time in order, and the ledger balances."""

from __future__ import annotations

import asyncio
import itertools
import time

import httpx

from bot.deps import ledger_config
from bot.settings import load_settings
from bot.sim.signing import post_signed, slash_command_body
from storage import open_store
from storage.models import JobState, MoneyState
from tests.durability.proc import AppProcess
from tests.e2e.harness import ALICE, CHANNEL, SIGNING_SECRET
from tests.store_tools import StoreForTests


async def _jobs(store):
    return sorted(await store.user_jobs(ALICE, 10), key=lambda j: j.created_at)


async def _until(store, predicate, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs = await _jobs(store)
        if predicate(jobs):
            return jobs
        await asyncio.sleep(0.05)
    raise AssertionError(f"not reached in time: {[(j.state.value, j.status_ts) for j in await _jobs(store)]}")


async def test_kill9_with_queued_jobs_loses_none(tmp_path, sim, slack):
    db_url = f"sqlite:///{tmp_path / 'bot.db'}"
    store = await open_store(db_url, ledger_config(load_settings(database_url=db_url)))
    sim.configure(take_s=2.0)
    # The first holds the user's slot until the other two are announced (at Slack's pace of one post
    # a second in the channel, ~5 s): a 2 s first video could finish and let the second start first.
    sim.configure_next(1, take_s=10.0)
    limit = {"VIDEOBOT_MAX_INFLIGHT_PER_USER": "1"}
    first = AppProcess(sim=sim, slack=slack, db_url=db_url, log_path=tmp_path / "app.log", **limit)
    await first.start()
    try:
        async with httpx.AsyncClient() as http:
            for i in range(3):
                body = slash_command_body(
                    text=f"a red balloon #{i}",
                    user_id=ALICE,
                    channel_id=CHANNEL,
                    response_url=slack.new_response_url(),
                )
                response = await post_signed(http, first.events_url, body, SIGNING_SECRET)
                assert "Got it!" in response.text
        # Killed while the first is at the gateway (a kill mid-create is test_kill9's subject) and the
        # other two wait in the queue, announced in their threads.
        jobs = await _until(
            store,
            lambda js: len(js) == 3 and all(j.status_ts for j in js) and js[0].gateway_job_id is not None,
        )
        assert [j.state for j in jobs[1:]] == [JobState.QUEUED] * 2
        first.kill9()
    finally:
        first.stop()
    second = AppProcess(sim=sim, slack=slack, db_url=db_url, log_path=tmp_path / "app.log", **limit)
    await second.start()
    try:
        jobs = await _until(store, lambda js: all(j.state.finished for j in js))
    finally:
        code, _ = await second.terminate()
        assert code == 0
    try:
        assert [j.state for j in jobs] == [JobState.DELIVERED] * 3
        assert [j.money_state for j in jobs] == [MoneyState.CHARGED] * 3
        assert sim.create_count == 3 and len(slack.messages(CHANNEL)) == 3  # announced once each
        assert len([f for f in slack.files if f.channel == CHANNEL]) == 3  # delivered once each
        assert [j.started_at for j in jobs] == sorted(j.started_at for j in jobs)
        for earlier, later in itertools.pairwise(jobs):
            assert later.started_at >= earlier.updated_at  # one at a time, as the limit says
        assert await StoreForTests.view(store).audit() == []
        assert (await store.budget_status(ALICE)).reserved_micros == 0
    finally:
        await store.close()
