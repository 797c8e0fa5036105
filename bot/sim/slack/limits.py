"""Slack's rate limits as the stand-in enforces them: per-method tiers, chat.postMessage's per-channel
pace, HTTP 429 with Retry-After, and a record of every call made inside an announced Retry-After.

Sources (one rule per line below cites its page):
- https://docs.slack.dev/apis/web-api/rate-limits: limits apply "per API method per workspace per
  app"; Tier 1 1+/min, Tier 2 20+/min, Tier 3 50+/min, Tier 4 100+/min, bursts tolerated; over a
  limit Slack answers HTTP 429 with a Retry-After header (seconds); chat.postMessage "generally
  allows posting one message per second per channel, while also maintaining a workspace-wide limit";
  "Short bursts >1 allowed". Apps that keep calling inside a Retry-After risk being disabled.
- each method's page (https://docs.slack.dev/reference/methods/<method>) names its tier.

Where Slack says "N+ per minute" the stand-in allows exactly N per minute, with a burst of a quarter
minute's worth (the page promises bursts without a number: stricter than Slack, not more lenient).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

TIER_PER_MINUTE = {1: 1, 2: 20, 3: 50, 4: 100}

# The tier on each method's page under https://docs.slack.dev/reference/methods/.
METHOD_TIER = {
    "auth.test": 4,  # auth.test: "Special", generous; Tier 4 is the strictest reading
    "chat.update": 3,  # chat.update: Tier 3
    "chat.postEphemeral": 4,  # chat.postEphemeral: Tier 4
    "chat.getPermalink": 4,  # chat.getPermalink: "Special"; treated as Tier 4
    "conversations.join": 3,  # conversations.join: Tier 3
    "conversations.open": 3,  # conversations.open: Tier 3
    "conversations.info": 3,  # conversations.info: Tier 3
    "conversations.history": 3,  # conversations.history: Tier 3 (internal apps)
    "conversations.replies": 3,  # conversations.replies: Tier 3 (internal apps)
    "users.info": 4,  # users.info: Tier 4
    "files.getUploadURLExternal": 4,  # files.getUploadURLExternal: Tier 4
    "files.completeUploadExternal": 4,  # files.completeUploadExternal: Tier 4
    "files.info": 4,  # files.info: Tier 4
    "views.open": 4,  # views.open: Tier 4
    "views.update": 4,  # views.update: Tier 4
    "views.publish": 4,  # views.publish: Tier 4
}
POST = "chat.postMessage"
# chat.postMessage: "Special": 1 per second per channel with short bursts (rate-limits page), and a
# workspace-wide limit the page does not quantify ("several hundred messages per minute" in its
# examples): 300 per minute here.
POST_PER_CHANNEL_PER_MINUTE = 60
POST_CHANNEL_BURST = 3
POST_WORKSPACE_PER_MINUTE = 300
BURST_MINUTES = 0.25


@dataclass
class Bucket:
    """A token bucket: `capacity` tokens, refilled at `rate` per second."""

    capacity: float
    rate: float
    tokens: float
    stamp: float

    def wait(self, now: float) -> float:
        """Seconds until a token is available (0: one is available now)."""
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate


@dataclass
class Violation:
    """A call made while a Retry-After Slack had announced for its method (or channel) was running."""

    method: str
    key: str
    time: float
    seconds_early: float


@dataclass
class RateLimits:
    """The workspace's limits; `tier_scale` multiplies every rate (tests and benchmarks only)."""

    tier_scale: float = 1.0
    clock: Callable[[], float] = time.monotonic
    buckets: dict[str, Bucket] = field(default_factory=dict)
    blocked_until: dict[str, float] = field(default_factory=dict)
    violations: list[Violation] = field(default_factory=list)
    throttled: int = 0  # 429 answers given

    def _bucket(self, key: str, per_minute: float, burst: float) -> Bucket:
        bucket = self.buckets.get(key)
        if bucket is None:
            rate = per_minute * self.tier_scale / 60
            capacity = max(1.0, burst * self.tier_scale)
            bucket = self.buckets[key] = Bucket(capacity, rate, capacity, self.clock())
        return bucket

    def _keyed(self, method: str, channel: str | None) -> list[tuple[str, Bucket]]:
        if method == POST:
            workspace = self._bucket(
                POST, POST_WORKSPACE_PER_MINUTE, POST_WORKSPACE_PER_MINUTE * BURST_MINUTES
            )
            out = [(POST, workspace)]
            if channel:
                key = f"{POST}@{channel}"
                out.append((key, self._bucket(key, POST_PER_CHANNEL_PER_MINUTE, POST_CHANNEL_BURST)))
            return out
        tier = METHOD_TIER.get(method)
        if tier is None:
            return []
        per_minute = TIER_PER_MINUTE[tier]
        return [(method, self._bucket(method, per_minute, per_minute * BURST_MINUTES))]

    def announce(self, key: str, seconds: float) -> None:
        """Slack told the app to wait `seconds` before calling `key` again."""
        self.blocked_until[key] = max(self.blocked_until.get(key, 0.0), self.clock() + seconds)

    def admit(self, method: str, channel: str | None = None) -> float | None:
        """None when the call may go through (a token is spent); else the Retry-After to answer with."""
        now = self.clock()
        keyed = self._keyed(method, channel)
        for key, _ in keyed:
            until = self.blocked_until.get(key, 0.0)
            if now < until:
                self.violations.append(Violation(method, key, now, until - now))
                self.throttled += 1
                return self.announced(until - now)
        waits = [(bucket.wait(now), key) for key, bucket in keyed]
        worst, key = max(waits, default=(0.0, ""))
        if worst > 0:
            self.throttled += 1
            announced = self.announced(worst)
            self.announce(key, announced)
            return announced
        for _, bucket in keyed:
            bucket.tokens -= 1
        return None

    def announced(self, seconds: float) -> float:
        """The Retry-After for a wait: Slack sends whole seconds; a scaled stand-in (tests, benchmarks)
        sends the exact wait in milliseconds so its scaled minutes stay short."""
        if self.tier_scale == 1.0:
            return float(max(1, math.ceil(seconds)))
        return math.ceil(max(seconds, 0.001) * 1000) / 1000

    @staticmethod
    def header(seconds: float) -> str:
        """The Retry-After header text for `seconds`."""
        return str(int(seconds)) if float(seconds).is_integer() else f"{seconds:.3f}"
