"""Three replicas of `videobot run` as separate processes on one PostgreSQL database.

Work is shared through job leases: a replica killed with SIGKILL, or frozen with SIGSTOP for longer
than its lease, loses its jobs to the survivors, and still every job is delivered exactly once and
every micro-dollar is accounted for. Budgets stay atomic with requests spread over the replicas.
"""

from __future__ import annotations

import asyncio
import itertools
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace

import httpx
import pytest

from bot.sim.gateway import Simulator
from bot.sim.signing import post_signed, slash_command_body
from bot.sim.slack import SlackStandIn
from storage.api import Store
from storage.models import Job, JobState, MoneyState
from tests.durability.proc import AppProcess
from tests.e2e.harness import CHANNEL, SIGNING_SECRET, ack_text
from tests.replicas.conftest import TIER_SCALE

PRICE = 11_000  # micro-dollars per second of seedance-2.0-fast
LEASE_S = 2.0
USERS = [f"U0RPL{i:03d}" for i in range(30)]


@dataclass(frozen=True)
class Order:
    """One `/video` command and what the gateway will bill for it."""

    n: int
    user: str
    duration: int
    billed: int
    take_s: float

    @property
    def text(self) -> str:
        # The simulator reads per-job behaviour from tokens in the prompt.
        extra = f" [sim:billed_duration={self.billed}]" if self.billed != self.duration else ""
        return f"shot {self.n} of a lighthouse [sim:take_s={self.take_s}]{extra} -d {self.duration}"


def orders(count: int) -> list[Order]:
    """Varied lengths (4-8 s), some billed shorter than asked, generation taking 2-4 s."""
    return [
        Order(
            n=i,
            user=USERS[i % len(USERS)],
            duration=4 + i % 5,
            billed=(4 + i % 5) - (1 if i % 7 == 0 else 0),
            take_s=2.0 + (i % 9) * 0.25,
        )
        for i in range(count)
    ]


StartReplicas = Callable[..., Awaitable[list[AppProcess]]]


@pytest.fixture
async def start_replicas(
    tmp_path, sim: Simulator, slack: SlackStandIn, pg_url: str
) -> AsyncIterator[StartReplicas]:
    """Factory: N `videobot run` processes on the test database; all killed at the end."""
    started: list[AppProcess] = []

    async def factory(count: int, **env: str) -> list[AppProcess]:
        env = {
            "VIDEOBOT_LEASE_S": str(LEASE_S),
            "VIDEOBOT_POLL_MAX_INTERVAL_S": "0.3",
            "VIDEOBOT_SLACK_TIER_SCALE": str(TIER_SCALE),
            **env,
        }
        replicas = [
            AppProcess(
                sim=sim,
                slack=slack,
                db_url=pg_url,
                log_path=tmp_path / f"replica-{i}.log",
                replica_id=f"replica-{i}",
                **env,
            )
            for i in range(count)
        ]
        started.extend(replicas)
        # Started together on purpose: concurrent migrations at start-up must be safe.
        await asyncio.gather(*(r.start() for r in replicas))
        return replicas

    yield factory
    for replica in started:
        if replica.proc is not None and replica.proc.poll() is None:
            replica.proc.send_signal(signal.SIGCONT)
        replica.stop()


async def send_commands(
    replicas: list[AppProcess], slack: SlackStandIn, items: list[tuple[str, str]], spacing_s: float = 0.0
) -> list[httpx.Response]:
    """Signed `/video` requests, round-robin over the replicas, `spacing_s` apart."""
    targets = itertools.cycle(replicas)
    async with httpx.AsyncClient(timeout=30) as http:

        async def send(delay: float, user: str, text: str, replica: AppProcess) -> httpx.Response:
            await asyncio.sleep(delay)
            body = slash_command_body(
                text=text, user_id=user, channel_id=CHANNEL, response_url=slack.new_response_url()
            )
            return await post_signed(http, replica.events_url, body, SIGNING_SECRET)

        return await asyncio.gather(
            *(send(i * spacing_s, user, text, next(targets)) for i, (user, text) in enumerate(items))
        )


async def send_plan(replicas: list[AppProcess], slack: SlackStandIn, plan: list[Order]) -> None:
    """Send every order of `plan`, 30 ms apart, round-robin; each must be accepted (started, or queued
    beyond the workspace's in-flight limit)."""
    responses = await send_commands(replicas, slack, [(o.user, o.text) for o in plan], spacing_s=0.03)
    assert all("Got it!" in ack_text(r) for r in responses), [ack_text(r) for r in responses]


async def all_jobs(store: Store, users: list[str]) -> list[Job]:
    jobs: list[Job] = []
    for user in users:
        jobs.extend(await store.user_jobs(user, 100))
    return jobs


async def wait_for(store: Store, users: list[str], done: Callable[[list[Job]], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if done(await all_jobs(store, users)):
            return
        await asyncio.sleep(0.05)
    states = Counter((j.state.value, j.owner) for j in await all_jobs(store, users))
    raise AssertionError(f"timed out; jobs by (state, owner): {dict(states)}")


async def assert_each_delivered_once(store: Store, slack: SlackStandIn, sim: Simulator, plan: list[Order]):
    """Every job delivered, one file in its thread, one parent message each, and the ledger exact."""
    jobs = await all_jobs(store, USERS)
    by_prompt = {j.prompt: j for j in jobs}
    assert len(jobs) == len(plan) == len(by_prompt)
    assert sim.create_count == len(plan)
    assert Counter(j.state for j in jobs) == {JobState.DELIVERED: len(plan)}
    assert len(slack.files) == len(plan)
    files_per_thread = Counter((f.channel, f.thread_ts) for f in slack.files)
    assert set(files_per_thread.values()) == {1}
    assert set(files_per_thread) == {(j.delivery_channel, j.parent_ts) for j in jobs}
    assert len(slack.messages(CHANNEL)) == len(plan)  # one parent per job, never announced twice
    for job in jobs:
        in_thread = [m for m in slack.thread(CHANNEL, job.parent_ts) if m.file is not None]
        assert len(in_thread) == 1, job.id

    assert await store.audit() == []
    for order in plan:
        job = by_prompt[order.text.replace(f" -d {order.duration}", "")]
        assert (job.duration, job.result_duration) == (order.duration, order.billed)
        assert job.money_state is MoneyState.CHARGED and job.charged_micros == order.billed * PRICE
    expected_total = sum(o.billed for o in plan) * PRICE
    assert sum(j.charged_micros for j in jobs) == expected_total
    spent = [await store.budget_status(u) for u in USERS]
    assert sum(s.spent_micros for s in spent) == expected_total
    assert all(s.reserved_micros == 0 for s in spent)


async def test_kill9_one_of_three_replicas_mid_flight(start_replicas, sim, slack, pg_store):
    # A few of the victim's jobs (orders go round-robin: n % 3 == 1 is its) generate for 8 s, so
    # it still polls them while delivering its others: polls that find jobs done within a fraction
    # of a second of each other had left no moment with both, some runs.
    plan = [replace(o, take_s=8.0) if o.n % 12 == 1 else o for o in orders(60)]
    # Slow shares keep some uploads half done (file id stored, share not yet answered) at the kill.
    slack.set_latency("files.completeUploadExternal", 0.5)
    replicas = await start_replicas(3)
    victim = replicas[1]
    await send_plan(replicas, slack, plan)

    # Kill once every job has its gateway id (a job killed mid-create is failed by design, never
    # created twice) and the victim is in the middle of delivering one while it still polls others.
    def victim_busy(jobs: list[Job]) -> bool:
        mine = [j for j in jobs if j.owner == "replica-1"]
        return (
            len(jobs) == len(plan)
            and all(j.gateway_job_id for j in jobs)
            and any(j.state in (JobState.DOWNLOADING, JobState.UPLOADING) for j in mine)
            and any(j.state in (JobState.SUBMITTED, JobState.GENERATING) for j in mine)
        )

    await wait_for(pg_store, USERS, victim_busy, timeout=30)
    victim.kill9()
    # Read once the victim is dead (its leases still run for LEASE_S): a job it finished between the
    # check above and the kill is not an orphan.
    orphans = {
        j.id for j in await all_jobs(pg_store, USERS) if j.owner == "replica-1" and not j.state.finished
    }

    await wait_for(pg_store, USERS, lambda jobs: all(j.state.finished for j in jobs), timeout=60)
    jobs = {j.id: j for j in await all_jobs(pg_store, USERS)}
    assert orphans and all(jobs[i].owner in {"replica-0", "replica-2"} for i in orphans)
    await assert_each_delivered_once(pg_store, slack, sim, plan)


async def test_replica_frozen_past_its_lease_gives_its_jobs_up(start_replicas, sim, slack, pg_store):
    """SIGSTOP (a long GC pause, a suspended VM): the others take over; woken up, it must not deliver."""
    plan = orders(30)
    # Slow upload steps: when frozen, it is most likely waiting for Slack in the middle of a delivery.
    for method in ("chat.update", "files.getUploadURLExternal", "files.completeUploadExternal"):
        slack.set_latency(method, 0.3)
    replicas = await start_replicas(3)
    frozen = replicas[0]
    await send_plan(replicas, slack, plan)

    def frozen_busy(jobs: list[Job]) -> bool:
        mine = [j for j in jobs if j.owner == "replica-0"]
        return (
            len(jobs) == len(plan)
            and all(j.gateway_job_id for j in jobs)
            and any(j.state is JobState.UPLOADING and j.file_id is None for j in mine)
        )

    await wait_for(pg_store, USERS, frozen_busy, timeout=30)
    assert frozen.proc is not None
    frozen.proc.send_signal(signal.SIGSTOP)
    held = {j.id for j in await all_jobs(pg_store, USERS) if j.owner == "replica-0" and not j.state.finished}
    try:
        # Wait until the survivors own every job the frozen replica held, then wake it up.
        await wait_for(
            pg_store,
            USERS,
            lambda jobs: all(j.owner != "replica-0" or j.state.finished for j in jobs if j.id in held),
            timeout=30,
        )
    finally:
        frozen.proc.send_signal(signal.SIGCONT)
    await wait_for(pg_store, USERS, lambda jobs: all(j.state.finished for j in jobs), timeout=60)
    await asyncio.sleep(LEASE_S)  # give the woken replica time to (wrongly) finish what it had started
    await assert_each_delivered_once(pg_store, slack, sim, plan)
    assert frozen.proc.poll() is None  # it lives on and keeps serving


async def test_budget_is_atomic_across_three_replica_processes(start_replicas, sim, slack, pg_store):
    """A budget that fits exactly 3 jobs, 50 concurrent requests over 3 replicas: 3 jobs, 47 refusals."""
    sim.configure(take_s=0.5)
    replicas = await start_replicas(
        3, VIDEOBOT_DEFAULT_BUDGET_USD="0.165", VIDEOBOT_MAX_INFLIGHT_PER_USER="100"
    )
    user = USERS[0]
    responses = await send_commands(replicas, slack, [(user, f"a drop of ink #{i}") for i in range(50)])
    accepted = [r for r in responses if "on its way" in ack_text(r)]
    refused = [r for r in responses if r not in accepted]
    assert len(accepted) == 3 and len(refused) == 47
    assert all("budget" in ack_text(r).lower() for r in refused), {ack_text(r) for r in refused}

    await wait_for(pg_store, [user], lambda jobs: len(jobs) == 3 and all(j.state.finished for j in jobs), 30)
    jobs = await all_jobs(pg_store, [user])
    assert sim.create_count == 3
    assert [j.state for j in jobs] == [JobState.DELIVERED] * 3
    status = await pg_store.budget_status(user)
    assert (status.spent_micros, status.reserved_micros) == (165_000, 0)
    assert await pg_store.audit() == []
    # Nothing refused reached Slack's channel: three parents, three files.
    assert len(slack.messages(CHANNEL)) == 3 and len(slack.files) == 3


async def test_one_signed_command_sent_to_three_replicas_starts_one_job(start_replicas, sim, slack, pg_store):
    replicas = await start_replicas(3)
    body = slash_command_body(
        text="a heron on one leg",
        user_id="U0HERON01",
        channel_id=CHANNEL,
        response_url=slack.new_response_url(),
    )
    async with httpx.AsyncClient(timeout=30) as http:
        # A captured request replayed at every replica at once, and once more after.
        answers = await asyncio.gather(
            *(post_signed(http, r.events_url, body, SIGNING_SECRET) for r in replicas)
        )
        answers.append(await post_signed(http, replicas[1].events_url, body, SIGNING_SECRET))
    assert all(a.status_code == 200 for a in answers)
    assert sum("on its way" in ack_text(a) for a in answers) >= 1
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        jobs = await pg_store.user_jobs("U0HERON01", 10)
        if jobs and jobs[0].state is JobState.DELIVERED:
            break
        await asyncio.sleep(0.2)
    [job] = await pg_store.user_jobs("U0HERON01", 10)
    assert job.state is JobState.DELIVERED and sim.create_count == 1
    assert (await pg_store.budget_status("U0HERON01")).spent_micros == job.charged_micros == 5 * 11_000
