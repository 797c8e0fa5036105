"""The Slack pacer: one per process, shared by every job and handler, so the app stays inside
Slack's published rate limits instead of finding them with 429s.

Slack limits each Web API method per workspace and app (Tier 2 20/min, Tier 3 50/min, Tier 4
100/min; https://docs.slack.dev/apis/web-api/rate-limits), and chat.postMessage to about one
message per second per channel with short bursts, under a workspace-wide limit. Every call takes a
token from its method's bucket (and, for a post, from its channel's bucket) before it goes out.

- A 429 pauses that method (or channel) for every caller until its Retry-After has passed: a call
  inside an announced Retry-After is what gets apps disabled.
- Waiting calls are served in priority order: answers to a person first, then deliveries, then
  announcements, then progress edits; a progress edit that would wait long is dropped instead.
- Several replicas share one workspace's limits: each paces at 1/N of them (`set_replicas`).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum

from storage.errors import Dropped

__all__ = ["Dropped", "Pacer", "Priority"]

# Method tiers as each method's page under https://docs.slack.dev/reference/methods/ lists them.
TIER_PER_MINUTE = {2: 20.0, 3: 50.0, 4: 100.0}
METHOD_TIERS = {
    "chat.update": 3,
    "chat.postEphemeral": 4,
    "chat.getPermalink": 4,
    "conversations.join": 3,
    "conversations.open": 3,
    "conversations.info": 3,
    "users.info": 4,
    "files.getUploadURLExternal": 4,
    "files.completeUploadExternal": 4,
    "files.info": 4,
    "views.open": 4,
    "views.update": 4,
    "views.publish": 4,
}
POST = "chat.postMessage"
POST_CHANNEL_PER_MINUTE = 60.0  # "1 per second per channel, short bursts >1 allowed"
POST_WORKSPACE_PER_MINUTE = 300.0  # the unpublished workspace-wide limit, read conservatively
# A little under the published rates, and small bursts: Slack's own buckets are never emptied first.
RATE_MARGIN = 0.95
BURST_S = 12.0  # a burst of at most this many seconds' worth of calls
POST_CHANNEL_BURST = 2.0


class Priority(IntEnum):
    """Who waits first when a method is busy (lower goes first)."""

    INTERACTIVE = 0  # an answer to a person's command or click, a modal
    DELIVERY = 1  # uploads, final status edits, failure replies
    ANNOUNCE = 2  # the request's parent message and first status, DMs
    PROGRESS = 3  # progress edits of a status message (coalesced, dropped first)


@dataclass
class _Lane:
    """One rate limit: a token bucket, a pause after a 429, and the calls waiting for it."""

    rate: float  # tokens per second
    capacity: float
    tokens: float
    stamp: float
    paused_until: float = 0.0
    queue: list[tuple[int, int, asyncio.Future[None]]] = field(default_factory=list)
    timer: asyncio.TimerHandle | None = None

    def refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + max(0.0, now - self.stamp) * self.rate)
        self.stamp = now

    def needed(self, priority: int) -> float:
        """Tokens that must be in the bucket for a call of `priority` to take one: progress edits
        leave half the burst to the calls that matter, so under load they get nothing (and drop)."""
        return 1.0 + (self.capacity / 2 if priority >= Priority.PROGRESS else 0.0)

    def wait_s(self, now: float, ahead: int, priority: int) -> float:
        """Roughly how long a call of `priority` with `ahead` calls before it would wait."""
        self.refill(now)
        pause = max(0.0, self.paused_until - now)
        return pause + max(0.0, (ahead + self.needed(priority) - self.tokens) / self.rate)


class Pacer:
    """Token buckets per method and per channel, shared by every caller of one process."""

    def __init__(self, *, tier_scale: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._scale = tier_scale
        self._share = 1.0
        self._clock = clock
        self._lanes: dict[str, _Lane] = {}
        self._seq = itertools.count()
        self.waits = 0  # calls that had to wait for a token (a figure for /metrics and benchmarks)
        self.pauses = 0  # 429s that paused a lane

    def set_replicas(self, live: int) -> None:
        """Pace at 1/`live` of the workspace's limits (several replicas share them)."""
        share = 1.0 / max(1, live)
        if share == self._share:
            return
        self._share = share
        for key, lane in self._lanes.items():
            lane.rate, lane.capacity = self._limits(key)
            lane.tokens = min(lane.tokens, lane.capacity)

    def _limits(self, key: str) -> tuple[float, float]:
        """(tokens per second, burst) of a lane, for this replica's share."""
        method, _, channel = key.partition("@")
        if method == POST:
            per_minute = POST_CHANNEL_PER_MINUTE if channel else POST_WORKSPACE_PER_MINUTE
        else:
            # "Most methods allow at least 20 requests per minute": unlisted methods are Tier 2.
            per_minute = TIER_PER_MINUTE[METHOD_TIERS.get(method, 2)]
        # Replicas share every limit, a channel's pace included (they may post in one channel).
        rate = per_minute / 60 * RATE_MARGIN * self._scale * self._share
        if channel:
            return rate, max(1.0, POST_CHANNEL_BURST * self._scale * self._share)
        return rate, max(1.0, rate * BURST_S)

    def _keys(self, method: str, channel: str | None) -> list[str]:
        if method == POST:
            return [f"{POST}@{channel}", POST] if channel else [POST]
        return [method]

    def _lane(self, key: str) -> _Lane:
        lane = self._lanes.get(key)
        if lane is None:
            rate, capacity = self._limits(key)
            lane = self._lanes[key] = _Lane(rate, capacity, capacity, self._clock())
        return lane

    def backlog_s(
        self, method: str, channel: str | None = None, priority: Priority = Priority.DELIVERY
    ) -> float:
        """Roughly how long a call of `method` at `priority` would wait now."""
        now = self._clock()
        waits = [0.0]
        for key in self._keys(method, channel):
            lane = self._lane(key)
            ahead = sum(1 for p, _, f in lane.queue if p <= priority and not f.done())
            waits.append(lane.wait_s(now, ahead, priority))
        return max(waits)

    async def acquire(
        self,
        method: str,
        *,
        channel: str | None = None,
        priority: Priority = Priority.DELIVERY,
        max_wait_s: float | None = None,
    ) -> None:
        """Wait for this call's turn; Dropped when that would take longer than `max_wait_s`."""
        if max_wait_s is not None and self.backlog_s(method, channel, priority) > max_wait_s:
            raise Dropped(method)
        for key in self._keys(method, channel):
            await self._take(key, priority)

    async def _take(self, key: str, priority: Priority) -> None:
        lane = self._lane(key)
        now = self._clock()
        lane.refill(now)
        if not lane.queue and lane.tokens >= lane.needed(priority) and now >= lane.paused_until:
            lane.tokens -= 1
            return
        self.waits += 1
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(lane.queue, (int(priority), next(self._seq), future))
        self._schedule(lane, 0.0)
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                lane.tokens += 1  # granted just as we were cancelled: give the token back
            self._schedule(lane, 0.0)
            raise

    def _schedule(self, lane: _Lane, delay: float) -> None:
        if lane.timer is not None:
            lane.timer.cancel()
        lane.timer = asyncio.get_running_loop().call_later(delay, self._pump, lane)

    def _pump(self, lane: _Lane) -> None:
        """Hand out the tokens there are to the first waiters; come back when the next is due."""
        lane.timer = None
        now = self._clock()
        lane.refill(now)
        while lane.queue and lane.queue[0][2].done():
            heapq.heappop(lane.queue)  # cancelled waiters
        if not lane.queue:
            return
        if now < lane.paused_until:
            self._schedule(lane, lane.paused_until - now)
            return
        while lane.queue and lane.tokens >= lane.needed(lane.queue[0][0]):
            _, _, future = heapq.heappop(lane.queue)
            if not future.done():
                lane.tokens -= 1
                future.set_result(None)
        if lane.queue:
            self._schedule(lane, max(0.001, (lane.needed(lane.queue[0][0]) - lane.tokens) / lane.rate))

    def pause(self, method: str, channel: str | None, seconds: float) -> None:
        """Slack answered 429: nobody calls `method` (in `channel`) again before `seconds` passed."""
        self.pauses += 1
        until = self._clock() + seconds
        for key in self._keys(method, channel):
            lane = self._lane(key)
            lane.paused_until = max(lane.paused_until, until)
            # Slack's bucket was empty: ours must not believe otherwise. Retry-After promises one call.
            lane.tokens = 1.0
            lane.stamp = lane.paused_until
            if lane.queue:
                self._schedule(lane, seconds)
