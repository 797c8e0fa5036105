"""Hostile and broken requests: each refused or answered clearly, and nothing is created."""

from __future__ import annotations

import time

from bot.sim.signing import FORM, post_signed, signed_headers, slash_command_body
from tests.e2e.harness import ALICE, CHANNEL, SIGNING_SECRET, ack_text


async def _nothing_happened(app, sim, slack) -> None:
    await app.wait_idle()
    assert await app.jobs() == []
    assert sim.create_count == 0
    assert slack.calls_of("chat.postMessage") == []


async def test_unsigned_forged_and_replayed_requests_are_refused(make_app, sim, slack):
    app = await make_app()
    body = slash_command_body(text="a cat", user_id=ALICE, channel_id=CHANNEL)
    unsigned = await app.http.post(app.service.events_url, content=body, headers={"Content-Type": FORM})
    forged = await post_signed(app.http, app.service.events_url, body, "not-the-secret")
    replayed = await post_signed(
        app.http, app.service.events_url, body, SIGNING_SECRET, timestamp=int(time.time()) - 600
    )
    assert {unsigned.status_code, forged.status_code, replayed.status_code} == {401}
    await _nothing_happened(app, sim, slack)


async def test_tampered_body_is_refused(make_app, sim, slack):
    app = await make_app()
    body = slash_command_body(text="a cat", user_id=ALICE, channel_id=CHANNEL)
    headers = signed_headers(SIGNING_SECRET, body)
    tampered = body.replace("a+cat", "a+dog").replace("a%20cat", "a%20dog")
    assert tampered != body
    response = await app.http.post(app.service.events_url, content=tampered, headers=headers)
    assert response.status_code == 401
    await _nothing_happened(app, sim, slack)


async def test_oversize_request_is_refused(make_app, sim, slack):
    app = await make_app()
    body = slash_command_body(text="a" * 400_000, user_id=ALICE, channel_id=CHANNEL)
    response = await post_signed(app.http, app.service.events_url, body, SIGNING_SECRET)
    assert response.status_code == 413
    await _nothing_happened(app, sim, slack)


async def test_malformed_bodies_and_unknown_commands_create_nothing(make_app, sim, slack):
    app = await make_app()
    for body in ("%%%&&&===", "command=%2Fvideo", "payload=%7Bnot-json", "\x00\x01\x02"):
        response = await post_signed(app.http, app.service.events_url, body, SIGNING_SECRET)
        assert response.status_code in (200, 400, 404), body
    unknown = await app.command("a cat", command="/videoo")
    assert unknown.status_code == 404
    await _nothing_happened(app, sim, slack)


async def test_prompt_markup_and_control_characters_are_inert(make_app, slack):
    app = await make_app()
    prompt = (
        "*bold* _it_ ~s~ `code` <!here> <!subteam^S123> <@U0BOB0001|bob> <#C123|general> \x07\x1b[31m red"
    )
    response = await app.command(prompt)
    assert "on its way" in ack_text(response)
    await app.wait_idle()
    [job] = await app.jobs()
    assert "\x07" not in job.prompt and "\x1b" not in job.prompt
    [parent] = slack.messages(CHANNEL)
    shown = parent.text + str(parent.blocks)
    for live in ("<!here>", "<!subteam", "<@U0BOB0001", "<#C123"):
        assert live not in shown
    assert "\x07" not in shown and "\x1b" not in shown
