"""A replica that loses a job's lease stops driving it; the job's new owner finishes it, once."""

from __future__ import annotations

import asyncio

from storage.models import JobState
from tests.e2e.harness import ALICE, ack_text


async def test_a_replica_stops_the_task_of_a_job_taken_from_it(make_app, sim, slack, pg_url, pg_store):
    app = await make_app(db=pg_url, replica_id="replica-a", lease_s=1.5)
    runner = app.service.runner
    assert runner is not None
    response = await app.command("a heron in the fog [sim:stall]")
    assert "on its way" in ack_text(response)

    async def polling() -> bool:
        jobs = await app.jobs(ALICE)
        return bool(jobs) and jobs[0].state is JobState.GENERATING  # no transition until done

    await app.wait_for(polling)
    assert runner.active == 1
    (job,) = await app.jobs(ALICE)

    # Another replica takes the job over, as if this one had stalled past its lease. The victim's
    # lease loop may renew in between; retry until the thief holds it.
    async def stolen() -> bool:
        await pg_store.drop_leases("replica-a")
        return job.id in {j.id for j in await pg_store.claim("replica-thief", 60)}

    await app.wait_for(stolen)
    # The gateway job never finishes, so only losing the lease can end the task.
    await app.wait_for(lambda: runner.active == 0)
    taken = await pg_store.get_job(job.id)
    assert taken is not None and taken.owner == "replica-thief" and not taken.state.finished
    assert taken.gateway_job_id is not None
    sim_job = sim.jobs[taken.gateway_job_id]
    polls = sim_job.polls
    await asyncio.sleep(1.0)  # several poll intervals: nobody polls for the thief
    assert sim_job.polls == polls

    sim_job.faults.stall = False

    # The thief dies too: its lease is dropped and replica-a takes the job back and finishes it.
    await pg_store.drop_leases("replica-thief")

    async def delivered() -> bool:
        again = await pg_store.get_job(job.id)
        return again is not None and again.state is JobState.DELIVERED

    await app.wait_for(delivered)
    await app.wait_idle()
    done = await pg_store.get_job(job.id)
    assert done is not None and done.state is JobState.DELIVERED and done.owner == "replica-a"
    assert sim.create_count == 1 and len(slack.files) == 1
    assert await pg_store.audit() == []
