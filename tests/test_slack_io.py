"""bot.slack.api against the running Slack stand-in, over real sockets."""

from __future__ import annotations

import asyncio
import os
import socket
import tracemalloc

import httpx
import pytest

from bot.sim.slack import SlackStandIn
from bot.slack import api as slack_io
from bot.slack.api import Retry, make_web_client
from bot.slack.pacer import Pacer
from storage.errors import (
    SlackAuthError,
    SlackChannelNotFound,
    SlackNotInChannel,
    SlackPermanentError,
    SlackRateLimited,
    SlackTransientError,
)


class Sleeps:
    """Records the delays slack_io asked for, without waiting them."""

    def __init__(self):
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
async def slack(tmp_path):
    async with SlackStandIn(storage_dir=tmp_path / "uploads") as stand_in:
        yield stand_in


@pytest.fixture
def client(slack):
    return make_web_client(slack.bot_token, slack.api_url)


@pytest.fixture
async def http():
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def sleeps():
    return Sleeps()


@pytest.fixture
def retry(sleeps):
    return Retry(attempts=4, base_s=0.01, cap_s=0.05, sleep=sleeps)


async def test_post_update_thread(slack, client, retry):
    parent = await slack_io.post_message(client=client, channel="C_PUBLIC", text="request", retry=retry)
    status = await slack_io.post_message(
        client=client, channel="C_PUBLIC", text="queued", thread_ts=parent, retry=retry
    )
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "generating"}}]
    await slack_io.update_message(
        client=client, channel="C_PUBLIC", ts=status, text="generating", blocks=blocks
    )
    await slack_io.update_message(client=client, channel="C_PUBLIC", ts=status, text="uploading")
    thread = slack.thread("C_PUBLIC", parent)
    assert [m.text for m in thread] == ["request", "uploading"]
    assert thread[1].edits == 2 and thread[1].blocks == blocks


async def test_post_needs_no_join_in_public_channel_and_join_is_idempotent(slack, client, retry):
    # chat:write.public: a post in a public channel the bot is not in goes through.
    await slack_io.post_message(client=client, channel="C_OTHER", text="x", retry=retry)
    assert len(slack.messages("C_OTHER")) == 1
    assert await slack_io.join_channel(client=client, channel="C_OTHER") is True
    assert await slack_io.join_channel(client=client, channel="C_OTHER") is True
    assert slack.workspace.channels["C_OTHER"].bot_member


async def test_private_and_foreign_dm(slack, client, retry):
    with pytest.raises(SlackChannelNotFound):
        await slack_io.post_message(client=client, channel="C_PRIVATE", text="x", retry=retry)
    assert await slack_io.join_channel(client=client, channel="C_PRIVATE") is False
    assert await slack_io.join_channel(client=client, channel="D_USERS") is False
    assert await slack_io.join_channel(client=client, channel="C_NOPE") is False
    with pytest.raises(SlackChannelNotFound):
        await slack_io.post_ephemeral(client=client, channel="D_USERS", user="U1", text="x", retry=retry)


async def test_dm_delivery(slack, client):
    dm = await slack_io.open_dm(client=client, user="U_ALICE")
    assert dm.startswith("D")
    await slack_io.post_message(client=client, channel=dm, text="delivered here")
    assert [m.text for m in slack.messages(dm)] == ["delivered here"]


async def test_ephemeral(slack, client):
    await slack_io.post_ephemeral(client=client, channel="C_PUBLIC", user="U_ALICE", text="only you")
    assert [(e.user, e.text) for e in slack.ephemerals] == [("U_ALICE", "only you")]
    assert slack.messages("C_PUBLIC") == []


async def test_ratelimit_is_waited_out_by_every_caller(slack, client, retry, sleeps):
    slack.fail_next("chat.postMessage", retry_after=0.3)
    first = asyncio.create_task(
        slack_io.post_message(client=client, channel="C_PUBLIC", text="a", retry=retry)
    )
    while not slack.calls_of("chat.postMessage"):
        await asyncio.sleep(0.005)
    await asyncio.sleep(0.05)  # the 429 has reached the app: another caller now waits it out too
    second = await slack_io.post_message(client=client, channel="C_OTHER", text="b", retry=retry)
    calls = slack.calls_of("chat.postMessage")
    assert [c.error for c in calls] == ["ratelimited", None, None]
    assert calls[1].time - calls[0].time >= 0.29 and calls[2].time - calls[0].time >= 0.29
    assert slack.calls_inside_retry_after == []
    assert [m.ts for m in slack.messages("C_PUBLIC")] == [await first]
    assert [m.ts for m in slack.messages("C_OTHER")] == [second]
    assert sleeps.delays == []  # the pacer waited, not the retry policy


async def test_throttling_never_fails_a_call_within_its_patience(slack, client, sleeps):
    ts = await slack_io.post_message(client=client, channel="C_PUBLIC", text="x")
    slack.fail_next("chat.update", retry_after=0.1, times=7)  # more 429s than retry attempts
    patient = Retry(attempts=2, base_s=0.01, sleep=sleeps)
    await slack_io.update_message(client=client, channel="C_PUBLIC", ts=ts, text="y", retry=patient)
    assert len(slack.calls_of("chat.update")) == 8 and slack.calls_inside_retry_after == []
    slack.fail_next("chat.update", retry_after=0.2, times=50)
    impatient = Retry(attempts=2, base_s=0.01, sleep=sleeps, throttled_patience_s=0.5)
    with pytest.raises(SlackRateLimited) as info:
        await slack_io.update_message(client=client, channel="C_PUBLIC", ts=ts, text="z", retry=impatient)
    assert info.value.retry_after == 0.2
    assert slack.calls_inside_retry_after == []


async def test_pacer_keeps_a_burst_inside_the_tier(tmp_path):
    # 110 edits at once against chat.update's Tier 3, both sides scaled x10 so the test is quick:
    # the pacer spreads them instead of a 429 storm.
    async with SlackStandIn(storage_dir=tmp_path / "u", tier_scale=10) as slack:
        client = make_web_client(slack.bot_token, slack.api_url, pacer=Pacer(tier_scale=10))
        ts = await slack_io.post_message(client=client, channel="C_PUBLIC", text="x")
        edits = [
            slack_io.update_message(client=client, channel="C_PUBLIC", ts=ts, text=f"{n}") for n in range(110)
        ]
        await asyncio.gather(*edits)
        assert slack.throttled == 0 and len(slack.calls_of("chat.update")) == 110
        assert client.pacer.waits > 0  # some did wait their turn


async def test_transient_error_retried_only_when_safe(slack, client, retry, sleeps):
    ts = await slack_io.post_message(client=client, channel="C_PUBLIC", text="x")
    slack.fail_next("chat.update", error="internal_error")
    await slack_io.update_message(client=client, channel="C_PUBLIC", ts=ts, text="y", retry=retry)
    assert len(slack.calls_of("chat.update")) == 2
    # A post that may have gone through is not repeated: it would show twice.
    slack.fail_next("chat.postMessage", error="internal_error")
    with pytest.raises(SlackTransientError) as info:
        await slack_io.post_message(client=client, channel="C_PUBLIC", text="z", retry=retry)
    assert info.value.maybe_delivered
    assert len(slack.calls_of("chat.postMessage")) == 2  # the first post plus the failed one


async def test_auth_error(slack, retry):
    wrong = make_web_client("xoxb-wrong", slack.api_url)
    with pytest.raises(SlackAuthError):
        await slack_io.post_message(client=wrong, channel="C_PUBLIC", text="x", retry=retry)


async def test_connection_refused_is_transient(retry, sleeps):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = make_web_client("xoxb-x", f"http://127.0.0.1:{port}/api/")
    with pytest.raises(SlackTransientError) as info:
        await slack_io.post_message(client=client, channel="C_PUBLIC", text="x", retry=retry)
    assert not info.value.maybe_delivered
    assert len(sleeps.delays) == 3  # refused connections are safe to retry, even for a post


async def test_permalink(slack, client, retry):
    ts = await slack_io.post_message(client=client, channel="C_PUBLIC", text="x")
    link = await slack_io.permalink(client=client, channel="C_PUBLIC", ts=ts)
    assert link is not None and link.startswith("https://") and ts.replace(".", "") in link
    assert await slack_io.permalink(client=client, channel="C_PUBLIC", ts="1.000001", retry=retry) is None


async def test_respond_via_response_url(slack, http, retry):
    url = slack.new_response_url()
    slack.fail_next("response_url", error="server_error")
    await slack_io.respond(http=http, response_url=url, text="budget: $4.50 left", retry=retry)
    await slack_io.respond(http=http, response_url=url, text="again", replace_original=True)
    assert slack.responses(url) == [
        {"response_type": "ephemeral", "text": "budget: $4.50 left", "replace_original": False},
        {"response_type": "ephemeral", "text": "again", "replace_original": True},
    ]
    with pytest.raises(SlackPermanentError) as info:
        await slack_io.respond(http=http, response_url=f"{slack.base_url}response/404", text="x", retry=retry)
    assert info.value.status == 404


def _video(tmp_path, size: int):
    path = tmp_path / "out.mp4"
    block = os.urandom(1 << 20)
    with path.open("wb") as f:
        for start in range(0, size, len(block)):
            f.write(block[: min(len(block), size - start)])
    return path


async def test_upload_into_thread(slack, client, http, tmp_path, retry):
    path = _video(tmp_path, 5 * 1024 * 1024 + 123)
    parent = await slack_io.post_message(client=client, channel="C_PUBLIC", text="request")
    slack.fail_next("upload", error="server_error")  # the upload URL fails once: retried from byte 0
    seen = []

    async def remember(file_id):
        seen.append(
            (file_id, await slack_io.file_shared_in(client=client, file_id=file_id, channel="C_PUBLIC"))
        )

    file_id = await slack_io.upload_file(
        client=client,
        http=http,
        path=path,
        filename="lake.mp4",
        title="a lake",
        channel_id="C_PUBLIC",
        thread_ts=parent,
        initial_comment="Done: cost $0.055, $4.945 left",
        on_file_id=remember,
        retry=retry,
    )
    assert seen == [(file_id, False)]  # told before the share, which had not happened yet
    # Slack processes the share asynchronously: files.info shows it a moment later.
    assert await slack_io.file_shared_in(client=client, file_id=file_id, channel="C_PUBLIC") is False
    shared = slack_io.wait_for_share(client=client, file_id=file_id, channel="C_PUBLIC", interval_s=0.1)
    assert await shared == "shared"
    assert await slack_io.file_shared_in(client=client, file_id=file_id, channel="C_OTHER") is False
    [record] = slack.files
    assert record.id == file_id and record.size == path.stat().st_size
    assert record.path.read_bytes() == path.read_bytes()
    assert (record.channel, record.thread_ts, record.title) == ("C_PUBLIC", parent, "a lake")
    thread = slack.thread("C_PUBLIC", parent)
    assert thread[-1].file is record and thread[-1].text == "Done: cost $0.055, $4.945 left"
    assert "[file lake.mp4, 5.2 MB] — Done: cost $0.055" in slack.render_thread("C_PUBLIC", parent)
    assert [c.error for c in slack.calls_of("upload")] == ["server_error", None]


async def test_only_the_bytes_wait_for_the_upload_gate(slack, client, http, tmp_path):
    path = _video(tmp_path, 3000)
    parent = await slack_io.post_message(client=client, channel="C_PUBLIC", text="request")
    gate = asyncio.Semaphore(1)
    await gate.acquire()  # another job's bytes are going up
    ticketed = asyncio.Event()

    async def on_file_id(file_id):
        ticketed.set()

    upload = asyncio.create_task(
        slack_io.upload_file(
            client=client,
            http=http,
            path=path,
            filename="gated.mp4",
            title="gated",
            channel_id="C_PUBLIC",
            thread_ts=parent,
            initial_comment="here",
            on_file_id=on_file_id,
            bytes_gate=gate,
        )
    )
    await asyncio.wait_for(ticketed.wait(), 10)  # the ticket did not wait for the gate
    for _ in range(20):
        await asyncio.sleep(0.01)
    assert not upload.done() and slack.calls_of("upload") == []  # the bytes do
    gate.release()
    file_id = await asyncio.wait_for(upload, 10)
    assert [f.id for f in slack.files] == [file_id] and slack.files[0].size == 3000
    assert not gate.locked()  # handed back after the bytes


async def test_upload_is_streamed_from_disk(slack, client, http, tmp_path):
    size = 48 * 1024 * 1024
    path = _video(tmp_path, size)
    parent = await slack_io.post_message(client=client, channel="C_PUBLIC", text="request")
    tracemalloc.start()
    try:
        await slack_io.upload_file(
            client=client,
            http=http,
            path=path,
            filename="big.mp4",
            title="big",
            channel_id="C_PUBLIC",
            thread_ts=parent,
            initial_comment="big",
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Client and stand-in together never held more than a few chunks of the 48 MB file.
    assert peak < size // 3, peak
    assert slack.files[0].size == size


async def test_upload_to_unjoined_channel_fails_typed(slack, client, http, tmp_path, retry):
    path = _video(tmp_path, 1000)
    with pytest.raises(SlackNotInChannel):
        await slack_io.upload_file(
            client=client,
            http=http,
            path=path,
            filename="x.mp4",
            title="x",
            channel_id="C_OTHER",
            thread_ts="1.0",
            initial_comment="x",
            retry=retry,
        )
    assert slack.files == []
