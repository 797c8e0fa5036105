"""Predictive polling end to end: jobs of a model and duration whose recent generation times are known
are polled a few times before the video is likely ready, then densely, and are still delivered; the
same jobs without history keep the old pace. Polls are counted by the simulator, per job."""

from __future__ import annotations

import time

from bot.gateway.polling import PollPlan
from bot.settings import load_settings
from storage.models import JobState
from tests.e2e.harness import ALICE, BOB, RunningApp

USERS = [ALICE, BOB, "U0CAROL01", "U0DAVE001"]
DURATIONS = [4, 5, 6, 7]  # one job of each: no job's completion becomes another's history
TAKE_S = 2.0  # the harness polls at most every 0.2 s: the plan scaled to it (see PollPlan.for_cap)
HISTORY = [1.9, 2.0, 2.1, 1.95, 2.05, 2.2]


MODEL = load_settings().model


async def _run_jobs(app: RunningApp, count: int) -> None:
    for user, duration in list(zip(USERS, DURATIONS, strict=True))[:count]:
        await app.command(f"a paper boat on a river --duration {duration}", user=user)
    await app.wait_idle(timeout=60)
    for user in USERS[:count]:
        [job] = await app.jobs(user)
        assert job.state is JobState.DELIVERED


def _polls_before(app: RunningApp, seconds: float) -> list[int]:
    """Per gateway job: how many polls the simulator saw before `seconds` after its creation."""
    requests = app.sim.requests
    return [
        sum(1 for r in requests if r["path"] == f"/v1/jobs/{job.id}" and r["t"] < job.created + seconds)
        for job in app.sim.jobs.values()
    ]


async def test_known_history_means_few_polls_before_the_window(make_app, sim):
    app = await make_app()
    for duration in DURATIONS:
        for i, seconds in enumerate(HISTORY):
            await app.store.record_generation_time(MODEL, duration, seconds, time.time() - 100 + i)
    sim.configure(take_s=TAKE_S, take_spread=0.05)
    await _run_jobs(app, len(USERS))

    dense_s = PollPlan.for_cap(app.service.settings.poll_max_interval_s).dense_s
    before_window = _polls_before(app, min(HISTORY) - dense_s)
    assert len(before_window) == len(USERS) and max(before_window) <= 2
    # Through the window the polls are dense: each job is seen within a few polls of finishing.
    assert all(
        1 <= job.polls <= 2 + (TAKE_S * 1.05 - min(HISTORY)) / dense_s + 3 for job in sim.jobs.values()
    )


async def test_without_history_the_old_pace_is_kept(make_app, sim):
    app = await make_app()
    sim.configure(take_s=TAKE_S, take_spread=0.05)
    await _run_jobs(app, 1)  # one: the next ones' first polls would wait for Slack's pace in the channel
    # 0.13 s, then every 0.2 s: many polls before the same point.
    [polls] = _polls_before(app, min(HISTORY) - 0.1)
    assert polls >= 5
    # And its generation time is now history for the next job of its kind.
    assert len(await app.store.recent_generation_times(MODEL, DURATIONS[0], 10)) == 1
