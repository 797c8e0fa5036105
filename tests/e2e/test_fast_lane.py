"""The /video fast lane (HTTP mode) answers exactly as the Bolt listener does: Slack cannot tell them
apart. Each command goes once through the lane and once through Bolt, for two users in the same state."""

from __future__ import annotations

import httpx

from bot.sim.signing import post_signed, slash_command_body
from bot.slack.transports import HttpTransport
from tests.e2e.harness import ALICE, BOB, CHANNEL, SIGNING_SECRET, ack_text

CASES = [
    "a red kite over the dunes",  # accepted: on its way, with the reservation and what is left
    "a red kite --duration 99",  # a parse error, with the fix
    "a red kite --ratio 7:3",  # another one
    "",  # the form: not the lane's (it answers with an empty ack and opens a modal)
    "help",  # not the lane's
]


def _answer(response: httpx.Response) -> tuple[int, str, bytes]:
    return response.status_code, response.headers.get("content-type", ""), response.content


async def test_the_lane_and_bolt_give_the_same_answers(make_app) -> None:
    app = await make_app()
    transport = app.service.transport
    assert isinstance(transport, HttpTransport)
    lane = transport._fast_lane
    assert lane is not None
    for text in CASES:
        transport._fast_lane = lane
        fast = await app.command(text, user=ALICE)
        transport._fast_lane = None  # Bolt's dispatch and the /video listener
        bolt = await app.command(text, user=BOB)
        assert _answer(fast) == _answer(bolt), text
        assert fast.status_code == 200
    transport._fast_lane = lane
    await app.wait_idle()
    alice, bob = await app.jobs(ALICE), await app.jobs(BOB)
    assert len(alice) == len(bob) == 1  # one accepted command each, the same reservation
    assert alice[0].estimate_micros == bob[0].estimate_micros and alice[0].prompt == bob[0].prompt


async def test_a_refusal_through_the_lane_is_claimed_so_a_replay_starts_nothing_later(make_app, sim) -> None:
    """A refused command is taken like an accepted one: replayed after the user's budget was raised,
    it gets the first refusal and still starts nothing."""
    app = await make_app()
    await app.store.set_user_budget(ALICE, 10_000)  # $0.01: a 5 s video ($0.055) does not fit
    body = slash_command_body(
        text="a red kite", user_id=ALICE, channel_id=CHANNEL, response_url=app.slack.new_response_url()
    )
    first = await post_signed(app.http, app.service.events_url, body, SIGNING_SECRET)
    assert "budget" in ack_text(first).lower()
    await app.store.set_user_budget(ALICE, 10_000_000)
    replay = await post_signed(app.http, app.service.events_url, body, SIGNING_SECRET)
    assert ack_text(replay) == ack_text(first)
    await app.wait_idle()
    assert await app.jobs(ALICE) == [] and sim.create_count == 0
