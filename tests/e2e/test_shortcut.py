"""The "Make a video" message shortcut end to end: the form prefilled with the message's words, the
video in that message's thread."""

from __future__ import annotations

import json

from bot.sim.slack.events import message_action
from bot.ui.blocks.form import SHORTCUT_CALLBACK
from bot.ui.words import thread as thread_words
from storage.models import JobState
from tests.e2e.harness import ALICE, APP_TOKEN, BOB, CHANNEL


def _form_state(prompt: str, duration: str, ratio: str) -> dict:
    return {
        "values": {
            "prompt": {"prompt": {"type": "plain_text_input", "value": prompt}},
            "duration": {"form_duration": {"type": "static_select", "selected_option": {"value": duration}}},
            "ratio": {"form_ratio": {"type": "static_select", "selected_option": {"value": ratio}}},
        }
    }


def _prompt(view: dict) -> str:
    [block] = [b for b in view["blocks"] if b.get("block_id") == "prompt"]
    return block["element"].get("initial_value") or ""


async def _shortcut(app, slack, message, user: str = ALICE) -> dict:
    """Pick the shortcut on `message`; returns the form it opened."""
    views_before = len(slack.workspace.views)
    response = await app.interact(message_action(slack, message, user, callback_id=SHORTCUT_CALLBACK))
    assert response.status_code == 200 and not response.content
    await app.wait_for(lambda: len(slack.workspace.views) == views_before + 1)
    return list(slack.workspace.views.values())[-1]


async def _submit(app, view: dict, prompt: str, duration: str = "4", ratio: str = "9:16", user: str = ALICE):
    submit = {
        "type": "view_submission",
        "team": {"id": "T_STANDIN"},
        "user": {"id": user, "team_id": "T_STANDIN"},
        "api_app_id": "A_VIDEOBOT",
        "view": {**view, "state": _form_state(prompt, duration, ratio)},
    }
    response = await app.interact(submit)
    assert response.status_code == 200
    return response


async def test_shortcut_prefills_the_form_and_delivers_into_the_message_thread(make_app, slack, sim):
    app = await make_app()
    slack.add_user(ALICE, "alice")
    slack.add_channel("C0LAKES01", "public", bot_member=False, name="lakes")
    text = (
        f"&gt; Let's film *the lake* at dawn with <@{ALICE}> near <#C0LAKES01|>, "
        "see <https://example.com/brief|the brief> &amp; <https://example.com/x>"
    )
    message = slack.workspace.post(CHANNEL, text, user=BOB)
    view = await _shortcut(app, slack, message)
    prompt = _prompt(view)
    assert prompt == (
        "Let's film the lake at dawn with @alice near #lakes, see the brief & https://example.com/x"
    )
    assert json.loads(view["private_metadata"])["thread_ts"] == message.ts

    await _submit(app, view, prompt)
    await app.wait_idle()
    [job] = await app.jobs()
    assert (job.state, job.origin, job.duration, job.aspect_ratio) == (
        JobState.DELIVERED,
        "modal",
        4,
        "9:16",
    )
    assert job.prompt == prompt and job.parent_ts == job.thread_ts == message.ts
    assert [m.ts for m in slack.messages(CHANNEL)] == [message.ts]  # no parent message of our own
    [record] = slack.files
    assert record.channel == CHANNEL and record.thread_ts == message.ts


async def test_shortcut_on_a_reply_goes_into_its_thread(make_app, slack, sim):
    app = await make_app()
    root = slack.workspace.post(CHANNEL, "launch plans", user=BOB)
    reply = slack.workspace.post(CHANNEL, "a paper boat on a pond", user=BOB, thread_ts=root.ts)
    view = await _shortcut(app, slack, reply)
    assert _prompt(view) == "a paper boat on a pond"
    await _submit(app, view, _prompt(view))
    await app.wait_idle()
    [record] = slack.files
    assert record.thread_ts == root.ts
    assert [m.ts for m in slack.messages(CHANNEL)] == [root.ts]


async def _video_from(app, slack, channel: str, text: str):
    """Bob writes `text` in `channel`; Alice makes a video of it with the shortcut, the form as is."""
    message = slack.workspace.post(channel, text, user=BOB)
    view = await _shortcut(app, slack, message)
    await _submit(app, view, _prompt(view))
    await app.wait_idle()
    return message


async def test_shortcut_where_the_bot_cannot_post_delivers_to_the_dm_and_says_so(make_app, slack, sim):
    app = await make_app()
    await _video_from(app, slack, "C_PRIVATE", "a fox in a snowy forest")
    [job] = await app.jobs()
    assert job.state is JobState.DELIVERED and job.delivery_channel.startswith("D")
    [record] = slack.files
    assert record.channel == job.delivery_channel
    told = [c.params["body"]["text"] for c in slack.calls_of("response_url")]
    assert told == [thread_words.DM_FALLBACK]  # through the shortcut's response_url


async def test_shortcut_in_a_public_channel_the_bot_is_not_in_joins_it(make_app, slack, sim):
    app = await make_app()
    message = await _video_from(app, slack, "C_OTHER", "a hot air balloon at sunrise")
    [record] = slack.files
    assert record.channel == "C_OTHER" and record.thread_ts == message.ts
    assert slack.workspace.channels["C_OTHER"].bot_member


async def test_slow_name_lookups_still_open_the_form(make_app, slack, sim):
    app = await make_app()
    slack.set_latency("users.info", 2.5)  # past the lookup's time limit, within the trigger's 3 s
    message = slack.workspace.post(CHANNEL, f"<@{BOB}> on a skateboard", user=ALICE)
    view = await _shortcut(app, slack, message)
    assert _prompt(view) == f"@{BOB} on a skateboard"  # the id stands in for the name


async def test_shortcut_on_the_bots_own_message_and_an_empty_one(make_app, slack, sim):
    app = await make_app()
    own = slack.workspace.post(CHANNEL, ":white_check_mark: Delivered: 5 s, cost $0.055.")
    view = await _shortcut(app, slack, own)
    assert _prompt(view) == ":white_check_mark: Delivered: 5 s, cost $0.055."
    empty = slack.workspace.post(CHANNEL, "", user=BOB)
    view = await _shortcut(app, slack, empty)
    assert _prompt(view) == ""
    answer = await _submit(app, view, "")
    assert "prompt" in answer.json()["errors"]  # the form asks for words; nothing starts
    await app.wait_idle()
    assert await app.jobs() == [] and slack.files == [] and sim.create_count == 0


async def test_shortcut_over_socket_mode(make_app, slack, sim):
    app = await make_app(slack_app_token=APP_TOKEN, mode=None)
    await slack.wait_for_socket(1)
    message = slack.workspace.post(CHANNEL, "a lantern festival over a river", user=BOB)
    ack = await slack.send_socket_event(
        "interactive", message_action(slack, message, ALICE, callback_id=SHORTCUT_CALLBACK)
    )
    assert ack is None  # acknowledged with nothing to say; the form follows
    await app.wait_for(lambda: len(slack.workspace.views) == 1)
    [view] = slack.workspace.views.values()
    assert _prompt(view) == "a lantern festival over a river"
    assert json.loads(view["private_metadata"])["thread_ts"] == message.ts
