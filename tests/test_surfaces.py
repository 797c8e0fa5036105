"""Pure builders of the form, the buttons and App Home."""

from __future__ import annotations

import json

from bot.settings import load_settings
from bot.ui.blocks.form import video_modal
from bot.ui.blocks.home import home_view
from bot.ui.blocks.thread import ACTION_CANCEL, ACTION_REGENERATE, ACTION_RETRY, finished_actions, status_view
from bot.ui.words.form import estimate_line
from bot.ui.words.home import gauge
from storage.models import BudgetStatus, Job, JobState, MoneyState


def _status(limit: int = 5_000_000, spent: int = 0) -> BudgetStatus:
    return BudgetStatus(
        user_id="U1",
        period="2026-11",
        limit_micros=limit,
        spent_micros=spent,
        reserved_micros=0,
        own_budget=False,
        frozen=False,
        resets_at=None,
    )


def _job(state: JobState) -> Job:
    return Job(
        id="j" * 32,
        team_id="T",
        user_id="U1",
        channel_id="C",
        prompt="p",
        duration=5,
        aspect_ratio="16:9",
        model="m",
        price_micros=11_000,
        estimate_micros=55_000,
        period="2026-11",
        state=state,
        money_state=MoneyState.RESERVED,
        created_at=0,
        updated_at=0,
        deadline_at=1,
    )


def test_gauge():
    assert gauge(0, 100) == "▱" * 10 + " 0%"
    assert gauge(55, 100) == "▰" * 6 + "▱" * 4 + " 55%"
    assert gauge(300, 100) == "▰" * 10 + " 100%"
    assert gauge(1, 0) == "▰" * 10 + " 100%"


def test_estimate_line_warns_when_it_does_not_fit():
    settings = load_settings()
    assert "$0.055" in estimate_line(settings, 5, _status()) and "warning" not in estimate_line(
        settings, 5, _status()
    )
    assert "shorter" in estimate_line(settings, 15, _status(limit=100_000))


def test_modal_offers_every_allowed_duration_and_ratio():
    settings = load_settings()
    view = video_modal(settings, _status(), channel_id="C1", prompt="x", duration=7, ratio="1:1")
    text = json.dumps(view)
    assert view["type"] == "modal" and len(view["blocks"]) == 4
    durations = view["blocks"][1]["element"]["options"]
    assert [o["value"] for o in durations] == [str(n) for n in range(4, 16)]
    assert view["blocks"][1]["element"]["initial_option"]["value"] == "7"
    assert view["blocks"][2]["element"]["initial_option"]["value"] == "1:1"
    assert '"C1"' in view["private_metadata"] and "$0.077" in text


def test_buttons_depend_on_how_the_job_ended():
    delivered = finished_actions(_job(JobState.DELIVERED))[0]["elements"]
    assert [e["action_id"] for e in delivered] == [ACTION_REGENERATE, "video_edit"]
    assert finished_actions(_job(JobState.FAILED))[0]["elements"][0]["action_id"] == ACTION_RETRY
    assert finished_actions(_job(JobState.GENERATING)) == []


def _actions(blocks) -> list[str]:
    return [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]


def test_cancel_button_only_until_the_gateway_hears_of_it():
    for state in (JobState.QUEUED, JobState.ACCEPTED):
        assert _actions(status_view(_job(state), ahead=0)[1]) == [ACTION_CANCEL]
    for state in (JobState.SUBMITTING, JobState.SUBMITTED, JobState.GENERATING):
        text, blocks = status_view(_job(state), 10.0)
        assert ACTION_CANCEL not in _actions(blocks) and "can't be cancelled" in text
    assert _actions(status_view(_job(JobState.UPLOADING))[1]) == []
    cancelled = _job(JobState.CANCELLED).model_copy(update={"cancelled_by": "U1"})
    text, blocks = status_view(cancelled)
    assert _actions(blocks) == [] and "Cancelled by <@U1>" in text


def test_home_lists_queued_and_cancelled_videos():
    jobs = [_job(JobState.QUEUED), _job(JobState.CANCELLED)]
    text = json.dumps(home_view(load_settings(), _status(), jobs, now=100.0), ensure_ascii=False)
    assert "· queued ·" in text and "· cancelled ·" in text
