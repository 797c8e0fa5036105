"""The words users read: escaping, money, refusals that name the fix, every job state."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.settings import Settings
from bot.ui.words import admin as admin_messages
from bot.ui.words import format as fmt
from bot.ui.words import reasons, thread, video
from storage.errors import Refused
from storage.models import BudgetStatus, Job, JobState, MoneyState, UserUsage, WorkspaceStatus

SETTINGS = Settings(_env_file=None)  # type: ignore[call-arg]
T0 = datetime(2026, 11, 5, 12, 0, tzinfo=UTC).timestamp()
RESET = datetime(2026, 12, 1, tzinfo=UTC).timestamp()
RAW_AMP = re.compile(r"&(?!amp;|lt;|gt;)")


def make_job(**fields) -> Job:
    base: dict[str, Any] = dict(
        id="job1", team_id="T1", user_id="U0123ABCD", channel_id="C1", prompt="a slow drone shot",
        duration=5, aspect_ratio="16:9", model="m", price_micros=11_000, estimate_micros=55_000,
        period="2026-11", state=JobState.ACCEPTED, money_state=MoneyState.RESERVED,
        created_at=T0, updated_at=T0, deadline_at=T0 + 1800,
    )  # fmt: skip
    base.update(fields)
    return Job(**base)


def make_status(**fields) -> BudgetStatus:
    base: dict[str, Any] = dict(
        user_id="U0123ABCD", period="2026-11", limit_micros=5_000_000, spent_micros=1_250_000,
        reserved_micros=55_000, own_budget=False, frozen=False, resets_at=RESET,
    )  # fmt: skip
    base.update(fields)
    return BudgetStatus(**base)


WORKSPACE = WorkspaceStatus(
    period="2026-11",
    cap_micros=100_000_000,
    spent_micros=99_990_000,
    reserved_micros=0,
    default_budget_micros=5_000_000,
)


def refused(reason, estimate=165_000, **status) -> Refused:
    return Refused(reason, make_status(**status), WORKSPACE, estimate)


# --- escaping ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("<!channel>", "&lt;!channel&gt;"),
        ("<@U1>", "&lt;@U1&gt;"),
        ("<https://evil|click>", "&lt;https://evil|click&gt;"),
        ("cats & dogs", "cats &amp; dogs"),
        ("&amp;", "&amp;amp;"),
    ],
)
def test_escape(raw, escaped):
    assert fmt.escape(raw) == escaped


@given(st.text())
def test_escaped_text_is_inert(text):
    out = fmt.escape(text)
    assert "<" not in out and ">" not in out
    assert not RAW_AMP.search(out)


@given(st.text())
def test_quote_quotes_every_line(text):
    out = fmt.quote(text)
    assert all(line.startswith(">") for line in out.split("\n"))
    assert "<" not in out and not RAW_AMP.search(out)


def test_prompt_in_parent_message_cannot_ping_or_link():
    job = make_job(prompt="hey <!channel> see <https://evil|click> & <@U999>\nsecond line")
    text = thread.parent_text(job)
    assert "<!channel>" not in text and "<https://evil" not in text and "<@U999>" not in text
    assert text.startswith("<@U0123ABCD> asked for a video")
    assert "\n> hey &lt;!channel&gt;" in text and "\n> second line" in text
    assert text.endswith("5 s · 16:9 · estimated $0.055")


def test_link_cannot_break_out():
    assert fmt.link("https://x/a?b=1&c=2|x>", "<b>") == "<https://x/a?b=1&amp;c=2%7Cx&gt;|&lt;b&gt;>"


# --- /video help and refusals --------------------------------------------------------------------


def test_help_lists_flags_limits_and_price():
    text = video.video_help(SETTINGS)
    for needle in ("--duration", "-d", "--ar", "4 s to 15 s", "16:9, 9:16", "$0.011 per second", "$0.055"):
        assert needle in text
    assert "/video budget" in text and "/video history" in text


def test_frozen_refusal():
    text = video.refusal(refused("frozen"))
    assert "an admin has paused your video requests" in text and "admin" in text


def test_inflight_refusal_names_the_number_and_the_fix():
    text = video.refusal(refused("inflight"), SETTINGS)
    assert "you already have 3 videos in progress; wait for one to finish" in text.lower()


def test_budget_refusal_shows_money_reset_and_fixes():
    text = video.refusal(
        refused("budget", estimate=165_000, spent_micros=4_900_000, reserved_micros=44_000), SETTINGS
    )
    assert "$0.165" in text  # estimate
    assert "$0.056 left" in text  # 5.00 - 4.90 - 0.044
    assert "$5.00 budget this month" in text
    assert "2026-12-01 00:00 UTC" in text
    assert "--duration 5" in text  # $0.056 pays for 5 s at $0.011
    assert "ask an admin" in text


def test_budget_refusal_without_settings_or_reset():
    text = video.refusal(refused("budget", spent_micros=5_000_000, resets_at=None, period="total"))
    assert "shorter video" in text and "ask an admin" in text and "resets" not in text


def test_cap_refusal():
    text = video.refusal(refused("cap"))
    assert "cap of $100.00 this month" in text and "ask an admin" in text


def test_accepted_shows_reservation_and_what_is_left():
    text = video.accepted(make_job(), make_status())
    assert "$0.055 is reserved" in text and "$3.695 left this month" in text


# --- job life ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "needle"),
    [
        (JobState.QUEUED, "Queued, next in line"),
        (JobState.ACCEPTED, "Starting"),
        (JobState.SUBMITTED, "Sent to the video service"),
        (JobState.DOWNLOADING, "Downloading"),
        (JobState.UPLOADING, "Uploading"),
    ],
)
def test_status_texts(state, needle):
    assert needle in thread.status_text(make_job(state=state))


def test_generating_shows_elapsed_time():
    job = make_job(state=JobState.GENERATING)
    assert "1:05 elapsed" in thread.status_text(job, now=T0 + 65)
    assert "elapsed" not in thread.status_text(job)


def test_queued_status_shows_place_and_estimate():
    job = make_job(state=JobState.QUEUED)
    assert "Queued, 3 ahead of it · ready in about 2 min" in thread.status_text(job, ahead=3, estimate_s=130)
    assert "ready in" not in thread.status_text(job, ahead=3)  # no history yet: no guess


def test_after_submission_the_status_says_why_there_is_no_cancel():
    sent = make_job(state=JobState.SUBMITTED)
    assert "can't be cancelled now: the video service has started" in thread.status_text(sent)
    generating = make_job(state=JobState.GENERATING, submitted_at=T0 + 5)
    text = thread.status_text(generating, now=T0 + 25, estimate_s=60)
    assert "0:20 elapsed, about 40 s left" in text and "can't be cancelled" in text
    assert "taking longer than usual" in thread.status_text(generating, now=T0 + 125, estimate_s=60)


def test_cancelled_status_names_who_and_the_release():
    job = make_job(state=JobState.CANCELLED, cancelled_by="U0ADMIN01")
    text = thread.status_text(job)
    assert "Cancelled by <@U0ADMIN01>" in text and "$0.055 reserved was released" in text


def test_queued_answer_gives_the_place():
    text = video.accepted(make_job(state=JobState.QUEUED), make_status(), 2)
    assert "queued, 2 ahead of it" in text and "$0.055 is reserved" in text


def test_help_explains_the_queue_and_its_limits():
    text = video.video_help(SETTINGS)
    assert "3 videos in progress at once (the whole workspace 50)" in text
    assert "fair queue (up to 10 of yours" in text and "Cancel" in text
    no_queue = video.video_help(SETTINGS.model_copy(update={"max_queued_per_user": 0}))
    assert (
        "refused until one finishes" in no_queue and "queue" not in no_queue.split("Cost")[1].split("\n")[1]
    )


def test_queue_full_refusal_says_how_to_fix():
    text = video.refusal(refused("queue_full"), SETTINGS)
    assert "10 videos waiting in the queue" in text and "Cancel" in text


def test_finished_status_texts():
    done = make_job(state=JobState.DELIVERED, charged_micros=66_000, result_duration=6)
    assert thread.status_text(done) == ":white_check_mark: Delivered: 6 s, cost $0.066."
    failed = make_job(state=JobState.FAILED, failure_reason="bad <!here> & worse")
    text = thread.status_text(failed)
    assert "bad &lt;!here&gt; &amp; worse" in text and "Nothing was charged" in text
    assert "Given up" in thread.status_text(
        make_job(state=JobState.EXPIRED, failure_reason=reasons.REASON_TIMEOUT)
    )


def test_delivered_comment():
    job = make_job(result_duration=6, result_resolution="1920x1080")
    text = thread.delivered_comment(job, 66_000, 4_934_000)
    assert "6 s" in text and "1920×1080" in text and "$0.066" in text and "$4.934 left this month" in text


def test_upload_fallback_links_the_result():
    job = make_job(result_url="https://media.aigateway.sh/v/a.mp4?x=1&y=2")
    text = thread.upload_fallback(job, "comment")
    assert "<https://media.aigateway.sh/v/a.mp4?x=1&amp;y=2|download the video>" in text


def test_failure_reply_escapes_reason_and_says_nothing_charged():
    job = make_job(state=JobState.FAILED, failure_reason=reasons.reason_gateway_failed("<!channel> boom"))
    text = thread.failure_reply(job, make_status())
    assert "<!channel>" not in text and "&lt;!channel&gt; boom" in text
    assert "Nothing was charged" in text and "$3.695 left" in text


def test_file_title_is_short_plain_text():
    assert thread.file_title(make_job(prompt="x" * 500)) == "x" * 99 + "…"


def test_dm_fallback_notice():
    assert "can't post in this channel" in thread.DM_FALLBACK and "DM" in thread.DM_FALLBACK


# --- budget and history --------------------------------------------------------------------------


def test_budget_answer():
    text = video.budget_answer(make_status(frozen=True))
    for needle in ("Limit: $5.00", "Spent: $1.25", "Reserved for videos in progress: $0.055", "Left: $3.695"):
        assert needle in text
    assert "2026-12-01 00:00 UTC" in text and "paused" in text


def test_history_answer():
    jobs = [
        make_job(
            state=JobState.DELIVERED,
            charged_micros=55_000,
            permalink="https://s/p?a=1&b=2",
            prompt="<!here> x",
        ),
        make_job(state=JobState.FAILED, prompt="y" * 100),
        make_job(state=JobState.GENERATING),
    ]
    lines = video.history_answer(jobs).split("\n")
    assert lines[0] == "*Your last 3 videos*"
    assert "2026-11-05 · delivered · $0.055 · <https://s/p?a=1&amp;b=2|view> · “&lt;!here&gt; x”" in lines[1]
    assert "failed · nothing charged" in lines[2] and "…" in lines[2]
    assert "in progress · $0.055 reserved" in lines[3]
    assert len(video.history_answer([make_job()] * 15).split("\n")) == 11
    assert "/video" in video.history_answer([])


# --- admin ---------------------------------------------------------------------------------------


def test_admin_usage_table_with_totals():
    rows = [
        UserUsage(
            user_id="U2",
            jobs=1,
            seconds=5,
            spent_micros=55_000,
            reserved_micros=0,
            limit_micros=5_000_000,
            policy_refusals=2,
        ),
        UserUsage(
            user_id="U1", jobs=3, seconds=20, spent_micros=165_000, reserved_micros=55_000, limit_micros=10**7
        ),
    ]
    text = admin_messages.admin_usage(rows, WORKSPACE)
    block = text.split("```")[1]
    lines = block.strip("\n").split("\n")
    assert lines[0].split() == ["user", "videos", "seconds", "spent", "reserved", "limit", "refused"]
    assert lines[1].split()[0] == "U1" and lines[2].split()[0] == "U2"  # largest spend first
    assert lines[2].split()[-1] == "2"  # prompts the content policy refused
    assert lines[3].split() == ["total", "4", "25", "$0.22", "$0.055", "2"]
    assert len({len(line) for line in lines[:3]}) == 1  # aligned columns
    assert "workspace cap $100.00" in text


def test_admin_usage_empty_and_user_usage():
    assert "Nobody" in admin_messages.admin_usage([], WORKSPACE)
    text = admin_messages.admin_user_usage(make_status(frozen=True), [make_job()])
    assert "<@U0123ABCD>" in text and "spent $1.25" in text and "Frozen" in text and "•" in text


def test_admin_answers():
    assert "$10.00 per month" in admin_messages.admin_budget_set("U1", 10_000_000, "month")
    assert "$2.00 per week" in admin_messages.admin_default_budget_set(2_000_000, "week")
    assert "off" in admin_messages.admin_cap_set(None, "month")
    assert "$50.00 in total" in admin_messages.admin_cap_set(50_000_000, "total")
    assert "unfreeze" in admin_messages.admin_frozen("U1", True, True)
    assert "already" in admin_messages.admin_frozen("U1", False, False)
    assert "3 videos" in admin_messages.admin_export_done(3, "2026-11")
    assert "only for" in admin_messages.admin_denied()
    assert "DM" in admin_messages.admin_export_started() and "again" in admin_messages.admin_export_failed()
    help_text = admin_messages.admin_help()
    for verb in ("budget", "cap", "usage", "freeze", "unfreeze", "export"):
        assert f"`{verb}" in help_text
