"""The fair queue end to end: requests beyond the in-flight limits wait with their place, start in
round-robin order, can be cancelled for exactly their money, and survive a restart."""

from __future__ import annotations

import asyncio
import itertools
import json

from bot.ui.blocks.thread import ACTION_CANCEL
from storage.models import JobState, MoneyState
from tests.e2e.harness import ADMIN, ALICE, BOB, CHANNEL, ack_text
from tests.e2e.test_interactive import _button_click

CAROL = "U0CAROL01"
_CLICKS = itertools.count(100)  # each click has its own trigger_id, as in Slack (a repeated one is a replay)


async def _cancel(app, slack, job, user: str) -> str:
    """Click Cancel in `job`'s thread as `user`; the ephemeral answer."""
    url = slack.new_response_url()
    await app.interact(_button_click(job, ACTION_CANCEL, user, url, next(_CLICKS)))
    await app.wait_for(lambda: slack.responses(url))
    return str(slack.responses(url)[0]["text"])


async def _running_and_queued(make_app, sim, take_s: float, *texts: str):
    """An app where Alice has one video running and one queued (limit 1)."""
    app = await make_app(max_inflight_per_user=1)
    sim.configure(take_s=take_s)
    for text in texts:
        await app.command(text)
    running, queued = await _announced(app, ALICE, 2)
    return app, running, queued


def _status(slack, job):
    [message] = [m for m in slack.thread(job.delivery_channel, job.parent_ts) if m.ts == job.status_ts]
    return message


def _buttons(message) -> list[str]:
    return [e["action_id"] for b in message.blocks or [] if b["type"] == "actions" for e in b["elements"]]


def _never_more_than(jobs, limit: int) -> None:
    """At every start, at most `limit` of these jobs were running (started and not yet finished)."""
    for job in jobs:
        running = [k for k in jobs if k.started_at <= job.started_at < k.updated_at]
        assert len(running) <= limit, (job.id, len(running))


async def _announced(app, user: str, count: int) -> list:
    await app.wait_for(
        lambda: _all_announced(app, user, count),
        timeout=30,
    )
    return sorted(await app.jobs(user), key=lambda j: j.created_at)


async def _all_announced(app, user: str, count: int) -> bool:
    jobs = await app.jobs(user)
    return len(jobs) == count and all(j.status_ts for j in jobs)


async def test_requests_at_the_limit_queue_with_their_place_and_arrive_in_order(make_app, sim, slack):
    app = await make_app(max_inflight_per_user=1)
    # Generations long against Slack's pace (1 post/s per channel): a queued job is announced while
    # it is still queued, as with real videos (~60 s), not after a 1 s one has already let it start.
    sim.configure(take_s=6.0)
    texts = [ack_text(await app.command(f"a paper plane #{i}")) for i in range(3)]
    assert "on its way" in texts[0]
    assert "queued, next in line" in texts[1] and "$0.055 is reserved" in texts[1]
    assert "queued, 1 ahead of it" in texts[2]
    _, second, third = await _announced(app, ALICE, 3)
    # Each queued job's thread said where it stood, with a Cancel button.
    assert "Queued, next in line" in _status(slack, second).history[0]
    assert "Queued, 1 ahead of it" in _status(slack, third).history[0]
    assert (await app.store.budget_status(ALICE)).reserved_micros == 3 * 55_000  # reserved at once
    await app.wait_idle(timeout=60)
    jobs = sorted(await app.jobs(), key=lambda j: j.created_at)
    assert [j.state for j in jobs] == [JobState.DELIVERED] * 3
    # The gateway saw them one at a time, in the order they were asked for.
    assert [j.body["prompt"] for j in sim.jobs.values()] == [f"a paper plane #{i}" for i in range(3)]
    _never_more_than(jobs, 1)
    for job in jobs[1:]:
        status = _status(slack, job)
        assert "Delivered" in status.text and ACTION_CANCEL not in _buttons(status)
    # The third moved up when the second started, and its status said so.
    assert any("Queued, next in line" in text for text in _status(slack, jobs[2]).history[1:])
    assert len([f for f in slack.files if f.channel == CHANNEL]) == 3


async def test_three_users_ten_each_start_round_robin_within_the_workspace_limit(make_app, sim):
    app = await make_app(max_inflight=5, max_inflight_per_user=10, default_budget="100")
    sim.configure(take_s=0.3)
    sim.configure_next(5, take_s=8.0)  # the first five hold the workspace while everyone else asks
    for user in (ALICE, BOB, CAROL):
        for i in range(10):
            assert (await app.command(f"a lantern #{i}", user=user)).status_code == 200
    await app.wait_idle(timeout=120)
    jobs = [j for user in (ALICE, BOB, CAROL) for j in await app.jobs(user)]
    assert len(jobs) == 30 and all(j.state is JobState.DELIVERED for j in jobs)
    jobs.sort(key=lambda j: j.started_at)
    names = {ALICE: "A", BOB: "B", CAROL: "C"}
    order = [names[j.user_id] for j in jobs]
    # Alice's burst came first and filled the workspace; after that nobody waits two turns.
    assert order[:5] == ["A"] * 5
    assert order[5:] == ["B", "C", "A"] * 5 + ["B", "C"] * 5
    _never_more_than(jobs, 5)
    for user in (ALICE, BOB, CAROL):  # oldest first per user
        mine = [j for j in jobs if j.user_id == user]
        assert [j.created_at for j in mine] == sorted(j.created_at for j in mine)


async def test_cancel_releases_exactly_the_reservation_once(make_app, sim, slack):
    app, running, queued = await _running_and_queued(
        make_app, sim, 3.0, "a long train --duration 4", "a short boat --duration 6"
    )
    assert queued.state is JobState.QUEUED and ACTION_CANCEL in _buttons(_status(slack, queued))
    before = await app.store.budget_status(ALICE)

    assert "Only <@U0ALICE01> or a video admin can cancel" in await _cancel(app, slack, queued, BOB)
    assert (await app.store.get_job(queued.id)).state is JobState.QUEUED

    double_click = [_cancel(app, slack, queued, ALICE), _cancel(app, slack, queued, ALICE)]
    answers = sorted(await asyncio.gather(*double_click))
    assert answers[0].startswith("Cancelled. The $0.066 reserved for it was released")
    assert "already cancelled" in answers[1]
    job = await app.store.get_job(queued.id)
    assert job.state is JobState.CANCELLED and job.money_state is MoneyState.RELEASED
    assert job.cancelled_by == ALICE and job.charged_micros == 0
    after = await app.store.budget_status(ALICE)
    assert (
        before.reserved_micros - after.reserved_micros == 66_000 and after.spent_micros == before.spent_micros
    )
    status = _status(slack, job)
    assert "Cancelled by <@U0ALICE01>" in status.text and _buttons(status) == []

    await app.wait_for(lambda: _submitted(app, running.id))  # the running one is at the gateway already
    assert "Too late to cancel" in await _cancel(app, slack, running, ADMIN)
    await app.wait_idle(timeout=60)
    assert sim.create_count == 1  # the cancelled video never reached the gateway
    assert (await app.store.get_job(running.id)).state is JobState.DELIVERED
    assert ACTION_CANCEL not in json.dumps(_status(slack, await app.store.get_job(running.id)).blocks)
    assert await app.store.audit() == []


async def _submitted(app, job_id: str) -> bool:
    job = await app.store.get_job(job_id)
    return job.gateway_job_id is not None


async def test_admin_cancels_anyones_queued_video(make_app, sim, slack):
    # The running video takes long against Slack's post pace: the queued one is still queued when
    # both are announced (with predictive polls a 2 s one may have started the queued one by then).
    app, _, queued = await _running_and_queued(make_app, sim, 6.0, "one", "two")
    assert "Cancelled" in await _cancel(app, slack, queued, ADMIN)
    job = await app.store.get_job(queued.id)
    assert job.cancelled_by == ADMIN and "Cancelled by <@U0ADMIN01>" in _status(slack, job).text
    history = ack_text(await app.command("history"))
    assert "cancelled · nothing charged" in history
    await app.wait_idle(timeout=60)


async def test_restart_with_queued_jobs_loses_none(make_app, sim, slack):
    first = await make_app(max_inflight_per_user=1)
    # Long against Slack's pace (1 post/s per channel): the three are announced while two still wait.
    sim.configure(take_s=6.0)
    for i in range(3):
        await first.command(f"a snowy owl #{i}")
    await _announced(first, ALICE, 3)
    assert ack_text(await first.command("history")).count("queued") == 2
    await first.service.stop()
    second = await make_app(max_inflight_per_user=1)
    await second.wait_for(lambda: _all_delivered(second, 3), timeout=60)
    await second.wait_idle(timeout=30)
    jobs = sorted(await second.jobs(), key=lambda j: j.created_at)
    assert [j.money_state for j in jobs] == [MoneyState.CHARGED] * 3
    assert len([f for f in slack.files if f.channel == CHANNEL]) == 3  # each delivered once
    assert len(slack.messages(CHANNEL)) == 3  # and announced once
    _never_more_than(jobs, 1)
    assert await second.store.audit() == []


async def _all_delivered(app, count: int) -> bool:
    jobs = await app.jobs()
    return len(jobs) == count and all(j.state is JobState.DELIVERED for j in jobs)


async def test_status_estimates_come_from_recent_generation_times(make_app, sim, slack):
    app = await make_app(max_inflight_per_user=1)
    sim.configure(take_s=1.0)
    await app.command("a first kite")
    await app.wait_idle()  # one generation time is known now
    await app.command("a second kite")
    await app.command("a third kite")
    _, second, third = await _announced(app, ALICE, 3)
    assert "Queued, next in line · ready in about" in _status(slack, third).history[0]
    await app.wait_idle(timeout=60)
    shown = _status(slack, await app.store.get_job(second.id)).history
    assert any("usually ready in about" in text for text in shown), shown
    assert all("Cancel" not in text or "Queued" in text for text in shown)
