"""/video end to end: signed request in, parent + one edited status + the MP4 in the thread."""

from __future__ import annotations

import asyncio
import hashlib
from urllib.parse import urlsplit

from bot.jobs import flow as jobflow
from bot.sim.mp4 import mp4_info
from storage.models import JobState, MoneyState
from tests.e2e.harness import ALICE, CHANNEL, ack_text


async def test_video_lands_in_thread_byte_identical(make_app, sim, slack):
    app = await make_app()
    response = await app.command("a red fox running through snow --duration 6 --ar 9:16")
    assert response.status_code == 200
    assert "$0.066" in ack_text(response)  # estimate 6 s x $0.011
    await app.wait_idle()

    [job] = await app.jobs()
    assert job.state is JobState.DELIVERED and job.money_state is MoneyState.CHARGED
    assert job.charged_micros == 66_000
    [parent] = slack.messages(CHANNEL)
    assert "a red fox running through snow" in parent.text and f"<@{ALICE}>" in parent.text
    thread = slack.thread(CHANNEL, parent.ts)
    statuses = [m for m in thread[1:] if m.file is None]
    assert len(statuses) == 1 and statuses[0].edits >= 2  # one status message, edited in place
    [record] = [f for f in slack.files if f.channel == CHANNEL]
    assert record.thread_ts == parent.ts
    assert "$0.066" in record.initial_comment and "$4.934" in record.initial_comment
    [sim_job] = sim.jobs.values()
    served = await app.http.get(sim_job.result_url) if hasattr(sim_job, "result_url") else None
    media = served.content if served is not None else (await app.http.get(job.result_url)).content
    assert hashlib.sha256(record.path.read_bytes()).digest() == hashlib.sha256(media).digest()
    duration, width, height = mp4_info(record.path)
    assert round(duration) == 6 and height > width


async def test_ack_comes_before_any_slow_work(make_app, sim, slack):
    app = await make_app()
    sim.configure(create_delay_s=1.5)  # the gateway is slow to answer the create
    slack.set_latency("chat.postMessage", 1.0)  # and Slack is slow to post
    response = await app.command("a lighthouse in a storm")
    assert response.status_code == 200 and "on its way" in ack_text(response)
    # The ack is back while neither the parent message nor the gateway job exists yet.
    assert slack.messages(CHANNEL) == [] and sim.create_count == 0
    [job] = await app.jobs()
    assert job.state is JobState.ACCEPTED and job.money_state is MoneyState.RESERVED
    await app.wait_idle()
    [job] = await app.jobs()
    assert job.state is JobState.DELIVERED


async def _request_in_progress(events_url: str) -> asyncio.StreamWriter:
    """A request to the app whose body has not all arrived yet: the app is busy answering it."""
    url = urlsplit(events_url)
    _, writer = await asyncio.open_connection(url.hostname, url.port)
    writer.write(
        f"POST {url.path} HTTP/1.1\r\nHost: {url.netloc}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\ncommand=%2F".encode()
    )
    await writer.drain()
    return writer


async def test_new_jobs_let_requests_in_progress_go_first(make_app, sim, slack, monkeypatch):
    monkeypatch.setattr(jobflow, "START_DEFER_MAX_S", 60.0)
    app = await make_app()
    slow = await _request_in_progress(app.service.events_url)
    response = await app.command("a lighthouse in a storm")
    assert response.status_code == 200 and "on its way" in ack_text(response)
    await asyncio.sleep(0.5)
    # Another request is still being answered: the new job has not started its slow work yet.
    assert slack.calls_of("chat.postMessage") == [] and sim.create_count == 0
    slow.close()
    await app.wait_idle()
    [job] = await app.jobs()
    assert job.state is JobState.DELIVERED and sim.create_count == 1


async def test_a_busy_app_still_starts_its_jobs_soon(make_app, sim, slack, monkeypatch):
    monkeypatch.setattr(jobflow, "START_DEFER_MAX_S", 0.3)
    app = await make_app()
    slow = await _request_in_progress(app.service.events_url)  # busy for the whole test
    try:
        await app.command("a lighthouse in a storm")
        await app.wait_idle()
        [job] = await app.jobs()
        assert job.state is JobState.DELIVERED and len(slack.files) == 1
    finally:
        slow.close()


BAD_INPUTS = [
    ("--duration 5", "prompt"),
    ("a cat --speed 3", "--speed"),
    ("a cat --duration five", "five"),
    ("a cat --duration 99", "15"),
    ("a cat -d 1", "4"),
    ("a cat --ar 5:7", "16:9"),
    ("a cat --duration", "duration"),
    ("x" * 2001, "2,000"),
]


async def test_every_bad_input_is_refused_with_nothing_created(make_app, sim, slack):
    app = await make_app()
    for text, hint in BAD_INPUTS:
        response = await app.command(text)
        answer = ack_text(response)
        assert response.status_code == 200
        assert response.json().get("response_type") == "ephemeral", text
        assert hint in answer, (text, answer)
    await app.wait_idle()
    assert await app.jobs() == []
    assert sim.create_count == 0
    assert slack.calls_of("chat.postMessage") == []
    status = await app.store.budget_status(ALICE)
    assert status.spent_micros == 0 and status.reserved_micros == 0


async def test_em_dash_flags_and_flags_anywhere(make_app, sim):
    app = await make_app()
    response = await app.command("—ar 1:1 a paper boat –duration 4 on a pond")
    assert response.status_code == 200
    await app.wait_idle()
    [job] = await app.jobs()
    assert (job.prompt, job.duration, job.aspect_ratio) == ("a paper boat on a pond", 4, "1:1")
    [sim_job] = sim.jobs.values()
    assert sim_job.body["duration"] == 4 and sim_job.body["aspect_ratio"] == "1:1"


async def test_dm_fallback_when_the_bot_cannot_post_in_the_channel(make_app, slack):
    app = await make_app()
    response_url = slack.new_response_url()
    await app.command("a snowy owl", channel="C_PRIVATE", response_url=response_url)
    await app.wait_idle()
    [job] = await app.jobs()
    assert job.state is JobState.DELIVERED
    assert job.delivery_channel is not None and job.delivery_channel.startswith("D")
    assert slack.messages("C_PRIVATE") == []
    [record] = slack.files
    assert record.channel == job.delivery_channel and record.thread_ts == job.parent_ts
    notices = slack.responses(response_url)
    assert any("DM" in n.get("text", "") for n in notices)


async def test_public_channel_not_joined_is_joined(make_app, slack):
    app = await make_app()
    await app.command("a hot air balloon", channel="C_OTHER")
    await app.wait_idle()
    [job] = await app.jobs()
    assert job.delivery_channel == "C_OTHER" and job.state is JobState.DELIVERED
    assert len(slack.calls_of("conversations.join")) == 1
    assert [f.channel for f in slack.files] == ["C_OTHER"]


async def test_user_text_is_escaped_everywhere(make_app, slack):
    app = await make_app()
    await app.command("hey <!channel> & <https://evil.example|click me> <@U0BOB0001> cats")
    await app.wait_idle()
    [parent] = slack.messages(CHANNEL)
    rendered = parent.text + str(parent.blocks)
    assert "<!channel>" not in rendered and "<https://evil.example" not in rendered
    assert "<!" not in rendered and "<@U0BOB0001>" not in rendered  # no ping, no mention, no link
    assert "&amp;" in rendered  # the user's "&" is shown as text
    [record] = slack.files
    assert "<!channel>" not in (record.initial_comment or "")


async def test_foreign_origin_result_is_never_posted(make_app, sim, slack):
    app = await make_app()
    sim.configure(result="foreign_origin")
    await app.command("a city at night")
    await app.wait_idle()
    [job] = await app.jobs()
    assert job.state is JobState.FAILED and job.money_state is MoneyState.RELEASED
    assert slack.files == []
    thread = slack.thread(CHANNEL, job.parent_ts)
    assert any("nothing was charged" in m.text.lower() for m in thread[1:])


async def test_non_mp4_result_is_never_posted(make_app, sim, slack):
    app = await make_app()
    sim.configure(result="not_mp4")
    await app.command("a city at night")
    await app.wait_idle()
    [job] = await app.jobs()
    assert job.state is JobState.FAILED and job.charged_micros == 0
    assert slack.files == []
    assert (await app.store.budget_status(ALICE)).reserved_micros == 0
    # The upload ticket asked for while it downloaded was never used.
    assert slack.calls_of("upload") == slack.calls_of("files.completeUploadExternal") == []


async def _sent_in_full(sim_job):
    """The simulator records the last byte once its handler returns (a moment after the client read it)."""
    for _ in range(500):
        if sim_job.media_sent_at is not None:
            return
        await asyncio.sleep(0.01)


async def test_upload_ticket_is_asked_for_while_the_video_downloads(make_app, sim, slack):
    app = await make_app()
    sim.configure(take_s=0.3, result_bytes=600_000, slow_bytes_per_s=1_000_000)  # 0.6 s to arrive
    await app.command("a lighthouse in fog --duration 4")
    await app.wait_idle()
    [job] = await app.jobs()
    [sim_job] = sim.jobs.values()
    [ticket] = slack.calls_of("files.getUploadURLExternal")  # one ticket, and it was used
    await _sent_in_full(sim_job)
    assert sim_job.first_media_at is not None and sim_job.media_sent_at is not None
    assert sim_job.first_media_at < ticket.time < sim_job.media_sent_at
    [record] = slack.files
    assert job.state is JobState.DELIVERED and record.size == 600_000 and job.file_id == record.id


async def test_without_a_declared_length_the_ticket_follows_the_download(make_app, sim, slack):
    app = await make_app()
    sim.configure(take_s=0.3, result_bytes=600_000, no_content_length=True)
    await app.command("a lighthouse in fog --duration 4")
    await app.wait_idle()
    [job] = await app.jobs()
    [sim_job] = sim.jobs.values()
    [ticket] = slack.calls_of("files.getUploadURLExternal")
    await _sent_in_full(sim_job)
    assert sim_job.media_sent_at is not None and ticket.time > sim_job.media_sent_at
    [record] = slack.files
    assert job.state is JobState.DELIVERED and record.size == 600_000


async def test_temporary_files_are_always_removed(make_app, sim, slack, tmp_path, monkeypatch):
    import tempfile

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    app = await make_app()
    await app.command("delivered fine")
    await app.wait_idle()
    sim.configure(result="not_mp4")
    await app.command("refused as not an MP4")
    await app.wait_idle()
    sim.configure(result="ok")
    slack.fail_next("upload", times=10)
    await app.command("upload keeps failing")
    await app.wait_idle()
    states = sorted(j.state.value for j in await app.jobs())
    assert states == ["delivered", "delivered", "failed"]
    assert list(scratch.iterdir()) == []


async def test_generation_time_is_recorded_for_estimates(make_app, sim, slack):
    app = await make_app()
    sim.configure(take_s=1.0)  # the simulator's generation takes about a second
    assert await app.store.generation_time_estimate("bytedance/seedance-2.0-fast", 5) is None
    await app.command("a paper boat on a river")
    await app.wait_idle()
    [job] = await app.jobs()
    assert job.state is JobState.DELIVERED and job.submitted_at is not None
    estimate = await app.store.generation_time_estimate(job.model, 5)
    assert estimate is not None and estimate >= 1.0  # measured from submit to seen completed
