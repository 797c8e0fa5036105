"""The Slack stand-in over real sockets, driven with slack_sdk as the app drives it."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import parse_qs

import httpx
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.sim.signing import interaction_body, post_signed, sign, signed_headers, slash_command_body
from tests.local_server import serving
from tests.slack_tools import error_of


async def test_post_update_and_read_thread_with_edits(slack, client):
    assert slack.api_url.endswith("/api/")
    parent = await client.chat_postMessage(channel="C_PUBLIC", text="<@U1> asked: a lake")
    status = await client.chat_postMessage(channel="C_PUBLIC", text="queued", thread_ts=parent["ts"])
    for text in ("generating 5s", "generating 10s", "uploading"):
        await client.chat_update(channel="C_PUBLIC", ts=status["ts"], text=text)
    await client.chat_postMessage(channel="C_PUBLIC", text="done", thread_ts=status["ts"])  # reply to a reply

    assert [m.text for m in slack.messages("C_PUBLIC")] == ["<@U1> asked: a lake"]
    thread = slack.thread("C_PUBLIC", parent["ts"])
    assert [m.text for m in thread] == ["<@U1> asked: a lake", "uploading", "done"]
    assert thread[1].edits == 3
    assert thread[1].history == ["queued", "generating 5s", "generating 10s", "uploading"]
    assert thread[2].thread_ts == parent["ts"]
    rendered = slack.render_thread("C_PUBLIC", parent["ts"])
    assert "videobot (edited 3×): uploading" in rendered
    assert "#general" in rendered
    replies = await client.conversations_replies(channel="C_PUBLIC", ts=parent["ts"])
    assert [m["text"] for m in replies["messages"]] == ["<@U1> asked: a lake", "uploading", "done"]
    assert [c.method for c in slack.calls].count("chat.update") == 3


async def test_bad_thread_and_foreign_message(slack, client):
    assert (
        await error_of(client.chat_postMessage(channel="C_PUBLIC", text="x", thread_ts="1.2"))
        == "thread_not_found"
    )
    assert await error_of(client.chat_update(channel="C_PUBLIC", ts="1.2", text="x")) == "message_not_found"


async def test_channel_membership_rules(slack, client):
    # chat:write.public: posting in a public channel needs no membership, sharing a file does.
    await client.chat_postMessage(channel="C_OTHER", text="hi")
    assert [m.text for m in slack.messages("C_OTHER")] == ["hi"]
    ticket = await client.files_getUploadURLExternal(filename="a.bin", length=3)
    async with httpx.AsyncClient() as http:
        assert (await http.post(ticket["upload_url"], content=b"abc")).status_code == 200
    share = client.files_completeUploadExternal(files=[{"id": ticket["file_id"]}], channel_id="C_OTHER")
    assert await error_of(share) == "not_in_channel"
    joined = await client.conversations_join(channel="C_OTHER")
    assert joined["channel"]["is_member"] is True
    await client.files_completeUploadExternal(files=[{"id": ticket["file_id"]}], channel_id="C_OTHER")
    assert [f.channel for f in slack.files] == ["C_OTHER"]

    assert await error_of(client.chat_postMessage(channel="C_PRIVATE", text="hi")) == "channel_not_found"
    assert (
        await error_of(client.conversations_join(channel="C_PRIVATE"))
        == "method_not_supported_for_channel_type"
    )
    assert await error_of(client.chat_postMessage(channel="D_USERS", text="hi")) == "channel_not_found"
    assert await error_of(client.conversations_info(channel="C_PRIVATE")) == "channel_not_found"

    slack.add_channel("G_TEAM", "private", bot_member=True)
    info = await client.conversations_info(channel="G_TEAM")
    assert info["channel"]["is_private"] is True
    await client.chat_postMessage(channel="G_TEAM", text="inside")
    assert len(slack.messages("G_TEAM")) == 1


async def test_open_dm_is_stable_and_postable(slack, client):
    first = await client.conversations_open(users="U_ALICE")
    again = await client.conversations_open(users=["U_ALICE"])
    other = await client.conversations_open(users="U_BOB")
    dm = first["channel"]["id"]
    assert dm.startswith("D") and dm == again["channel"]["id"] != other["channel"]["id"]
    await client.chat_postMessage(channel=dm, text="your video")
    assert [m.text for m in slack.messages(dm)] == ["your video"]


async def test_auth_is_checked(slack):
    wrong = AsyncWebClient(token="xoxb-wrong", base_url=slack.api_url, retry_handlers=[])
    assert await error_of(wrong.chat_postMessage(channel="C_PUBLIC", text="x")) == "invalid_auth"
    app = AsyncWebClient(token=slack.app_token, base_url=slack.api_url, retry_handlers=[])
    assert await error_of(app.chat_postMessage(channel="C_PUBLIC", text="x")) == "not_allowed_token_type"
    none = AsyncWebClient(base_url=slack.api_url, retry_handlers=[])
    assert await error_of(none.auth_test()) == "not_authed"
    assert slack.messages("C_PUBLIC") == []


async def test_form_encoded_and_json_bodies(slack):
    headers = {"Authorization": f"Bearer {slack.bot_token}"}
    async with httpx.AsyncClient(base_url=slack.api_url, headers=headers) as http:
        form = await http.post("chat.postMessage", data={"channel": "C_PUBLIC", "text": "form"})
        blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "b"}}]
        sent = await http.post(
            "chat.postMessage", json={"channel": "C_PUBLIC", "text": "json", "blocks": blocks}
        )
        token_in_form = await http.post(
            "auth.test", data={"token": slack.bot_token}, headers={"Authorization": ""}
        )
    assert form.json()["ok"] and sent.json()["ok"] and token_in_form.json()["ok"]
    assert [m.text for m in slack.messages("C_PUBLIC")] == ["form", "json"]
    assert slack.messages("C_PUBLIC")[1].blocks == blocks
    assert all("token" not in c.params for c in slack.calls)


async def test_fail_next_ratelimited_and_errors(slack, client):
    posted = await client.chat_postMessage(channel="C_PUBLIC", text="x")
    slack.fail_next("chat.postMessage", retry_after=2)
    with pytest.raises(SlackApiError) as info:
        await client.chat_postMessage(channel="C_PUBLIC", text="x")
    assert info.value.response.status_code == 429
    assert info.value.response.headers["Retry-After"] == "2"
    # Calling again inside the announced wait is refused and recorded.
    assert await error_of(client.chat_postMessage(channel="C_OTHER", text="x")) == "ratelimited"
    assert [v.method for v in slack.calls_inside_retry_after] == ["chat.postMessage"]
    slack.fail_next("chat.update", error="internal_error", times=2)
    for _ in range(2):
        assert (
            await error_of(client.chat_update(channel="C_PUBLIC", ts=posted["ts"], text="y"))
            == "internal_error"
        )
    await client.chat_update(channel="C_PUBLIC", ts=posted["ts"], text="y")
    assert [c.error for c in slack.calls_of("chat.update")] == ["internal_error", "internal_error", None]


async def test_views_users_permalink_files_info(slack, client):
    opened = await client.views_open(
        trigger_id=slack.new_trigger_id(),
        view={"type": "modal", "title": {"type": "plain_text", "text": "A"}},
    )
    view_id = opened["view"]["id"]
    updated = await client.views_update(
        view_id=view_id, view={"type": "modal", "title": {"type": "plain_text", "text": "B"}}
    )
    assert updated["view"]["title"]["text"] == "B"
    await client.views_publish(user_id="U_ALICE", view={"type": "home", "blocks": []})
    assert slack.workspace.home_views["U_ALICE"]["type"] == "home"
    slack.add_user("U_ALICE", "alice")
    slack.bot_scopes.remove("users:read")  # an app installed before mentions asked for it
    assert await error_of(client.users_info(user="U_ALICE")) == "missing_scope"
    slack.bot_scopes.append("users:read")
    user = await client.users_info(user="U_ALICE")
    assert user["user"]["name"] == "alice"
    posted = await client.chat_postMessage(channel="C_PUBLIC", text="x")
    link = await client.chat_getPermalink(channel="C_PUBLIC", message_ts=posted["ts"])
    assert posted["ts"].replace(".", "") in link["permalink"]
    assert await error_of(client.files_info(file="F404")) == "file_not_found"
    me = await client.auth_test()
    assert me["user_id"] == "UBOT"


async def test_upload_raw_multipart_and_length_check(slack, client, tmp_path):
    async with httpx.AsyncClient() as http:
        payload = bytes(range(256)) * 100
        ticket = await client.files_getUploadURLExternal(filename="a.mp4", length=len(payload))
        raw = await http.post(ticket["upload_url"], content=payload)
        assert raw.status_code == 200
        ticket2 = await client.files_getUploadURLExternal(filename="b.mp4", length=len(payload))
        multi = await http.post(ticket2["upload_url"], files={"file": ("b.mp4", payload, "video/mp4")})
        assert multi.status_code == 200
        ticket3 = await client.files_getUploadURLExternal(filename="c.mp4", length=len(payload) + 1)
        short = await http.post(ticket3["upload_url"], content=payload)
        assert short.status_code == 400
    parent = await client.chat_postMessage(channel="C_PUBLIC", text="p")
    await client.files_completeUploadExternal(
        files=[{"id": ticket["file_id"], "title": "A"}, {"id": ticket2["file_id"], "title": "B"}],
        channel_id="C_PUBLIC",
        thread_ts=parent["ts"],
        initial_comment="here",
    )
    assert [f.path.read_bytes() == payload for f in slack.files] == [True, True]
    assert [f.title for f in slack.files] == ["A", "B"]
    assert (
        await error_of(
            client.files_completeUploadExternal(files=[{"id": ticket3["file_id"]}], channel_id="C_PUBLIC")
        )
        == "file_upload_not_complete"
    )
    info = await client.files_info(file=ticket["file_id"])
    assert info["file"]["size"] == len(payload)
    again = client.files_completeUploadExternal(files=[{"id": ticket["file_id"]}], channel_id="C_PUBLIC")
    assert await error_of(again) == "file_not_found"  # the upload ticket is spent
    assert slack.repeated_completes == [ticket["file_id"]]
    # Each call records when it came and when it was answered (an upload: its last byte stored).
    uploads = slack.calls_of("upload")
    assert [c.params["size"] for c in uploads] == [len(payload)] * 3
    for call in [*uploads, *slack.calls_of("files.completeUploadExternal")]:
        assert call.done is not None and call.time <= call.done
    assert slack.state()["calls"][-1]["done"] is not None


async def test_upload_fault_and_not_in_channel_share(slack, client):
    slack.fail_next("upload", error="server_error")
    ticket = await client.files_getUploadURLExternal(filename="a.bin", length=3)
    async with httpx.AsyncClient() as http:
        assert (await http.post(ticket["upload_url"], content=b"abc")).status_code == 500
        assert (await http.post(ticket["upload_url"], content=b"abc")).status_code == 200
    assert (
        await error_of(
            client.files_completeUploadExternal(files=[{"id": ticket["file_id"]}], channel_id="C_OTHER")
        )
        == "not_in_channel"
    )
    assert slack.files == []


async def test_response_url_and_http_hooks(slack):
    url = slack.new_response_url()
    async with httpx.AsyncClient() as http:
        assert (
            await http.post(url, json={"text": "only you", "response_type": "ephemeral"})
        ).status_code == 200
        config = {"fail_next": {"method": "auth.test", "error": "fatal_error"}}
        assert (await http.post(f"{slack.base_url}_standin/config", json=config)).json() == {"ok": True}
        bad = await http.post(f"{slack.base_url}_standin/config", json={"explode": {}})
        assert bad.status_code == 400
        auth = await http.post(
            f"{slack.api_url}auth.test", headers={"Authorization": f"Bearer {slack.bot_token}"}
        )
        assert auth.json() == {"ok": False, "error": "fatal_error"}
        state = (await http.get(f"{slack.base_url}_standin/state")).json()
        missing = await http.post(f"{slack.base_url}response/999", json={"text": "x"})
    assert slack.responses(url) == [{"text": "only you", "response_type": "ephemeral"}]
    assert state["responses"][url][0]["text"] == "only you"
    assert state["calls"][-1]["method"] == "auth.test" and state["calls"][-1]["error"] == "fatal_error"
    assert missing.status_code == 404


async def test_socket_mode_round_trip(slack):
    received = []

    async def listener(sm_client, request):
        received.append((request.type, request.payload))
        await sm_client.send_socket_mode_response(
            SocketModeResponse(envelope_id=request.envelope_id, payload={"text": f"ok {sm_client.n}"})
        )

    web = AsyncWebClient(base_url=slack.api_url, retry_handlers=[])
    clients = []
    for n in (1, 2):
        sm = SocketModeClient(app_token=slack.app_token, web_client=web, ping_interval=1)
        sm.n = n
        sm.socket_mode_request_listeners.append(listener)
        await sm.connect()
        clients.append(sm)
    try:
        await slack.wait_for_socket(2)
        command = {"command": "/video", "text": "a lake", "user_id": "U1"}
        answers = [await slack.send_socket_event("slash_commands", command) for _ in range(4)]
        assert sorted(a["text"] for a in answers) == ["ok 1", "ok 1", "ok 2", "ok 2"]
        assert received[0] == ("slash_commands", command)
        assert all(0 <= a.latency_s < 3 for a in slack.acks) and len(slack.acks) == 4
        assert {a.connection for a in slack.acks} == {1, 2}
    finally:
        for sm in clients:
            await sm.close()
    await asyncio.sleep(0.05)
    with pytest.raises(ConnectionError):
        await slack.send_socket_event("events_api", {})


async def test_socket_url_needs_app_token(slack, client):
    assert await error_of(client.apps_connections_open(app_token=slack.bot_token)) == "not_allowed_token_type"
    async with httpx.AsyncClient() as http:
        assert (await http.get(f"{slack.base_url}socket?ticket=forged")).status_code == 401


async def test_signing_helpers_match_slack_sdk_verifier():
    secret = "8f742231b10e8888abcd99yyyzzz85a5"
    body = slash_command_body(text="a lake --duration 5", user_id="U1", response_url="http://x/r")
    ts = 1_700_000_000
    verifier = SignatureVerifier(secret, clock=type("C", (), {"now": staticmethod(lambda: ts + 10)})())
    assert verifier.is_valid(body, ts, sign(secret, body, ts))
    assert not verifier.is_valid(body, ts, sign("other", body, ts))
    fields = parse_qs(body)
    assert fields["command"] == ["/video"] and fields["text"] == ["a lake --duration 5"]
    payload = {"type": "block_actions", "user": {"id": "U1"}}
    assert json.loads(parse_qs(interaction_body(payload))["payload"][0]) == payload
    headers = signed_headers(secret, body, timestamp=ts)
    assert verifier.is_valid_request(body, {k.lower(): v for k, v in headers.items()})


async def test_post_signed_reaches_a_server(slack):
    secret = "s3cret"
    body = slash_command_body(text="hi")
    async with httpx.AsyncClient() as http:
        response = await post_signed(http, slack.new_response_url(), body, secret, timestamp=123)
    assert response.status_code == 200
    recorded = slack.calls_of("response_url")[-1].params["body"]
    assert recorded["text"] == "hi" and recorded["command"] == "/video"


def _bolt_app(slack, secret="bolt-secret"):
    from slack_bolt.async_app import AsyncApp

    from bot.slack.api import make_web_client

    app = AsyncApp(client=make_web_client(slack.bot_token, slack.api_url), signing_secret=secret)

    @app.command("/video")
    async def video(ack, command, client):
        await ack(text=f"got {command['text']}")
        await client.chat_postMessage(channel=command["channel_id"], text=f"request: {command['text']}")

    return app


async def test_bolt_socket_mode_through_the_stand_in(slack):
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    handler = AsyncSocketModeHandler(_bolt_app(slack), slack.app_token)
    await handler.connect_async()
    try:
        await slack.wait_for_socket()
        body = {
            "command": "/video",
            "text": "a lake",
            "user_id": "U1",
            "channel_id": "C_PUBLIC",
            "team_id": "T_STANDIN",
        }
        ack = await slack.send_socket_event("slash_commands", body)
        assert ack == {"text": "got a lake"}
        for _ in range(100):
            if slack.messages("C_PUBLIC"):
                break
            await asyncio.sleep(0.01)
        assert [m.text for m in slack.messages("C_PUBLIC")] == ["request: a lake"]
    finally:
        await handler.close_async()


async def test_bolt_http_mode_accepts_signed_and_rejects_forged(slack):
    body = slash_command_body(text="hi", channel_id="C_PUBLIC", response_url=slack.new_response_url())
    async with serving(_bolt_app(slack).web_app(path="/slack/events")) as base, httpx.AsyncClient() as http:
        url = f"{base}/slack/events"
        good = await post_signed(http, url, body, "bolt-secret")
        forged = await post_signed(http, url, body, "wrong-secret")
        stale = await post_signed(http, url, body, "bolt-secret", timestamp=1_000_000)
    assert good.status_code == 200 and good.text == "got hi"
    assert forged.status_code == 401 and stale.status_code == 401
