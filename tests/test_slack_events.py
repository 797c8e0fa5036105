"""The stand-in delivers events as Slack does: signed JSON, resent with the same event_id and the
retry headers when the answer is slow or not a 2xx, and never after `X-Slack-No-Retry: 1`."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import aiohttp
import httpx
import pytest
from aiohttp import web
from slack_sdk.signature import SignatureVerifier

from bot.sim.slack import BOT_USER, SlackStandIn
from bot.sim.slack.events import (
    deliver_event,
    deliver_socket_event,
    mention_envelope,
    message_action,
    post_mention,
)
from tests.local_server import serving

SECRET = "events-secret"


class Receiver:
    """A loopback server standing where the app would, answering as each test tells it to."""

    def __init__(self) -> None:
        self.seen: list[tuple[dict[str, str], dict]] = []
        self.answers: list[tuple[float, int, dict[str, str]]] = []  # (delay, status, headers) per request
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.text()
        verified = SignatureVerifier(SECRET).is_valid_request(body, dict(request.headers))
        assert verified, "every delivery is signed"
        self.seen.append((dict(request.headers), json.loads(body)))
        delay, status, headers = self.answers.pop(0) if self.answers else (0.0, 200, {})
        await asyncio.sleep(delay)
        return web.Response(status=status, headers=headers)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    got = Receiver()
    app = web.Application()
    app.router.add_post("/slack/events", got.handle)
    async with serving(app, shutdown_timeout=0.5) as url:
        got.url = f"{url}/slack/events"
        yield got


@pytest.fixture
async def slack() -> AsyncIterator[SlackStandIn]:
    async with SlackStandIn() as stand_in:
        yield stand_in


def _retries(receiver: Receiver) -> list[tuple[str | None, str | None]]:
    return [(h.get("X-Slack-Retry-Num"), h.get("X-Slack-Retry-Reason")) for h, _ in receiver.seen]


async def test_a_mention_is_a_message_in_the_thread_and_an_app_mention_event(slack):
    root = post_mention(slack, "C_PUBLIC", "U0BOB0001", "plans?")
    message = post_mention(slack, "C_PUBLIC", "U0ALICE01", f"<@{BOT_USER}> a cat", thread_ts=root.ts)
    envelope = mention_envelope(message)
    event = envelope["event"]
    assert envelope["type"] == "event_callback" and envelope["event_id"].startswith("Ev")
    assert (event["type"], event["user"], event["ts"], event["thread_ts"]) == (
        "app_mention",
        "U0ALICE01",
        message.ts,
        root.ts,
    )
    assert "thread_ts" not in mention_envelope(root)["event"]
    assert mention_envelope(message)["event_id"] != envelope["event_id"]
    assert [m.ts for m in slack.thread("C_PUBLIC", root.ts)] == [root.ts, message.ts]


async def test_a_2xx_answer_is_delivered_once(receiver, slack):
    envelope = mention_envelope(post_mention(slack, "C_PUBLIC", "U1", f"<@{BOT_USER}> a cat"))
    async with httpx.AsyncClient() as http:
        attempts = await deliver_event(http, receiver.url, SECRET, envelope)
    assert [(a.retry_num, a.status) for a in attempts] == [(0, 200)]
    assert _retries(receiver) == [(None, None)]


async def test_slow_and_failed_answers_are_resent_with_the_same_event_id(receiver, slack):
    envelope = mention_envelope(post_mention(slack, "C_PUBLIC", "U1", f"<@{BOT_USER}> a cat"))
    receiver.answers = [(0.5, 200, {}), (0.0, 500, {}), (0.0, 200, {})]
    async with httpx.AsyncClient() as http:
        attempts = await deliver_event(
            http, receiver.url, SECRET, envelope, ack_timeout_s=0.2, retry_delays_s=(0.0, 0.05, 0.05)
        )
    assert [(a.retry_num, a.reason, a.status) for a in attempts] == [
        (0, None, None),
        (1, "http_timeout", 500),
        (2, "http_error", 200),
    ]
    assert _retries(receiver) == [(None, None), ("1", "http_timeout"), ("2", "http_error")]
    assert {body["event_id"] for _, body in receiver.seen} == {envelope["event_id"]}


async def test_no_retry_header_and_the_retry_limit_are_honoured(receiver, slack):
    envelope = mention_envelope(post_mention(slack, "C_PUBLIC", "U1", f"<@{BOT_USER}> a cat"))
    receiver.answers = [(0.0, 503, {"X-Slack-No-Retry": "1"})]
    async with httpx.AsyncClient() as http:
        attempts = await deliver_event(http, receiver.url, SECRET, envelope, retry_delays_s=(0.0, 0.0, 0.0))
        assert [a.status for a in attempts] == [503]
        receiver.answers = [(0.0, 500, {})] * 4
        attempts = await deliver_event(http, receiver.url, SECRET, envelope, retry_delays_s=(0.0, 0.0, 0.0))
    assert [a.retry_num for a in attempts] == [0, 1, 2, 3]  # the first try and three resends, no more


async def test_message_action_payload(slack):
    message = post_mention(slack, "C_PUBLIC", "U0BOB0001", "a <https://x.example|link>")
    payload = message_action(slack, message, "U0ALICE01", callback_id="video_from_message")
    assert payload["type"] == "message_action" and payload["callback_id"] == "video_from_message"
    assert payload["message_ts"] == message.ts and payload["message"]["text"] == message.text
    assert (
        payload["channel"] == {"id": "C_PUBLIC", "name": "general"} and payload["user"]["id"] == "U0ALICE01"
    )
    assert payload["response_url"].startswith(f"{slack.base_url}response/") and payload["trigger_id"]


async def test_no_mention_event_from_a_conversation_the_app_is_not_in(slack):
    with pytest.raises(ValueError, match="not in C_OTHER"):
        post_mention(slack, "C_OTHER", "U1", f"<@{BOT_USER}> a cat")
    assert post_mention(slack, "C_OTHER", "U1", "no mention here").user == "U1"


async def test_no_mention_event_to_an_app_without_its_scope(slack):
    slack.bot_scopes.remove("app_mentions:read")  # an app installed before mentions
    with pytest.raises(ValueError, match="app_mentions:read"):
        post_mention(slack, "C_PUBLIC", "U1", f"<@{BOT_USER}> a cat")


async def test_an_unacknowledged_socket_envelope_is_resent(slack):
    envelope = mention_envelope(post_mention(slack, "C_PUBLIC", "U1", f"<@{BOT_USER}> a cat"))
    async with httpx.AsyncClient() as http:
        opened = await http.post(
            f"{slack.api_url}apps.connections.open", headers={"Authorization": f"Bearer {slack.app_token}"}
        )
    seen: list[dict] = []
    async with aiohttp.ClientSession() as session, session.ws_connect(opened.json()["url"]) as ws:
        assert json.loads((await ws.receive()).data)["type"] == "hello"

        async def app_side() -> None:
            async for msg in ws:
                got = json.loads(msg.data)
                seen.append(got)
                if len(seen) == 2:  # the first envelope goes unanswered; the resend is acknowledged
                    await ws.send_str(json.dumps({"envelope_id": got["envelope_id"]}))
                    return

        reader = asyncio.create_task(app_side())
        await deliver_socket_event(slack, envelope, ack_timeout_s=0.2)
        await reader
    assert [(e["retry_attempt"], e["retry_reason"]) for e in seen] == [(0, ""), (1, "timeout")]
    assert {e["payload"]["event_id"] for e in seen} == {envelope["event_id"]}
    assert len({e["envelope_id"] for e in seen}) == 2
