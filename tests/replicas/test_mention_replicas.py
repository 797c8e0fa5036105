"""One mention, delivered to three replicas on one PostgreSQL database at once (Slack's first try and
its resends landing on different replicas behind a load balancer): one job, one charge, one video."""

from __future__ import annotations

import asyncio

from bot.sim.slack import BOT_USER
from bot.sim.slack.events import mention_envelope, post_mention, send_event
from storage.models import JobState, MoneyState
from tests.e2e.harness import ALICE, CHANNEL, SIGNING_SECRET


async def test_one_event_on_three_replicas_makes_one_video(make_app, slack, sim, pg_url):
    replicas = [await make_app(db=pg_url, replica_id=f"replica-{i}") for i in range(3)]
    message = post_mention(slack, CHANNEL, ALICE, f"<@{BOT_USER}> a glass harbour at night --ar 1:1")
    envelope = mention_envelope(message)
    answers = await asyncio.gather(
        *(
            send_event(app.http, app.service.events_url, SIGNING_SECRET, envelope, retry_num=n)
            for n, app in enumerate(replicas)
        )
    )
    assert [a.status_code for a in answers] == [200, 200, 200]
    for app in replicas:
        await app.wait_idle()
    [job] = await replicas[0].jobs()
    assert job.state is JobState.DELIVERED and job.money_state is MoneyState.CHARGED
    assert job.charged_micros == 55_000 and job.parent_ts == message.ts
    assert sim.create_count == 1 and len(slack.files) == 1 and len(slack.ephemerals) == 1
    assert await replicas[1].store.audit() == []
