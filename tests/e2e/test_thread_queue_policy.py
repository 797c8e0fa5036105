"""Where issue 15 meets issue 16: a mention obeys the content policy, and a mention that has to wait
in the queue keeps its thread (its status, Cancel and the MP4 all land there)."""

from __future__ import annotations

from bot.sim.slack import BOT_USER
from bot.sim.slack.events import post_mention, send_event
from bot.ui.blocks.thread import ACTION_CANCEL
from bot.ui.words import video as video_words
from storage.models import JobState
from tests.e2e.harness import ADMIN, ALICE, BOB, CHANNEL, SIGNING_SECRET, ack_text
from tests.e2e.test_mentions import _bot_replies, _mention
from tests.e2e.test_queue import _buttons, _status


async def test_a_mention_with_a_blocked_term_is_refused_once_and_counted_once(make_app, slack, sim):
    app = await make_app()
    assert "is blocked" in ack_text(
        await app.command("block add fireworks", command="/video-admin", user=ADMIN)
    )
    root = post_mention(slack, CHANNEL, BOB, "who can make the teaser?")
    _, envelope = await _mention(app, f"<@{BOT_USER}> a teaser with FIREWORKS", thread_ts=root.ts)
    await send_event(app.http, app.service.events_url, SIGNING_SECRET, envelope, retry_num=1)
    await app.wait_idle()

    assert await app.jobs() == [] and sim.create_count == 0
    assert (await app.store.budget_status(ALICE)).reserved_micros == 0
    assert _bot_replies(slack, root.ts) == []
    [refusal] = slack.ephemerals  # once, though Slack sent the event twice
    assert refusal.user == ALICE and refusal.thread_ts == root.ts
    assert refusal.text == video_words.POLICY_REFUSAL and "fireworks" not in refusal.text.lower()
    usage = ack_text(await app.command("usage", command="/video-admin", user=ADMIN))
    [alice_row] = [line for line in usage.split("\n") if line.startswith(ALICE)]
    assert alice_row.split()[-1] == "1"


async def test_a_queued_mention_waits_and_answers_in_its_thread(make_app, slack, sim):
    app = await make_app(max_inflight_per_user=1)
    sim.configure(take_s=1.5)
    assert "on its way" in ack_text(await app.command("a paper plane"))
    root = post_mention(slack, CHANNEL, BOB, "ideas for the launch video?")
    await _mention(app, f"<@{BOT_USER}> a slow drone shot over the lake", thread_ts=root.ts)

    async def announced() -> bool:
        jobs = await app.jobs()
        return len(jobs) == 2 and all(j.status_ts for j in jobs)

    await app.wait_for(announced, timeout=30)
    [queued] = [j for j in await app.jobs() if j.thread_ts is not None]
    assert queued.origin == "mention" and queued.thread_ts == queued.parent_ts == root.ts
    first = _status(slack, queued)
    assert "Queued, next in line" in first.history[0] and ACTION_CANCEL in _buttons(first)
    [said] = slack.ephemerals
    assert said.user == ALICE and said.thread_ts == root.ts and "queued" in said.text

    await app.wait_idle(timeout=60)
    done = await app.store.get_job(queued.id)
    assert done.state is JobState.DELIVERED and done.parent_ts == root.ts
    assert [f.thread_ts for f in slack.files if f.thread_ts == root.ts] == [root.ts]
    assert root.ts in [m.ts for m in slack.messages(CHANNEL)]  # no parent message for the mention
    assert [m.ts for m in slack.messages(CHANNEL)].count(root.ts) == 1
    assert len(slack.messages(CHANNEL)) == 2  # Bob's message and the command's parent, nothing more
