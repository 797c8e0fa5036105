"""Values from forms, buttons and the gateway are untrusted: checked like commands, cleaned, capped."""

from __future__ import annotations

import csv
import io
import json
import time

import pytest

from bot.sim.signing import post_signed
from storage.models import JobState
from tests.e2e.harness import ADMIN, ALICE, CHANNEL, SIGNING_SECRET, ack_text


def _submission(view: dict, prompt: object, duration: object, ratio: object) -> dict:
    state = {
        "values": {
            "prompt": {"prompt": {"type": "plain_text_input", "value": prompt}},
            "duration": {"form_duration": {"type": "static_select", "selected_option": {"value": duration}}},
            "ratio": {"form_ratio": {"type": "static_select", "selected_option": {"value": ratio}}},
        }
    }
    return {
        "type": "view_submission",
        "team": {"id": "T_STANDIN"},
        "user": {"id": ALICE, "team_id": "T_STANDIN"},
        "trigger_id": f"4242.{time.time_ns()}.view",
        "view": {**view, "state": state},
    }


async def _form(app, slack) -> dict:
    """The form as opened and filled in (views.open, then views.update with the budget)."""
    await app.command("", user=ALICE)
    await app.wait_for(lambda: len(slack.workspace.views) == 1 and slack.calls_of("views.update"))
    return next(iter(slack.workspace.views.values()))


@pytest.mark.parametrize(
    ("prompt", "duration", "ratio", "field", "needle"),
    [
        ("a forged length", "600", "16:9", "duration", "15 s"),
        ("a forged length", "-5", "16:9", "duration", "not a number"),
        ("a forged length", "5; DROP TABLE jobs", "16:9", "duration", "not a number"),
        ("a forged ratio", "5", "7:3", "ratio", "16:9"),
        ("x" * 2001, "5", "16:9", "prompt", "2,000"),
        ("\u200b\u202e  \u2066", "5", "16:9", "prompt", "no prompt"),
        (["not", "text"], "5", "16:9", "prompt", "no prompt"),
        ("a cat", {"value": "6"}, "16:9", None, None),  # not a string: the default length
    ],
)
async def test_a_forged_form_is_refused_with_a_field_error_and_nothing_reserved(
    make_app, slack, sim, prompt, duration, ratio, field, needle
):
    app = await make_app()
    view = await _form(app, slack)
    answer = await app.interact(_submission(view, prompt, duration, ratio))
    assert answer.status_code == 200
    if field is None:
        await app.wait_idle()
        [job] = await app.jobs()
        assert job.duration == 5
        return
    assert answer.json()["response_action"] == "errors"
    assert needle in answer.json()["errors"][field]
    assert await app.jobs() == [] and sim.create_count == 0
    assert (await app.store.budget_status(ALICE)).reserved_micros == 0


async def test_a_submission_with_no_state_or_odd_shapes_is_a_field_error(make_app, slack, sim, app_log):
    app = await make_app()
    view = await _form(app, slack)
    for state in ([], "state", None, {"values": []}, {"values": {"prompt": "x"}}):
        payload = _submission(view, "a", "5", "16:9") | {"view": {**view, "state": state}}
        answer = await app.interact(payload)
        assert answer.status_code == 200 and "prompt" in answer.json()["errors"]
    assert "Traceback" not in app_log.getvalue() and await app.jobs() == []


async def test_invisible_characters_never_reach_the_thread_the_file_or_the_csv(make_app, slack, sim):
    app = await make_app()
    view = await _form(app, slack)
    await app.command("a cat\u202e4pm.exe riding a\u200d bike")
    await app.interact(_submission(view, "a dog\u2067 on\u200b a skateboard\ufeff", "4", "1:1"))
    await app.wait_idle()
    prompts = sorted(job.prompt for job in await app.jobs())
    assert prompts == ["a cat4pm.exe riding a bike", "a dog on a skateboard"]
    assert sorted(j.body["prompt"] for j in sim.jobs.values()) == prompts
    shown = "".join(m.text + str(m.blocks) for m in slack.messages(CHANNEL))
    shown += "".join(str(f.title) for f in slack.files)
    await app.command("export", command="/video-admin", user=ADMIN)
    await app.wait_for(lambda: any(f.name.startswith("videobot-ledger-") for f in slack.files))
    [export] = [f for f in slack.files if f.name.startswith("videobot-ledger-")]  # the audit log is another
    shown += export.path.read_text()
    assert "riding a bike" in shown and "on a skateboard" in shown
    assert not any(ch in shown for ch in "\u202e\u200d\u2067\u200b\ufeff")


async def test_a_result_longer_than_asked_charges_the_reservation_and_shows_the_overage(make_app, sim, slack):
    app = await make_app(default_budget="0.10")
    sim.configure(billed_duration=15)  # asked 5 s; the gateway says it made (and billed) 15 s
    await app.command("a volcano erupting --duration 5")
    await app.wait_idle()
    [job] = await app.jobs()
    assert job.state is JobState.DELIVERED and job.result_duration == 15
    assert (job.charged_micros, job.overage_micros) == (55_000, 110_000)
    status = await app.store.budget_status(ALICE)
    assert status.spent_micros == 55_000 <= status.limit_micros == 100_000  # never past the budget
    assert "$0.055" in slack.files[0].initial_comment and "$0.165" not in slack.files[0].initial_comment

    usage = ack_text(await app.command("usage", command="/video-admin", user=ADMIN))
    assert "$0.11" in usage and "more than was reserved" in usage
    mine = ack_text(await app.command(f"usage <@{ALICE}>", command="/video-admin", user=ADMIN))
    assert "gateway billed $0.11 more" in mine
    await app.command("export", command="/video-admin", user=ADMIN)
    await app.wait_for(lambda: any(f.name.startswith("videobot-ledger-") for f in slack.files))
    [export] = [f for f in slack.files if f.name.startswith("videobot-ledger-")]  # the audit log is another
    [row] = list(csv.DictReader(io.StringIO(export.path.read_text())))
    assert (row["cost_micros"], row["gateway_overage_micros"], row["gateway_overage_usd"]) == (
        "55000",
        "110000",
        "$0.11",
    )
    home_event = {
        "type": "event_callback",
        "team_id": "T_STANDIN",
        "event_id": f"Ev{time.time_ns()}",
        "event": {"type": "app_home_opened", "user": ADMIN, "channel": "D1", "tab": "home"},
    }
    await post_signed(
        app.http,
        app.service.events_url,
        json.dumps(home_event),
        SIGNING_SECRET,
        content_type="application/json",
    )
    await app.wait_for(lambda: ADMIN in slack.workspace.home_views)
    assert "more than was reserved" in json.dumps(slack.workspace.home_views[ADMIN])


async def test_the_live_estimate_uses_only_allowed_menu_values(make_app, slack, sim):
    app = await make_app()
    view = await _form(app, slack)
    for n, (prompt, duration, expected) in enumerate([(None, "12", "$0.132"), ("a kite", "600", "$0.055")]):
        change = _submission(view, prompt, duration, "16:9") | {"type": "block_actions"}
        change["view"]["hash"] = f"h{n}"
        change["actions"] = [{"type": "static_select", "action_id": "form_duration", "block_id": "duration"}]
        before = len(slack.calls_of("views.update"))
        assert (await app.interact(change)).status_code == 200
        await app.wait_for(lambda before=before: len(slack.calls_of("views.update")) > before)
        await app.wait_idle()
        shown = json.dumps(slack.workspace.views[view["id"]]["blocks"])
        # No prompt typed yet still shows the chosen length's price; a forged 600 s shows the default.
        assert expected in shown and "$6.60" not in shown
    assert sim.create_count == 0 and await app.jobs() == []
