"""/video end to end: signed request in, parent + one edited status + the MP4 in the thread."""

from __future__ import annotations

import hashlib

from bot.mp4 import mp4_info
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
