"""The Slack stand-in as strict as Slack: rate-limit tiers and per-channel post pace (429 +
Retry-After), asynchronous share processing, trigger_id and response_url limits, granted scopes."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.sim.slack import SlackStandIn
from tests.slack_tools import error_of


async def _upload(client, http, name: str = "a.bin") -> str:
    ticket = await client.files_getUploadURLExternal(filename=name, length=3)
    assert (await http.post(ticket["upload_url"], content=b"abc")).status_code == 200
    return str(ticket["file_id"])


async def test_share_shows_in_files_info_only_after_processing(slack, client):
    slack.workspace.share_processing_s = 0.4
    async with httpx.AsyncClient() as http:
        file_id = await _upload(client, http)
    parent = await client.chat_postMessage(channel="C_PUBLIC", text="p")
    await client.files_completeUploadExternal(
        files=[{"id": file_id}], channel_id="C_PUBLIC", thread_ts=parent["ts"]
    )
    assert (await client.files_info(file=file_id))["file"]["channels"] == []
    await asyncio.sleep(0.5)
    assert (await client.files_info(file=file_id))["file"]["channels"] == ["C_PUBLIC"]


async def test_tier_limit_answers_429_and_records_calls_inside_retry_after(slack, client):
    posted = await client.chat_postMessage(channel="C_PUBLIC", text="x")
    # chat.update is Tier 3: 50 per minute, a burst of 12 at most.
    for n in range(12):
        await client.chat_update(channel="C_PUBLIC", ts=posted["ts"], text=f"edit {n}")
    with pytest.raises(SlackApiError) as info:
        await client.chat_update(channel="C_PUBLIC", ts=posted["ts"], text="one too many")
    assert info.value.response.status_code == 429
    assert info.value.response.headers["Retry-After"] in ("1", "2")  # whole seconds, as Slack sends
    assert slack.calls_inside_retry_after == [] and slack.throttled == 1
    # Other methods have limits of their own; calling this one again inside the wait is recorded.
    await client.chat_postEphemeral(channel="C_PUBLIC", user="U1", text="fine")
    assert await error_of(client.chat_update(channel="C_PUBLIC", ts=posted["ts"], text="z")) == "ratelimited"
    [violation] = slack.calls_inside_retry_after
    assert violation.method == "chat.update" and violation.seconds_early > 0


async def test_post_message_paces_each_channel(slack, client):
    for _ in range(3):  # a short burst is allowed
        await client.chat_postMessage(channel="C_PUBLIC", text="x")
    assert await error_of(client.chat_postMessage(channel="C_PUBLIC", text="x")) == "ratelimited"
    await client.chat_postMessage(channel="C_OTHER", text="another channel has its own pace")
    await asyncio.sleep(1.05)  # the announced Retry-After (1 s) has passed
    await client.chat_postMessage(channel="C_PUBLIC", text="x")
    assert slack.calls_inside_retry_after == []


async def test_tier_scale_loosens_every_limit(tmp_path):
    async with SlackStandIn(storage_dir=tmp_path / "u", tier_scale=20) as fast:
        client = AsyncWebClient(token=fast.bot_token, base_url=fast.api_url, retry_handlers=[])
        posted = await client.chat_postMessage(channel="C_PUBLIC", text="x")
        for n in range(30):  # unscaled, the 13th would be refused
            await client.chat_update(channel="C_PUBLIC", ts=posted["ts"], text=f"{n}")
        assert fast.throttled == 0


async def test_trigger_id_is_good_for_3_seconds_and_once(slack, client):
    view = {"type": "modal", "title": {"type": "plain_text", "text": "A"}}
    trigger = slack.new_trigger_id()
    await client.views_open(trigger_id=trigger, view=view)
    assert await error_of(client.views_open(trigger_id=trigger, view=view)) == "exchanged_trigger_id"
    old = slack.new_trigger_id(age_s=3.5)
    assert await error_of(client.views_open(trigger_id=old, view=view)) == "expired_trigger_id"
    assert await error_of(client.views_open(trigger_id="made.up", view=view)) == "invalid_trigger_id"
    assert len(slack.workspace.views) == 1


async def test_response_url_takes_5_posts_within_30_minutes(slack):
    url = slack.new_response_url()
    stale = slack.new_response_url(age_s=31 * 60)
    async with httpx.AsyncClient() as http:
        codes = [(await http.post(url, json={"text": f"{n}"})).status_code for n in range(6)]
        sixth = await http.post(url, json={"text": "sixth"})
        late = await http.post(stale, json={"text": "late"})
    assert codes == [200] * 5 + [404]
    assert sixth.json()["error"] == "used_url" and late.json()["error"] == "expired_url"
    assert [r["text"] for r in slack.responses(url)] == ["0", "1", "2", "3", "4"]


async def test_answers_carry_the_granted_scopes_and_refuse_a_method_without_its_scope(slack, client):
    me = await client.auth_test()
    assert set(me.headers["x-oauth-scopes"].split(",")) >= {"chat:write", "files:write"}
    slack.bot_scopes.remove("files:write")
    assert await error_of(client.files_getUploadURLExternal(filename="a.mp4", length=3)) == "missing_scope"
    assert "files:write" not in (await client.auth_test()).headers["x-oauth-scopes"]


async def test_names_in_a_message_need_users_read_and_channels_read(slack, client):
    from bot.slack.markup import lookup_names

    slack.add_user("U0ALICE01", "alice")
    slack.add_channel("C0PUBLIC1", "public", True, "general")
    text = "<@U0ALICE01> in <#C0PUBLIC1|>"
    named = await lookup_names(client, text)
    assert named["U0ALICE01"] == "alice" and named["C0PUBLIC1"] == "general"
    # An app installed before the shortcut: Slack says missing_scope, and the ids stay as they are.
    slack.bot_scopes.remove("users:read")
    slack.bot_scopes.remove("channels:read")
    assert await lookup_names(client, text) == {}
