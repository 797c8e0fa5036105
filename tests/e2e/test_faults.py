"""Faults of the gateway, the media and Slack: the user gets one video or one clear failure, and the
money is charged only for what was delivered."""

from __future__ import annotations

import pytest

from storage.models import JobState, MoneyState
from tests.e2e.harness import ALICE, CHANNEL

PRICE = 11_000


async def _one_job(app):
    await app.wait_idle(timeout=60)
    [job] = await app.jobs()
    return job


def _replies(slack, job) -> list[str]:
    """Thread replies other than the status message and the video itself."""
    return [
        m.text
        for m in slack.thread(job.delivery_channel, job.parent_ts)[1:]
        if m.ts != job.status_ts and m.file is None
    ]


async def _assert_failed_cleanly(app, slack, job, words: str) -> None:
    assert job.state in (JobState.FAILED, JobState.EXPIRED), job
    assert job.money_state is MoneyState.RELEASED and job.charged_micros == 0
    assert slack.files == []
    [reply] = _replies(slack, job)
    assert words in reply.lower() and "nothing was charged" in reply.lower()
    status = await app.store.budget_status(ALICE)
    assert status.spent_micros == 0 and status.reserved_micros == 0
    assert await app.store.audit() == []


async def _assert_delivered(app, slack, job, seconds: int) -> None:
    assert job.state is JobState.DELIVERED and job.money_state is MoneyState.CHARGED
    assert job.charged_micros == seconds * PRICE
    assert len([f for f in slack.files if f.thread_ts == job.parent_ts]) == 1
    assert await app.store.audit() == []


REFUSALS = [
    ({"create_status": 401}, "refused"),
    ({"create_status": 402}, "billing"),
    ({"get_status": 404}, "lost"),
    ({"fail": "content policy violation"}, "content policy violation"),
    ({"result": "not_mp4"}, "mp4"),
    ({"result": "foreign_origin"}, "do not download from"),
    ({"result": "redirect_foreign"}, "do not download from"),
]


@pytest.mark.parametrize(("faults", "words"), REFUSALS, ids=[str(f) for f, _ in REFUSALS])
async def test_gateway_and_media_faults_end_in_one_clear_failure(make_app, sim, slack, faults, words):
    app = await make_app()
    sim.configure(**faults)
    await app.command("a volcano erupting")
    job = await _one_job(app)
    reply = " ".join(_replies(slack, job)).lower()
    assert words in reply, reply
    await _assert_failed_cleanly(app, slack, job, "")
    assert sim.create_count == 1  # never a second paid job


async def test_create_that_may_have_reached_the_gateway_is_not_resent(make_app, sim, slack):
    app = await make_app()
    sim.configure(create_status=500)
    await app.command("a volcano erupting")
    job = await _one_job(app)
    await _assert_failed_cleanly(app, slack, job, "")
    assert sim.create_count == 1


TRANSIENT = [
    {"create_status": 429, "create_status_times": 2, "retry_after": "0.2"},
    {"create_status": 503, "create_status_times": 1, "retry_after": "0.1"},
    {"get_status": 500, "get_status_times": 3},
    {"get_status": 503, "get_status_times": 2, "error_body": "html"},
    {"get_status": 429, "get_status_times": 2, "retry_after": "0.2"},
    {"result": "redirect_same"},
]


@pytest.mark.parametrize("faults", TRANSIENT, ids=[str(f) for f in TRANSIENT])
async def test_transient_gateway_faults_are_waited_out(make_app, sim, slack, faults):
    app = await make_app()
    sim.configure(**faults)
    await app.command("a volcano erupting")
    job = await _one_job(app)
    await _assert_delivered(app, slack, job, 5)
    assert len(sim.jobs) == 1  # one job at the gateway, whatever was retried


async def test_stalled_job_expires_and_is_released(make_app, sim, slack):
    app = await make_app(job_timeout_s=2)
    sim.configure(stall=True)
    await app.command("a volcano erupting")
    job = await _one_job(app)
    assert job.state is JobState.EXPIRED
    await _assert_failed_cleanly(app, slack, job, "too long")


@pytest.mark.parametrize("variant", ["wrong_types", "missing_url", "bad_json"])
async def test_unreadable_gateway_answers_never_post_or_charge(make_app, sim, slack, variant):
    app = await make_app()  # the 30-minute timeout is not what ends it
    sim.configure(result=variant)
    await app.command("a volcano erupting")
    job = await _one_job(app)
    assert job.state is JobState.FAILED
    await _assert_failed_cleanly(app, slack, job, "")


async def test_huge_result_is_refused(make_app, sim, slack):
    app = await make_app(max_video_mb=1)
    sim.configure(huge_bytes=3 * 1024 * 1024)
    await app.command("a volcano erupting")
    job = await _one_job(app)
    await _assert_failed_cleanly(app, slack, job, "large")


async def test_result_trickling_a_byte_a_second_is_given_up(make_app, sim, slack):
    app = await make_app(download_grace_s=1.0)
    sim.configure(slow_bytes_per_s=1)
    await app.command("a volcano erupting")
    job = await _one_job(app)
    await _assert_failed_cleanly(app, slack, job, "")


async def test_billed_seconds_are_what_is_charged(make_app, sim, slack):
    app = await make_app()
    sim.configure(billed_duration=4)
    await app.command("a volcano erupting --duration 6")
    job = await _one_job(app)
    await _assert_delivered(app, slack, job, 4)
    assert "$0.044" in slack.files[0].initial_comment


async def test_slack_rate_limits_are_waited_out(make_app, sim, slack):
    app = await make_app()
    slack.fail_next("chat.postMessage", error="ratelimited", retry_after=1, times=2)
    slack.fail_next("chat.update", error="ratelimited", retry_after=1, times=1)
    await app.command("a volcano erupting")
    job = await _one_job(app)
    await _assert_delivered(app, slack, job, 5)
    assert len(slack.messages(CHANNEL)) == 1  # the parent was posted once, after the waits


async def test_upload_that_keeps_failing_is_offered_as_a_link(make_app, sim, slack):
    app = await make_app()
    slack.fail_next("upload", error="server_error", times=20)
    await app.command("a volcano erupting")
    await app.wait_idle(timeout=60)
    [job] = await app.jobs()
    assert job.state is JobState.DELIVERED and job.charged_micros == 5 * PRICE
    assert slack.files == []
    [reply] = _replies(slack, job)
    assert job.result_url in reply and "$0.055" in reply
