"""The fair queue shared by three replicas on PostgreSQL: the workspace limit holds across them, and a
replica killed with queued jobs loses none of them to the survivors."""

from __future__ import annotations

from storage.models import Job, JobState
from tests.replicas.test_replicas import (  # noqa: F401 - start_replicas is a fixture, used by name
    USERS,
    all_jobs,
    assert_each_delivered_once,
    orders,
    send_plan,
    start_replicas,
    wait_for,
)

LIMIT = 4


async def test_workspace_limit_across_replicas_and_queued_jobs_survive_a_kill(
    start_replicas,  # noqa: F811 - the fixture imported above
    sim,
    slack,
    pg_store,
):
    plan = orders(16)  # 16 different users: only the workspace limit makes them wait
    replicas = await start_replicas(3, VIDEOBOT_MAX_INFLIGHT=str(LIMIT))
    await send_plan(replicas, slack, plan)

    def victim_holds_queued(jobs: list[Job]) -> bool:
        queued = [j for j in jobs if j.state is JobState.QUEUED]
        return (
            len(jobs) == len(plan)
            and all(j.status_ts for j in queued)
            and any(j.owner == "replica-1" for j in queued)
        )

    await wait_for(pg_store, USERS, victim_holds_queued, timeout=30)
    orphans = {
        j.id for j in await all_jobs(pg_store, USERS) if j.owner == "replica-1" and j.state is JobState.QUEUED
    }
    replicas[1].kill9()

    await wait_for(pg_store, USERS, lambda jobs: all(j.state.finished for j in jobs), timeout=90)
    jobs = await all_jobs(pg_store, USERS)
    by_id = {j.id: j for j in jobs}
    assert orphans and all(by_id[i].owner in {"replica-0", "replica-2"} for i in orphans)
    await assert_each_delivered_once(pg_store, slack, sim, plan)
    for job in jobs:  # at every start, at most LIMIT jobs were running in the whole workspace
        running = [k for k in jobs if k.started_at <= job.started_at < k.updated_at]
        assert len(running) <= LIMIT, (job.id, len(running))
