"""Request idempotency on both backends: one claim wins, repeats get its answer, across replicas."""

from __future__ import annotations

import asyncio

from storage.requests import REQUEST_TTL_S


async def test_first_claim_wins_and_repeats_get_the_answer(store):
    first = await store.claim_request("command:13345224609.738474920.8088930838d88f008e0")
    assert first.first and first.answer is None
    # Still being worked on: a repeat is told it is not first, with no answer yet.
    again = await store.claim_request("command:13345224609.738474920.8088930838d88f008e0")
    assert not again.first and again.answer is None
    await store.record_answer("command:13345224609.738474920.8088930838d88f008e0", '{"text": "queued"}')
    third = await store.claim_request("command:13345224609.738474920.8088930838d88f008e0")
    assert not third.first and third.answer == '{"text": "queued"}'
    assert (await store.claim_request("command:other")).first


async def test_one_winner_among_replicas_and_concurrent_claims(store_factory):
    replicas = [await store_factory() for _ in range(3)]
    outcomes = await asyncio.gather(*(r.claim_request("view:V1:hash1") for r in replicas for _ in range(5)))
    assert sum(o.first for o in outcomes) == 1


async def test_claims_survive_a_restart(store_factory):
    before = await store_factory()
    assert (await before.claim_request("action:A1:regenerate")).first
    await before.record_answer("action:A1:regenerate", "started")
    await before.close()
    after = await store_factory()
    repeat = await after.claim_request("action:A1:regenerate")
    assert not repeat.first and repeat.answer == "started"


async def test_keys_are_kept_ten_minutes_then_swept(store, clock):
    assert (await store.claim_request("event:Ev1")).first
    clock.advance(600)
    assert not (await store.claim_request("event:Ev1")).first
    clock.advance(REQUEST_TTL_S)
    # The sweep removed the old key: the table does not grow forever.
    assert (await store.claim_request("event:Ev2")).first
    async with store.db.transaction() as tx:
        keys = [r["key"] for r in await tx.fetchall("SELECT key FROM requests_seen ORDER BY key")]
    assert keys == ["event:Ev2"]
