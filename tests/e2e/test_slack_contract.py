"""The app against a Slack stand-in as strict as Slack: membership, rate-limit tiers (unscaled here),
trigger_id and response_url limits. Every test also checks the app never called inside a Retry-After."""

from __future__ import annotations

import asyncio

import pytest

from bot.sim.mp4 import mp4_info
from bot.ui.blocks.thread import ACTION_REGENERATE
from storage.models import JobState
from tests.e2e.harness import ALICE, BOB, ack_text
from tests.e2e.test_interactive import _button_click


async def test_video_in_a_public_channel_the_bot_has_not_joined_lands_in_its_thread(make_app, slack):
    app = await make_app()
    assert not slack.workspace.channels["C_OTHER"].bot_member
    await app.command("a paper boat on a river --duration 4", channel="C_OTHER")
    await app.wait_idle(timeout=60)
    [job] = await app.jobs()
    assert job.state is JobState.DELIVERED and job.delivery_channel == "C_OTHER"
    [parent] = slack.messages("C_OTHER")
    [video] = [m for m in slack.thread("C_OTHER", parent.ts) if m.file is not None]
    duration, _, _ = mp4_info(video.file.path)
    assert round(duration) == 4 and "$0.044" in video.text
    # Joined before the share (a file share needs membership), and shared at the first try.
    methods = [c.method for c in slack.calls]
    assert methods.index("conversations.join") < methods.index("files.completeUploadExternal")
    assert [c.error for c in slack.calls_of("files.completeUploadExternal")] == [None]
    assert not any("couldn't upload" in m.text for m in slack.thread("C_OTHER", parent.ts))
    assert slack.calls_inside_retry_after == []


async def test_the_join_goes_beside_the_upload_and_before_the_share(make_app, slack):
    # Slack takes its time to answer the join: the ticket and the bytes do not wait for it.
    slack.set_latency("conversations.join", 0.5)
    app = await make_app()
    await app.command("a kite over dunes --duration 4", channel="C_OTHER")
    await app.wait_idle(timeout=60)
    [job] = await app.jobs()
    assert job.state is JobState.DELIVERED
    [join] = slack.calls_of("conversations.join")
    [ticket] = slack.calls_of("files.getUploadURLExternal")
    [upload] = slack.calls_of("upload")
    [share] = slack.calls_of("files.completeUploadExternal")
    assert join.done is not None and ticket.time < join.done and upload.time < join.done
    assert share.time >= join.done and share.error is None
    assert [f.channel for f in slack.files] == ["C_OTHER"] and slack.calls_inside_retry_after == []


async def test_videos_finishing_together_in_a_channel_not_joined_join_it_once(make_app, slack):
    # The join answers slowly: every delivery reaches it while the first is still under way (the
    # requests' own posts in the channel go a second apart, at Slack's pace).
    slack.set_latency("conversations.join", 4.0)
    app = await make_app()
    users = [ALICE, BOB, "U0CAROL01"]
    await asyncio.gather(
        *(app.command("a kite over dunes --duration 4", user=u, channel="C_OTHER") for u in users)
    )
    await app.wait_idle(timeout=60)
    jobs = [job for u in users for job in await app.jobs(u)]
    assert [job.state for job in jobs] == [JobState.DELIVERED] * 3
    assert len(slack.calls_of("conversations.join")) == 1
    assert len(slack.files) == 3 and all(f.channel == "C_OTHER" for f in slack.files)


@pytest.mark.timeout(600)
async def test_forty_jobs_at_once_in_two_channels_under_slacks_limits(make_app, sim, slack):
    app = await make_app(max_inflight_per_user=4)
    users = [f"U0LOAD{n:04d}" for n in range(10)]
    channels = ("C_PUBLIC", "C_OTHER")
    sends = [
        app.command(f"wave number {n} --duration 4", user=users[n % 10], channel=channels[n % 2])
        for n in range(40)
    ]
    responses = await asyncio.gather(*sends)
    assert all("on its way" in ack_text(r) for r in responses)
    await app.wait_idle(timeout=540)

    jobs = [job for user in users for job in await app.jobs(user)]
    assert len(jobs) == 40 and all(j.state is JobState.DELIVERED for j in jobs), [j.state for j in jobs]
    for job in jobs:  # each video exactly once, in its own thread
        assert len([f for f in slack.files if f.thread_ts == job.parent_ts]) == 1
    assert len(slack.files) == 40 and slack.repeated_completes == []
    assert slack.calls_inside_retry_after == []
    assert sim.create_count == 40
    # Slack's pace never held a generation back: every job was at the gateway before the last
    # request's parent message could be posted (40 parents at about one per second per channel).
    last_create = max(j.created for j in sim.jobs.values())
    last_parent = max(c.time for c in slack.calls_of("chat.postMessage") if "thread_ts" not in c.params)
    assert last_create < last_parent


async def test_a_form_whose_trigger_expired_says_so(make_app, slack):
    app = await make_app()
    # Slack delivered the command late: its trigger_id is already 3.5 s old.
    response = await app.command("", trigger_age_s=3.5)
    assert response.status_code == 200 and ack_text(response) == ""
    await app.wait_for(lambda: slack.ephemerals)
    [opened] = slack.calls_of("views.open")  # a spent trigger is never tried again
    assert opened.error == "expired_trigger_id"
    [note] = slack.ephemerals
    assert note.user == ALICE and "3 seconds" in note.text and "/video" in note.text
    assert slack.workspace.views == {}


async def test_response_url_is_used_five_times_then_notices_go_ephemeral(make_app, slack):
    app = await make_app()
    await app.command("a kite over a hill --duration 4")
    await app.wait_idle()
    [job] = await app.jobs()
    url = slack.new_response_url()
    # Six clicks under one message share its response_url: one starts a video, five are told
    # "already started". Slack takes 5 posts to a response_url; the sixth answer goes another way.
    for n in range(6):
        await app.interact(_button_click(job, ACTION_REGENERATE, BOB, url, n=n))  # a trigger_id each
        await app.wait_for(lambda n=n: len(slack.responses(url)) + len(slack.ephemerals) == n + 1)
    await app.wait_idle()
    assert len(slack.responses(url)) == 5
    [ephemeral] = slack.ephemerals
    assert ephemeral.user == BOB and ephemeral.channel == job.delivery_channel
    assert [c.error for c in slack.calls_of("response_url")] == [None] * 5  # never a refused sixth post
    assert len(await app.jobs(BOB)) == 1


async def test_a_video_that_waits_for_slack_says_so_and_is_delivered(make_app, slack):
    app = await make_app()
    # Slack throttles the first share for 8 s: the pacer holds every share back until then.
    slack.fail_next("files.completeUploadExternal", error="ratelimited", retry_after=8)
    await app.command("a first video --duration 4")
    await app.wait_for(lambda: slack.calls_of("files.completeUploadExternal"), timeout=30)
    await app.command("a second video --duration 4", user=BOB)
    await app.wait_idle(timeout=60)
    [first], [second] = await app.jobs(), await app.jobs(BOB)
    assert first.state is second.state is JobState.DELIVERED
    [status] = [
        m for m in slack.thread(second.delivery_channel, second.parent_ts) if m.ts == second.status_ts
    ]
    assert any("Waiting for Slack" in text for text in status.history), status.history
    assert "Delivered" in status.text  # and the final edit replaced it
    assert [c.error for c in slack.calls_of("files.completeUploadExternal")] == ["ratelimited", None, None]
    assert slack.calls_inside_retry_after == []
