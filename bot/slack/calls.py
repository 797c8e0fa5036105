"""One Slack call, paced and retried: the policy every Web API call of the app goes through.

The `AsyncWebClient` from `make_web_client` has no retry handlers of its own and carries the
process's one `Pacer`: `call` takes a token before each attempt, and a 429 pauses that method (or
channel) for every caller until Retry-After has passed, then the call waits its turn again. Being
throttled never fails a call before `Retry.throttled_patience_s`; other failures are retried
`Retry.attempts` times. Calls that post something are only repeated when Slack certainly did not take
them (429, connection refused), so nothing appears twice.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp
import httpx
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot import metrics
from bot.gateway.polling import retry_delay
from bot.slack.errors import classify
from bot.slack.pacer import Pacer, Priority
from storage.errors import HttpStatusError, SlackIOError, SlackRateLimited, SlackTransientError

log = logging.getLogger(__name__)

T = TypeVar("T")
_ERROR_CODE = re.compile(r"[a-z_]{1,40}")


@dataclass(frozen=True)
class Retry:
    """How often and how long to wait: `attempts` tries in all for failures that may pass, growing
    delays; throttling (429) is waited out for up to `throttled_patience_s` however often it comes."""

    attempts: int = 5
    base_s: float = 0.5
    cap_s: float = 10.0
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    throttled_patience_s: float = 1800.0  # a job's whole deadline, by default


DEFAULT_RETRY = Retry()


class PacedWebClient(AsyncWebClient):
    """An AsyncWebClient that carries the process's Slack pacer."""

    def __init__(self, *, pacer: Pacer, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pacer = pacer


def make_web_client(
    token: str,
    base_url: str = "https://slack.com/api/",
    *,
    timeout: int = 30,
    session: aiohttp.ClientSession | None = None,
    pacer: Pacer | None = None,
) -> PacedWebClient:
    """An AsyncWebClient without retry handlers (`call` retries), pointed at `base_url`, pacing its
    calls with `pacer` (a new one if not given: give every client of one process the same).

    With `session`, every call (and every per-request client Bolt derives from this one) reuses its
    pooled keep-alive connections; without, slack-sdk opens a new session and connection per call.
    """
    return PacedWebClient(
        pacer=pacer or Pacer(),
        token=token,
        base_url=base_url,
        timeout=timeout,
        retry_handlers=[],
        session=session,
    )


_CAUGHT = (
    SlackApiError,
    SlackClientError,
    HttpStatusError,
    aiohttp.ClientError,
    httpx.HTTPError,
    TimeoutError,
)


async def call(
    method: str,
    fn: Callable[[], Awaitable[T]],
    *,
    retry: Retry,
    client: AsyncWebClient | None = None,
    channel: str | None = None,
    priority: Priority = Priority.DELIVERY,
    max_wait_s: float | None = None,
    idempotent: bool = True,
    fence: Callable[[], Awaitable[None]] | None = None,
) -> T:
    """Run `fn` when the pacer of `client` lets `method` go; retry what may pass, a non-idempotent
    call only when Slack surely did not take it. Raises pacer.Dropped past `max_wait_s` of backlog.

    `fence` is awaited after the wait for Slack, right before each attempt (a job re-asserts it is
    still ours there: the wait may have been long); it may raise to stop."""
    pacer: Pacer | None = getattr(client, "pacer", None)
    attempt = 0
    started = time.monotonic()
    while True:
        if pacer is not None:
            await pacer.acquire(method, channel=channel, priority=priority, max_wait_s=max_wait_s)
        if fence is not None:
            await fence()
        try:
            result = await fn()
        except _CAUGHT as exc:
            err = classify(exc, method)
            metrics.slack_call(method, _outcome(err))
            if isinstance(err, SlackRateLimited):
                # Slack did not take the call, so repeating it never duplicates anything.
                wait = err.retry_after or retry_delay(1, base_s=retry.base_s, cap_s=retry.cap_s)
                if time.monotonic() - started + wait > retry.throttled_patience_s:
                    raise err from exc
                log.warning("slack %s throttled, every caller waits %.2fs", method, wait)
                if pacer is not None:
                    pacer.pause(method, channel, wait)
                else:
                    await retry.sleep(wait)
                continue
            attempt += 1
            retryable = isinstance(err, SlackTransientError)
            if not retryable or (err.maybe_delivered and not idempotent) or attempt >= retry.attempts:
                raise err from exc
            delay = retry_delay(attempt, base_s=retry.base_s, cap_s=retry.cap_s, retry_after=err.retry_after)
            log.warning("slack %s failed (%s), retry %d in %.2fs", method, err.error or err, attempt, delay)
            await retry.sleep(delay)
        else:
            metrics.slack_call(method, "ok")
            return result


def _outcome(err: SlackIOError) -> str:
    """A metrics label: Slack's error code, else the HTTP status, else the kind of failure."""
    if err.error and _ERROR_CODE.fullmatch(err.error):
        return err.error
    return f"http_{err.status}" if err.status else type(err).__name__
