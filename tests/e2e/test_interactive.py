"""The Slack-native surfaces, driven by real signed payloads: the /video form, the buttons under a
finished video, App Home and budget alerts."""

from __future__ import annotations

import asyncio
import json
import time

from bot.sim.signing import post_signed
from bot.ui.blocks.form import MODAL_CALLBACK
from bot.ui.blocks.thread import ACTION_EDIT, ACTION_REGENERATE, ACTION_RETRY
from storage.models import JobState
from tests.e2e.harness import ADMIN, ALICE, BOB, CHANNEL, SIGNING_SECRET, ack_text


def _views(slack) -> list[dict]:
    return list(slack.workspace.views.values())


def _button_click(job, action: str, user: str, response_url: str, n: int = 0) -> dict:
    return {
        "type": "block_actions",
        "team": {"id": "T_STANDIN"},
        "user": {"id": user, "team_id": "T_STANDIN"},
        "api_app_id": "A_VIDEOBOT",
        "trigger_id": f"trigger-{user}-{n}",
        "response_url": response_url,
        "container": {"type": "message", "message_ts": job.status_ts, "channel_id": job.delivery_channel},
        "channel": {"id": job.delivery_channel},
        "actions": [
            {
                "type": "button",
                "action_id": action,
                "block_id": "b",
                "value": job.id,
                "action_ts": f"{time.time()}",
            }
        ],
    }


def _form_state(prompt: str | None, duration: str, ratio: str) -> dict:
    return {
        "values": {
            "prompt": {"prompt": {"type": "plain_text_input", "value": prompt}},
            "duration": {"form_duration": {"type": "static_select", "selected_option": {"value": duration}}},
            "ratio": {"form_ratio": {"type": "static_select", "selected_option": {"value": ratio}}},
        }
    }


async def _open_form(app, slack, user: str = ALICE) -> dict:
    response = await app.command("", user=user)
    assert response.status_code == 200 and ack_text(response) == ""
    await app.wait_for(lambda: len(_views(slack)) == 1)
    return _views(slack)[0]


async def _delivered_job(app, user: str = ALICE):
    await app.command("a red kite over a hill --duration 4", user=user)
    await app.wait_idle()
    [job] = await app.jobs(user)
    assert job.state is JobState.DELIVERED
    return job


async def test_empty_video_opens_the_form_with_a_live_estimate(make_app, slack, sim):
    app = await make_app()
    view = await _open_form(app, slack)
    assert view["callback_id"] == MODAL_CALLBACK
    text = json.dumps(view["blocks"])
    assert "$0.055" in text and "$5.00" in text  # default 5 s estimate, what Alice has left
    assert json.loads(view["private_metadata"])["channel_id"] == CHANNEL
    assert slack.calls_of("views.open")[0].params["trigger_id"]

    change = {
        "type": "block_actions",
        "team": {"id": "T_STANDIN"},
        "user": {"id": ALICE, "team_id": "T_STANDIN"},
        "api_app_id": "A_VIDEOBOT",
        "trigger_id": "t2",
        "container": {"type": "view", "view_id": view["id"]},
        "view": {**view, "hash": "h1", "state": _form_state("a kite", "12", "9:16")},
        "actions": [
            {
                "type": "static_select",
                "action_id": "form_duration",
                "block_id": "duration",
                "selected_option": {"value": "12"},
                "action_ts": "1.0",
            }
        ],
    }
    assert (await app.interact(change)).status_code == 200
    await app.wait_for(lambda: len(slack.calls_of("views.update")) == 1)
    await app.wait_idle()
    updated = slack.workspace.views[view["id"]]
    assert "$0.132" in json.dumps(updated["blocks"])  # 12 s x $0.011
    assert sim.create_count == 0


async def test_form_submission_starts_the_same_flow(make_app, slack, sim):
    app = await make_app()
    view = await _open_form(app, slack)
    submit = {
        "type": "view_submission",
        "team": {"id": "T_STANDIN"},
        "user": {"id": ALICE, "team_id": "T_STANDIN"},
        "api_app_id": "A_VIDEOBOT",
        "view": {**view, "state": _form_state("a lantern festival", "6", "1:1")},
    }
    response = await app.interact(submit)
    assert response.status_code == 200 and not response.content
    await app.wait_idle()
    [job] = await app.jobs()
    assert (job.prompt, job.duration, job.aspect_ratio, job.origin) == (
        "a lantern festival",
        6,
        "1:1",
        "modal",
    )
    assert job.state is JobState.DELIVERED and len(slack.files) == 1

    empty = await app.interact({**submit, "view": {**view, "state": _form_state("   ", "6", "1:1")}})
    assert empty.json()["response_action"] == "errors" and "prompt" in empty.json()["errors"]
    assert sim.create_count == 1


async def test_form_refuses_what_the_budget_cannot_pay(make_app, slack, sim):
    app = await make_app(default_budget="0.05")
    view = await _open_form(app, slack)
    answer = await app.interact(
        {
            "type": "view_submission",
            "team": {"id": "T_STANDIN"},
            "user": {"id": ALICE, "team_id": "T_STANDIN"},
            "api_app_id": "A_VIDEOBOT",
            "view": {**view, "state": _form_state("a storm", "10", "16:9")},
        }
    )
    errors = answer.json()["errors"]
    assert "budget" in errors["duration"].lower()
    assert await app.jobs() == [] and sim.create_count == 0


async def test_finished_video_has_buttons_and_regenerate_charges_the_clicker(make_app, slack, sim):
    app = await make_app()
    job = await _delivered_job(app)
    [status] = [m for m in slack.thread(CHANNEL, job.parent_ts) if m.ts == job.status_ts]
    actions = [e["action_id"] for b in status.blocks if b["type"] == "actions" for e in b["elements"]]
    assert actions == [ACTION_REGENERATE, ACTION_EDIT]

    url = slack.new_response_url()
    first, second = await asyncio.gather(  # a double click
        app.interact(_button_click(job, ACTION_REGENERATE, BOB, url, 1)),
        app.interact(_button_click(job, ACTION_REGENERATE, BOB, url, 2)),
    )
    assert first.status_code == second.status_code == 200
    await app.wait_idle()
    bob_jobs = await app.jobs(BOB)
    assert len(bob_jobs) == 1 and bob_jobs[0].prompt == job.prompt and bob_jobs[0].duration == 4
    assert (await app.store.budget_status(BOB)).spent_micros == 44_000
    assert (await app.store.budget_status(ALICE)).spent_micros == 44_000
    texts = [r.get("text", "") for r in slack.responses(url)]
    assert any("on its way" in t for t in texts) and any("already" in t for t in texts)
    assert sim.create_count == 2


async def test_regenerate_by_someone_without_budget_is_refused(make_app, slack, sim):
    app = await make_app()
    job = await _delivered_job(app)
    await app.command(f"budget <@{BOB}|bob> 0", command="/video-admin", user=ADMIN)
    url = slack.new_response_url()
    await app.interact(_button_click(job, ACTION_REGENERATE, BOB, url))
    await app.wait_idle()
    assert await app.jobs(BOB) == [] and sim.create_count == 1
    [answer] = slack.responses(url)
    assert "budget" in answer["text"].lower()


async def test_try_again_is_for_the_asker_only(make_app, slack, sim):
    app = await make_app()
    sim.configure(fail="overloaded")
    await app.command("a glacier calving")
    await app.wait_idle()
    [failed] = await app.jobs()
    [status] = [m for m in slack.thread(CHANNEL, failed.parent_ts) if m.ts == failed.status_ts]
    assert ACTION_RETRY in json.dumps(status.blocks)
    sim.configure(fail=False)
    url = slack.new_response_url()
    await app.interact(_button_click(failed, ACTION_RETRY, BOB, url))
    await app.wait_idle()
    assert "only" in slack.responses(url)[-1]["text"].lower() and sim.create_count == 1
    await app.interact(_button_click(failed, ACTION_RETRY, ALICE, url))
    await app.wait_idle()
    jobs = await app.jobs()
    assert [j.state for j in jobs] == [JobState.DELIVERED, JobState.FAILED]


async def test_edit_and_regenerate_opens_the_form_prefilled(make_app, slack):
    app = await make_app()
    job = await _delivered_job(app)
    await app.interact(_button_click(job, ACTION_EDIT, BOB, slack.new_response_url()))
    await app.wait_for(lambda: len(_views(slack)) == 1)
    text = json.dumps(_views(slack)[0]["blocks"])
    assert "a red kite over a hill" in text and '"value": "4"' in text


async def _home_opened(app, user: str):
    body = json.dumps(
        {
            "token": "x",
            "team_id": "T_STANDIN",
            "api_app_id": "A_VIDEOBOT",
            "type": "event_callback",
            "event_id": f"Ev{time.time_ns()}",
            "event_time": int(time.time()),
            "event": {"type": "app_home_opened", "user": user, "channel": "D1", "tab": "home"},
        }
    )
    return await post_signed(
        app.http, app.service.events_url, body, SIGNING_SECRET, content_type="application/json"
    )


async def test_app_home_shows_budget_videos_and_admin_totals(make_app, slack):
    app = await make_app()
    job = await _delivered_job(app)
    assert (await _home_opened(app, ALICE)).status_code == 200
    await app.wait_for(lambda: ALICE in slack.workspace.home_views)
    home = json.dumps(slack.workspace.home_views[ALICE], ensure_ascii=False)
    assert (
        "▱▱▱▱▱▱▱▱▱▱ 1%" in home
        and "$0.044" in home
        and "<prompt>" not in home
        and "a red kite over a hill" in home
        and job.permalink in home
    )
    assert "Workspace (admins)" not in home
    await _home_opened(app, ADMIN)
    await app.wait_for(lambda: ADMIN in slack.workspace.home_views)
    admin_home = json.dumps(slack.workspace.home_views[ADMIN])
    assert "Workspace (admins)" in admin_home and ALICE in admin_home


async def test_budget_alerts_are_sent_once_per_period(make_app, slack):
    app = await make_app(default_budget="0.10")
    await app.command("cap 0.10", command="/video-admin", user=ADMIN)
    for _ in range(2):  # $0.044 then $0.088 of $0.10: past 80% once, cap past 50% and 80%
        await app.command("a small wave --duration 4")
        await app.wait_idle()
    dms = [m for c in slack.workspace.channels.values() if c.id.startswith("D") for m in slack.messages(c.id)]
    user_alerts = [m for m in dms if "video budget" in m.text]
    cap_alerts = [m for m in dms if "video cap" in m.text]
    assert len(user_alerts) == 1
    assert sorted("50%" in m.text for m in cap_alerts) == [False, True] and len(cap_alerts) == 2
