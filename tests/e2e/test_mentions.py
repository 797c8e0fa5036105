"""@videobot mentions end to end: signed Events API requests in, the MP4 in the thread people talk in."""

from __future__ import annotations

import asyncio
import json

from bot.sim.slack import BOT_USER
from bot.sim.slack.events import (
    deliver_event,
    deliver_socket_event,
    mention_envelope,
    post_mention,
    send_event,
)
from bot.ui.blocks.thread import ACTION_EDIT, ACTION_REGENERATE
from storage.models import JobState, MoneyState
from tests.e2e.harness import ALICE, APP_TOKEN, BOB, CHANNEL, SIGNING_SECRET
from tests.e2e.test_interactive import _button_click


async def _mention(app, text: str, *, user: str = ALICE, thread_ts: str | None = None, **kw):
    message = post_mention(app.slack, CHANNEL, user, text, thread_ts=thread_ts)
    envelope = mention_envelope(message, **kw)
    response = await send_event(app.http, app.service.events_url, SIGNING_SECRET, envelope)
    assert response.status_code == 200
    return message, envelope


async def _in_a_thread(app, slack, text: str):
    """Bob starts a thread; Alice mentions the bot in it with `text`; returns the root once all is done."""
    root = post_mention(slack, CHANNEL, BOB, "ideas for the launch video?")
    await _mention(app, text, thread_ts=root.ts)
    await app.wait_idle()
    return root


def _bot_replies(slack, ts: str):
    return [m for m in slack.thread(CHANNEL, ts) if m.user == BOT_USER]


async def test_a_mention_inside_a_thread_gets_its_mp4_in_that_thread(make_app, slack, sim):
    app = await make_app()
    root = await _in_a_thread(app, slack, f"<@{BOT_USER}> a slow drone shot over the lake --ar 9:16 -d 6")

    [job] = await app.jobs()
    assert job.state is JobState.DELIVERED and job.charged_micros == 66_000
    assert job.prompt == "a slow drone shot over the lake" and job.aspect_ratio == "9:16"
    assert job.delivery_channel == CHANNEL and job.parent_ts == root.ts
    # No new parent message: the channel still shows only Bob's message.
    assert [m.ts for m in slack.messages(CHANNEL)] == [root.ts]
    [record] = slack.files
    assert record.channel == CHANNEL and record.thread_ts == root.ts
    statuses = [m for m in _bot_replies(slack, root.ts) if m.file is None]
    assert len(statuses) == 1 and statuses[0].edits >= 2  # one status message, edited in place
    [said] = slack.ephemerals  # the acceptance, shown to Alice only, in the thread
    assert said.user == ALICE and said.thread_ts == root.ts and "$0.066" in said.text


async def test_a_top_level_mention_threads_under_itself(make_app, slack, sim):
    app = await make_app()
    message, _ = await _mention(app, f"<@{BOT_USER}|videobot> a red fox running through snow")
    await app.wait_idle()

    [job] = await app.jobs()
    assert job.state is JobState.DELIVERED and job.prompt == "a red fox running through snow"
    assert [m.ts for m in slack.messages(CHANNEL)] == [message.ts]  # no extra parent message
    [record] = slack.files
    assert record.thread_ts == message.ts
    assert "here is your video" in record.initial_comment


async def test_a_retried_event_makes_one_job_and_one_charge(make_app, slack, sim):
    app = await make_app()
    _, envelope = await _mention(app, f"<@{BOT_USER}> a lighthouse in a storm")
    resent = await send_event(
        app.http, app.service.events_url, SIGNING_SECRET, envelope, retry_num=1, retry_reason="http_timeout"
    )
    assert resent.status_code == 200
    await app.wait_idle()

    [job] = await app.jobs()
    assert job.state is JobState.DELIVERED and job.money_state is MoneyState.CHARGED
    assert sim.create_count == 1 and len(slack.files) == 1
    status = await app.store.budget_status(ALICE)
    assert status.spent_micros == 55_000 and status.reserved_micros == 0
    assert len(slack.ephemerals) == 1  # one acceptance, not one per delivery


async def test_a_retried_event_after_a_restart_starts_nothing(make_app, slack, sim, tmp_path):
    first = await make_app()
    _, envelope = await _mention(first, f"<@{BOT_USER}> a lighthouse in a storm")
    await first.wait_idle()
    await first.service.stop()

    second = await make_app()  # same database, a fresh process
    resent = await send_event(
        second.http,
        second.service.events_url,
        SIGNING_SECRET,
        envelope,
        retry_num=2,
        retry_reason="http_error",
    )
    assert resent.status_code == 200
    await second.wait_idle()
    assert len(await second.jobs()) == 1 and sim.create_count == 1 and len(slack.files) == 1


async def test_slack_resends_a_slow_answer_and_still_one_job_is_made(make_app, slack, sim):
    app = await make_app()
    # The first answer takes longer than Slack waits; Slack resends while it is still in progress.
    message = post_mention(slack, CHANNEL, ALICE, f"<@{BOT_USER}> waves on a black sand beach")
    envelope = mention_envelope(message)
    original = app.service.deps.store.reserve_with_status

    async def slow_reserve(*args, **kwargs):
        await asyncio.sleep(0.6)
        return await original(*args, **kwargs)

    app.service.deps.store.reserve_with_status = slow_reserve
    attempts = await deliver_event(
        app.http, app.service.events_url, SIGNING_SECRET, envelope, ack_timeout_s=0.2, retry_delays_s=(0.0,)
    )
    assert [(a.retry_num, a.reason) for a in attempts] == [(0, None), (1, "http_timeout")]
    await app.wait_idle()
    [job] = await app.jobs()
    assert job.state is JobState.DELIVERED and sim.create_count == 1 and len(slack.files) == 1


async def test_over_budget_mention_is_refused_with_nothing_in_the_thread(make_app, slack, sim):
    app = await make_app()
    await app.store.set_user_budget(ALICE, 10_000)  # $0.01: not enough for 5 s
    root = post_mention(slack, CHANNEL, BOB, "who can make the teaser?")
    _, envelope = await _mention(app, f"<@{BOT_USER}> a teaser with fireworks", thread_ts=root.ts)
    await send_event(app.http, app.service.events_url, SIGNING_SECRET, envelope, retry_num=1)
    await app.wait_idle()

    assert await app.jobs() == [] and sim.create_count == 0
    assert _bot_replies(slack, root.ts) == []  # nothing posted in the thread
    [refusal] = slack.ephemerals  # once, though Slack sent the event twice
    assert refusal.user == ALICE and refusal.thread_ts == root.ts
    assert "$0.01" in refusal.text and "budget" in refusal.text
    assert (await app.store.budget_status(ALICE)).reserved_micros == 0


async def test_mention_grammar_matches_video(make_app, slack, sim):
    app = await make_app()
    await _mention(app, f"<@{BOT_USER}> a cat --duration 99")
    await _mention(app, f"<@{BOT_USER}> HELP")
    await _mention(app, f"<@{BOT_USER}>")
    await app.wait_idle()
    assert await app.jobs() == [] and slack.files == []
    texts = sorted(e.text for e in slack.ephemerals)  # each answer is its own Slack call: any order
    assert len(texts) == 3
    assert sum("to 15 s, not “99”" in t for t in texts) == 1  # the duration range, as /video says it
    assert sum("--duration N" in t and "mention me" in t for t in texts) == 1  # help, threads included
    assert sum(t.startswith("Tell me what to make right after <@UBOT>") for t in texts) == 1  # a bare mention
    assert all(m.user != BOT_USER for m in slack.workspace.all_messages)


async def test_mention_text_is_escaped_and_only_the_bot_mention_removed(make_app, slack, sim):
    app = await make_app()
    await _mention(app, f"<@{BOT_USER}> <!channel> cats &amp; dogs &lt;b&gt; with <@{BOB}>")
    await app.wait_idle()
    [job] = await app.jobs()
    assert job.prompt == f"@channel cats & dogs <b> with @{BOB}"
    [record] = slack.files
    assert "<!channel>" not in record.title and "<b>" not in record.initial_comment


async def test_edits_and_bot_messages_start_nothing(make_app, slack, sim):
    app = await make_app()
    await _mention(app, f"<@{BOT_USER}> a kite over a hill", edited=True)
    message = slack.workspace.post(CHANNEL, f"<@{BOT_USER}> a kite over a hill")  # the bot's own post
    response = await send_event(app.http, app.service.events_url, SIGNING_SECRET, mention_envelope(message))
    assert response.status_code == 200
    other_bot = post_mention(slack, CHANNEL, "U0OTHERBOT", f"<@{BOT_USER}> a kite over a hill")
    envelope = mention_envelope(other_bot)
    envelope["event"]["bot_id"] = "B0OTHER"
    await send_event(app.http, app.service.events_url, SIGNING_SECRET, envelope)
    await app.wait_idle()
    assert await app.store.user_jobs(ALICE, 10) == [] and sim.create_count == 0
    assert slack.ephemerals == []


async def test_url_verification_is_answered(make_app, slack, sim):
    app = await make_app()
    body = {
        "token": "deprecated",
        "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
        "type": "url_verification",
    }
    response = await send_event(app.http, app.service.events_url, SIGNING_SECRET, body)
    assert response.status_code == 200 and body["challenge"] in response.text


async def test_unsigned_events_are_refused(make_app, slack, sim):
    app = await make_app()
    message = post_mention(slack, CHANNEL, ALICE, f"<@{BOT_USER}> a kite")
    response = await send_event(app.http, app.service.events_url, "wrong-secret", mention_envelope(message))
    assert response.status_code == 401
    await app.wait_idle()
    assert await app.jobs() == []


async def test_socket_mode_mention_and_its_resend_make_one_video(make_app, slack, sim):
    app = await make_app(slack_app_token=APP_TOKEN, mode=None)
    await slack.wait_for_socket(1)
    root = post_mention(slack, CHANNEL, BOB, "what should the intro look like?")
    message = post_mention(slack, CHANNEL, ALICE, f"<@{BOT_USER}> a koi pond --ar 1:1", thread_ts=root.ts)
    envelope = mention_envelope(message)
    await deliver_socket_event(slack, envelope)
    await deliver_socket_event(slack, envelope, retry_attempt=1)
    await app.wait_idle()
    [job] = await app.jobs()
    assert job.state is JobState.DELIVERED and job.aspect_ratio == "1:1" and sim.create_count == 1
    [record] = slack.files
    assert record.thread_ts == root.ts
    assert [a.type for a in slack.acks] == ["events_api", "events_api"]


async def test_a_resend_after_the_first_delivery_died_before_storing_still_makes_the_video(
    make_app, slack, sim
):
    app = await make_app()
    message = post_mention(slack, CHANNEL, ALICE, f"<@{BOT_USER}> a lighthouse in a storm")
    envelope = mention_envelope(message)
    # The first delivery reached a process that died before it stored anything: only the resend counts.
    resent = await send_event(
        app.http, app.service.events_url, SIGNING_SECRET, envelope, retry_num=1, retry_reason="http_timeout"
    )
    assert resent.status_code == 200
    await app.wait_idle()
    [job] = await app.jobs()
    assert job.state is JobState.DELIVERED and sim.create_count == 1 and len(slack.files) == 1


async def test_a_resent_refusal_is_not_said_twice(make_app, slack, sim):
    app = await make_app()
    _, envelope = await _mention(app, f"<@{BOT_USER}> a cat --ar 5:7")
    await send_event(app.http, app.service.events_url, SIGNING_SECRET, envelope, retry_num=1)
    await app.wait_idle()
    [refusal] = slack.ephemerals
    assert "16:9" in refusal.text and await app.jobs() == []


async def test_regenerate_and_edit_under_a_thread_video_stay_in_that_thread(make_app, slack, sim):
    app = await make_app()
    root = await _in_a_thread(app, slack, f"<@{BOT_USER}> a paper plane over a city")
    [job] = await app.jobs()

    await app.interact(_button_click(job, ACTION_REGENERATE, BOB, slack.new_response_url()))
    await app.wait_idle()
    [again] = await app.jobs(BOB)
    assert again.state is JobState.DELIVERED and again.thread_ts == again.parent_ts == root.ts
    assert [f.thread_ts for f in slack.files] == [root.ts, root.ts]
    assert [m.ts for m in slack.messages(CHANNEL)] == [root.ts]  # still no parent message of ours

    await app.interact(_button_click(job, ACTION_EDIT, ALICE, slack.new_response_url()))
    await app.wait_for(lambda: len(slack.workspace.views) == 1)
    [form] = slack.workspace.views.values()
    assert json.loads(form["private_metadata"])["thread_ts"] == root.ts
