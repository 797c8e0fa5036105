"""The Slack pacer on its own: priorities, dropping progress edits, pauses after a 429, replicas."""

from __future__ import annotations

import asyncio

import pytest

from bot.slack.pacer import Dropped, Pacer, Priority

METHOD = "chat.update"  # Tier 3


async def _drain(pacer: Pacer, method: str = METHOD, channel: str | None = None) -> int:
    """Spend the burst, so the next caller has to wait for a token; returns how many calls went."""
    went = 0
    while pacer.backlog_s(method, channel) == 0:
        await pacer.acquire(method, channel=channel)
        went += 1
    return went


async def test_waiting_calls_go_in_priority_order():
    pacer = Pacer(tier_scale=25)  # ~20 tokens a second: the test is quick
    await _drain(pacer)
    order: list[Priority] = []

    async def call(priority: Priority) -> None:
        await pacer.acquire(METHOD, priority=priority)
        order.append(priority)

    # Queued lowest first; served highest first.
    tasks = []
    for priority in (Priority.PROGRESS, Priority.ANNOUNCE, Priority.DELIVERY, Priority.INTERACTIVE):
        tasks.append(asyncio.create_task(call(priority)))
        await asyncio.sleep(0)
    await asyncio.gather(*tasks[1:])
    assert order == [Priority.INTERACTIVE, Priority.DELIVERY, Priority.ANNOUNCE]
    # A progress edit leaves half the burst to the calls that matter: it is still waiting.
    assert not tasks[0].done()
    tasks[0].cancel()
    await asyncio.gather(tasks[0], return_exceptions=True)
    assert pacer.waits == 4


async def test_a_progress_edit_that_would_wait_long_is_dropped():
    pacer = Pacer()
    await _drain(pacer)
    with pytest.raises(Dropped):
        await pacer.acquire(METHOD, priority=Priority.PROGRESS, max_wait_s=0.5)
    # Other methods have buckets of their own.
    await pacer.acquire("files.completeUploadExternal", priority=Priority.PROGRESS, max_wait_s=0.5)


async def test_a_429_pauses_the_method_for_every_caller():
    pacer = Pacer()
    assert pacer.backlog_s(METHOD) == 0
    pacer.pause(METHOD, None, 30)
    assert pacer.backlog_s(METHOD) >= 29 and pacer.backlog_s("chat.postEphemeral") == 0
    waiter = asyncio.create_task(pacer.acquire(METHOD))
    await asyncio.sleep(0.05)
    assert not waiter.done()  # still paused
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter


async def test_posts_are_paced_per_channel_and_a_channel_429_pauses_only_it():
    pacer = Pacer()
    await _drain(pacer, "chat.postMessage", "C1")
    assert pacer.backlog_s("chat.postMessage", "C1") > 0
    assert pacer.backlog_s("chat.postMessage", "C2") == 0
    pacer.pause("chat.postMessage", "C1", 10)
    assert pacer.backlog_s("chat.postMessage", "C1") >= 9


async def test_replicas_share_the_workspace_rate():
    alone, shared = Pacer(), Pacer()
    shared.set_replicas(3)
    # Three replicas sharing Tier 3 (50/min): each bursts a third as much.
    assert await _drain(alone) == 9
    assert await _drain(shared) == 3
    shared.set_replicas(1)  # the others stopped beating: the whole rate again
    assert shared.backlog_s(METHOD) > 0
