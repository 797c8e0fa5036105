"""Random sequences of ledger operations (queued and cancelled jobs too) against a model of the rules,
on both backends."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from storage import JobState, Refused
from storage.periods import period_key
from storage.queue import _TURNS as TURNS
from tests.storage.helpers import PRICE, at, new_job, walk, wipe
from tests.store_tools import StoreForTests

USERS = ("U1", "U2", "U3")
MAX_INFLIGHT = 2
MAX_WORKSPACE = 3  # jobs running at once in the workspace
MAX_QUEUED = 2  # a user's queued jobs
DEFAULT = 18 * PRICE
START = at("2026-11-10T20:00:00")

# Whole seconds of video, so budgets that fit a job exactly (the edge) come up often.
money = st.integers(min_value=0, max_value=40).map(lambda n: n * PRICE)
op = st.one_of(
    st.tuples(st.just("reserve"), st.sampled_from(USERS), st.integers(1, 15)),
    st.tuples(st.just("reserve"), st.sampled_from(USERS), st.integers(1, 15)),
    # Short videos, so users reach the in-flight limits (and the queue) within their budgets.
    st.tuples(st.just("reserve"), st.sampled_from(USERS), st.integers(1, 2)),
    st.tuples(st.just("reserve"), st.sampled_from(USERS), st.integers(1, 2)),
    st.tuples(st.just("deliver"), st.integers(0, 40), st.integers(0, 15)),
    st.tuples(st.just("settle"), st.integers(0, 40)),
    st.tuples(st.just("release"), st.integers(0, 40)),
    st.tuples(st.just("fail"), st.integers(0, 40)),
    st.tuples(st.just("budget"), st.sampled_from(USERS), money),
    st.tuples(st.just("default"), st.none() | money),
    st.tuples(st.just("cap"), st.none() | st.integers(0, 90).map(lambda n: n * PRICE)),
    st.tuples(st.just("freeze"), st.sampled_from(USERS), st.booleans()),
    st.tuples(st.just("advance"), st.integers(0, 30 * 3600)),
    st.tuples(st.just("start")),
    st.tuples(st.just("cancel"), st.integers(0, 40)),
)


@dataclass
class Model:
    """What the ledger should hold, computed the obvious way."""

    now: float
    jobs: dict[str, dict[str, Any]] = field(
        default_factory=dict
    )  # id -> user, estimate, charged, money, period, state (queued | accepted | finished)
    order: list[str] = field(default_factory=list)
    budgets: dict[str, int] = field(default_factory=dict)
    default: int | None = None
    cap: int | None = None
    frozen: set[str] = field(default_factory=set)

    @property
    def period(self) -> str:
        return period_key("day", self.now)

    def spent(self, user: str | None = None) -> int:
        return sum(
            j["charged"]
            for j in self.jobs.values()
            if j["money"] == "charged" and j["period"] == self.period and user in (None, j["user"])
        )

    def reserved(self, user: str | None = None) -> int:
        return sum(
            j["estimate"]
            for j in self.jobs.values()
            if j["money"] == "reserved" and user in (None, j["user"])
        )

    def limit(self, user: str) -> int:
        return self.budgets.get(user, DEFAULT if self.default is None else self.default)

    def running(self, user: str | None = None) -> int:
        """Jobs holding a slot: money reserved and no longer queued."""
        return sum(
            1
            for j in self.jobs.values()
            if j["money"] == "reserved" and j["state"] != "queued" and user in (None, j["user"])
        )

    def queued(self, user: str | None = None) -> list[str]:
        return [
            i
            for i in self.order
            if self.jobs[i]["state"] == "queued" and user in (None, self.jobs[i]["user"])
        ]

    def waiting(self) -> int:
        """Queued jobs whose user could start one now."""
        return sum(1 for i in self.queued() if self.running(self.jobs[i]["user"]) < MAX_INFLIGHT)

    def must_queue(self, user: str) -> bool:
        return (
            self.running(user) >= MAX_INFLIGHT
            or bool(self.queued(user))
            or self.running() + self.waiting() >= MAX_WORKSPACE
        )

    def expected_refusal(self, user: str, estimate: int) -> str | None:
        if user in self.frozen:
            return "frozen"
        if self.must_queue(user) and len(self.queued(user)) >= MAX_QUEUED:
            return "queue_full"
        if self.spent(user) + self.reserved(user) + estimate > self.limit(user):
            return "budget"
        if self.cap is not None and self.spent() + self.reserved() + estimate > self.cap:
            return "cap"
        return None


async def _apply(store, clock, model: Model, step: tuple[Any, ...]) -> None:  # noqa: C901 - one branch per operation
    kind = step[0]
    if kind == "reserve":
        _, user, duration = step
        expected = model.expected_refusal(user, duration * PRICE)
        try:
            job = await store.reserve(new_job(user=user, duration=duration), owner="r1", lease_s=30)
        except Refused as refused:
            assert refused.reason == expected
            event(f"refused {expected}")
            return
        assert expected is None
        assert job.state is (JobState.QUEUED if model.must_queue(user) else JobState.ACCEPTED)
        event(f"reserved {job.state.value}")
        model.jobs[job.id] = {
            "state": job.state.value,
            "user": user,
            "estimate": job.estimate_micros,
            "charged": 0,
            "money": "reserved",
        }
        model.jobs[job.id]["period"] = job.period
        model.order.append(job.id)
        status = await store.budget_status(user)
        assert status.spent_micros + status.reserved_micros <= status.limit_micros
        ws = await store.workspace_status()
        assert ws.cap_micros is None or ws.spent_micros + ws.reserved_micros <= ws.cap_micros
    elif kind in ("deliver", "settle", "release", "fail"):
        if not model.order:
            return
        job_id = model.order[step[1] % len(model.order)]
        entry = model.jobs[job_id]
        first = entry["money"] == "reserved"
        job = await store.get_job(job_id)
        if kind in ("deliver", "fail") and not first:
            return  # finishing a job whose money already moved is the caller's bug; audit() reports it
        if kind in ("deliver", "settle") and job.state is JobState.QUEUED:
            return  # a queued job cannot have been made, so nothing can be charged for it
        if kind == "deliver":
            billed = step[2] or job.duration
            await walk(store, job_id)
            done = await store.finish(
                job_id,
                JobState.DELIVERED,
                expect=[JobState.UPLOADING],
                billed_seconds=billed,
                result_duration=billed,
            )
            assert done is not None and job.state is JobState.ACCEPTED
            if done is not None and first:
                # Never more than the reservation, whatever the gateway says it made.
                entry.update(money="charged", charged=min(billed, job.duration) * PRICE, state="finished")
        elif kind == "fail":
            done = await store.finish(job_id, JobState.FAILED, expect=[JobState.ACCEPTED])
            assert (done is not None) == (job.state is JobState.ACCEPTED)
            if done is not None and first:
                entry.update(money="released", state="finished")
        elif kind == "settle":
            assert await store.settle(job_id, job.result_duration or job.duration) is first
            if first:
                entry.update(money="charged", charged=job.duration * PRICE)
        else:
            assert await store.release(job_id) is first
            if first:
                entry.update(money="released")
        if entry["money"] == "released":
            job = await store.get_job(job_id)
            assert job.charged_micros == 0
    elif kind == "budget":
        await store.set_user_budget(step[1], step[2])
        model.budgets[step[1]] = step[2]
    elif kind == "default":
        await store.set_default_budget(step[1])
        model.default = step[1]
    elif kind == "cap":
        await store.set_cap(step[1])
        model.cap = step[1]
    elif kind == "freeze":
        changed = await store.set_frozen(step[1], step[2])
        assert changed == ((step[1] in model.frozen) != step[2])
        (model.frozen.add if step[2] else model.frozen.discard)(step[1])
    elif kind == "start":
        await _start(store, model)
    elif kind == "cancel":
        if not model.order:
            return
        job_id = model.order[step[1] % len(model.order)]
        entry = model.jobs[job_id]
        if entry["money"] != "reserved":
            return  # cancelling a job whose money already moved is the caller's bug, as for "fail"
        done = await store.cancel(job_id, "UADMIN")
        assert (done is not None) == (entry["state"] in ("queued", "accepted"))
        if done is not None:
            event("cancelled")
            assert done.state is JobState.CANCELLED and done.charged_micros == 0
            entry.update(
                state="finished", money="released" if entry["money"] == "reserved" else entry["money"]
            )
    elif kind == "advance":
        clock.advance(step[1])
        model.now = clock.now


async def _start(store, model: Model) -> None:
    """start_queued fills exactly the free slots it may, oldest first per user, within every limit."""
    free = MAX_WORKSPACE - model.running()
    room = {u: max(0, MAX_INFLIGHT - model.running(u)) for u in USERS}
    eligible = sum(min(len(model.queued(u)), room[u]) for u in USERS)
    started = await store.start_queued("r1", 30)
    assert len(started) == max(0, min(free, eligible))
    for user in USERS:
        mine = [j.id for j in started if j.user_id == user]
        assert mine == model.queued(user)[: len(mine)]  # oldest first per user
    for job in started:
        assert job.state is JobState.ACCEPTED
        model.jobs[job.id]["state"] = "accepted"
    assert model.running() <= MAX_WORKSPACE or not started
    assert all(model.running(u) <= MAX_INFLIGHT for u in USERS) or not started


async def _check(store, model: Model) -> None:
    for user in USERS:
        status = await store.budget_status(user)
        assert (status.spent_micros, status.reserved_micros, status.limit_micros) == (
            model.spent(user),
            model.reserved(user),
            model.limit(user),
        )
        assert status.spent_micros >= 0 and status.reserved_micros >= 0
    ws = await store.workspace_status()
    assert (ws.spent_micros, ws.reserved_micros, ws.cap_micros) == (
        model.spent(),
        model.reserved(),
        model.cap,
    )
    # Each queued job's place (what its ack and its thread say) is its place in the full order, and
    # the turns table it is counted on is the turns computed from the jobs.
    ahead = await store.queue_ahead()
    assert {job_id: await store.queue_place(job_id) for job_id in ahead} == ahead
    async with store.db.transaction() as tx:
        kept = await tx.fetchall("SELECT user_id, last_start, oldest FROM queue_turns ORDER BY user_id")
        turns = await tx.fetchall(f"SELECT user_id, last, oldest FROM ({TURNS}) AS t ORDER BY user_id")
    assert [tuple(r.values()) for r in kept] == [tuple(r.values()) for r in turns]


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(op, max_size=30))
async def test_ledger_matches_model(store, clock, steps):
    # One connection for all examples; this view of it uses the test's budget rules.
    config = replace(
        store.config,
        period="day",
        default_budget_micros=DEFAULT,
        max_inflight_per_user=MAX_INFLIGHT,
        max_inflight=MAX_WORKSPACE,
        max_queued_per_user=MAX_QUEUED,
    )
    store = StoreForTests(store.db, config)
    await wipe(store)
    clock.now = START
    model = Model(now=START)
    for step in steps:
        await _apply(store, clock, model, step)
        await _check(store, model)
    # Every reservation ends exactly once.
    for job_id in model.order:
        was_held = model.jobs[job_id]["money"] == "reserved"
        assert await store.release(job_id) is was_held
        assert await store.release(job_id) is False
        assert await store.settle(job_id, 1) is False
    for job_id in model.order:  # close the jobs so the audit sees a finished, balanced ledger
        if (await store.get_job(job_id)).state.finished:
            continue
        if model.jobs[job_id]["money"] == "charged":  # settled already: finishing moves no money
            await walk(store, job_id)
            await store.finish(job_id, JobState.DELIVERED, expect=[JobState.UPLOADING], billed_seconds=1)
        else:
            await store.finish(job_id, JobState.FAILED, expect=[JobState.ACCEPTED, JobState.QUEUED])
    assert await store.audit() == []
    assert (await store.workspace_status()).reserved_micros == 0
