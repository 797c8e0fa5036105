"""Which job state may follow which: the one table every state change is checked against.

    queued -> accepted -> submitting -> submitted -> generating -> downloading -> uploading -> delivered
        \\____________\\______________\\____________\\______________\\___________-> failed | expired
    queued | accepted -> cancelled (before the gateway hears of it; the reservation is released)

`Jobs.transition` and `SqlStore.finish` (the finishing move, with the money) both call
`check_transition` before their compare-and-set, for every state they expect to move from. A state
may also "move" to itself while unfinished: an owner-guarded write of fields that fences a replica
which lost its lease (see `JobFlow._hold`). To add a state, add it to `JobState` and one row here.
"""

from __future__ import annotations

from collections.abc import Iterable

from storage.errors import IllegalTransition
from storage.models import JobState

S = JobState
_GIVE_UP = frozenset({S.FAILED, S.EXPIRED})

TRANSITIONS: dict[JobState, frozenset[JobState]] = {
    # Waits for a slot (storage.queue starts it); cancellable until the gateway hears of it.
    S.QUEUED: frozenset({S.QUEUED, S.ACCEPTED, S.CANCELLED}) | _GIVE_UP,
    S.ACCEPTED: frozenset({S.ACCEPTED, S.SUBMITTING, S.CANCELLED}) | _GIVE_UP,
    # Crashed mid-create: never resent (it could pay twice), only given up.
    S.SUBMITTING: frozenset({S.SUBMITTING, S.SUBMITTED}) | _GIVE_UP,
    # A short video may be completed at the first poll, never seen processing.
    S.SUBMITTED: frozenset({S.SUBMITTED, S.GENERATING, S.DOWNLOADING}) | _GIVE_UP,
    S.GENERATING: frozenset({S.GENERATING, S.DOWNLOADING}) | _GIVE_UP,
    S.DOWNLOADING: frozenset({S.DOWNLOADING, S.UPLOADING}) | _GIVE_UP,
    S.UPLOADING: frozenset({S.UPLOADING, S.DELIVERED}) | _GIVE_UP,
    S.DELIVERED: frozenset(),
    S.FAILED: frozenset(),
    S.EXPIRED: frozenset(),
    S.CANCELLED: frozenset(),
}


def check_transition(expect: Iterable[JobState], to: JobState) -> list[JobState]:
    """The expected source states, each checked against the table; IllegalTransition otherwise."""
    sources = [JobState(s) for s in expect]
    if not sources:
        raise ValueError("expect needs at least one state")
    target = JobState(to)
    for source in sources:
        if target not in TRANSITIONS[source]:
            raise IllegalTransition(f"a job cannot go from {source.value} to {target.value}")
    return sources
