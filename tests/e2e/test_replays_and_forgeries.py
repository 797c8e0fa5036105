"""Replays, Slack retries, malformed and unsigned bodies, log floods and slow clients, over real sockets."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import subprocess
import sys
import time
from urllib.parse import quote, urlsplit

import pytest

from bot.deps import ledger_config
from bot.logs import setup_logging
from bot.settings import load_settings
from bot.sim.signing import FORM, interaction_body, post_signed, signed_headers, slash_command_body
from storage import open_store
from tests.e2e.harness import ADMIN, ALICE, APP_TOKEN, CHANNEL, SIGNING_SECRET, ack_text


def _lines(stream: io.StringIO, start: int) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue()[start:].splitlines() if line.strip()]


async def test_a_replayed_or_retried_command_starts_one_job_and_one_charge(make_app, sim, slack):
    app = await make_app()
    body = slash_command_body(
        text="a cat on a skateboard", user_id=ALICE, channel_id=CHANNEL, response_url=slack.new_response_url()
    )
    answers = []
    # The same signed request three times in a minute, then as Slack's retries 1 and 2.
    for retry in (None, None, None, "1", "2"):
        headers = signed_headers(SIGNING_SECRET, body)
        if retry:
            headers |= {"X-Slack-Retry-Num": retry, "X-Slack-Retry-Reason": "http_timeout"}
        answers.append(await app.http.post(app.service.events_url, content=body, headers=headers))
    assert [a.status_code for a in answers] == [200] * 5
    assert "on its way" in ack_text(answers[0])
    assert {ack_text(a) for a in answers} == {ack_text(answers[0])}  # a repeat gets the first answer
    await app.wait_idle()
    [job] = await app.jobs()
    assert sim.create_count == 1 and len(slack.messages(CHANNEL)) == 1
    status = await app.store.budget_status(ALICE)
    assert status.spent_micros == job.charged_micros == 5 * 11_000 and status.reserved_micros == 0

    # After a restart the request is still known: a replay moves no money.
    await app.service.stop()
    again = await make_app()
    replay = await post_signed(again.http, again.service.events_url, body, SIGNING_SECRET)
    assert replay.status_code == 200 and ack_text(replay) == ack_text(answers[0])
    await again.wait_idle()
    assert len(await again.jobs()) == 1 and sim.create_count == 1


async def test_a_replayed_click_starts_one_job(make_app, sim, slack):
    app = await make_app()
    await app.command("a red kite over a beach")
    await app.wait_idle()
    [job] = await app.jobs()
    payload = {
        "type": "block_actions",
        "user": {"id": ALICE, "team_id": "T_STANDIN"},
        "team": {"id": "T_STANDIN"},
        "trigger_id": "9001.42.click",
        "channel": {"id": CHANNEL},
        "container": {"type": "message", "message_ts": job.status_ts, "channel_id": CHANNEL},
        "response_url": slack.new_response_url(),
        "actions": [{"type": "button", "action_id": "video_regenerate", "value": job.id, "action_ts": "1.2"}],
    }
    for _ in range(3):
        assert (await app.interact(payload)).status_code == 200
    await app.wait_idle()
    assert len(await app.jobs()) == 2 and sim.create_count == 2


MALFORMED = [
    ("payload is an array", "payload=" + quote("[1, 2]"), FORM),
    ("payload is a string", "payload=" + quote('"hello"'), FORM),
    ("payload is null", "payload=null", FORM),
    ("payload nested 10,000 deep", "payload=" + quote("[" * 10_000 + "]" * 10_000), FORM),
    ("JSON body is an array", "[1, 2, 3]", "application/json"),
    ("JSON body nested deep", '{"a":' * 10_000 + "1" + "}" * 10_000, "application/json"),
    ("payload is not JSON", "payload=%7Bnot-json", FORM),
    ("actions is a string", "payload=" + quote('{"type": "block_actions", "actions": "x"}'), FORM),
    (
        "callback_id is a number",
        "payload=" + quote('{"type": "view_submission", "view": {"callback_id": 5}}'),
        FORM,
    ),
    ("event type is a list", '{"type": "event_callback", "event": {"type": []}}', "application/json"),
]


@pytest.mark.parametrize(("why", "body", "content_type"), MALFORMED, ids=[m[0] for m in MALFORMED])
async def test_malformed_bodies_are_400_signed_and_401_unsigned_with_one_log_line(
    make_app, sim, slack, app_log, why, body, content_type
):
    app = await make_app()
    start = len(app_log.getvalue())
    signed = await post_signed(
        app.http, app.service.events_url, body, SIGNING_SECRET, content_type=content_type
    )
    assert signed.status_code == 400, why
    mark = len(app_log.getvalue())
    unsigned = await app.http.post(
        app.service.events_url, content=body.encode(), headers={"Content-Type": content_type}
    )
    assert unsigned.status_code == 401, why
    for lines in (_lines(app_log, start)[:1], _lines(app_log, mark)):
        [line] = [x for x in lines if x.get("logger") != "aiohttp.access"]
        assert line["event"] == "http.refused" and "exc" not in line
    assert "Traceback" not in app_log.getvalue()
    await app.wait_idle()
    assert await app.jobs() == [] and sim.create_count == 0


@pytest.mark.parametrize("timestamp", ["1e9", "abc", "", "17.5", "9" * 40, "-5", "0x10"])
async def test_a_timestamp_that_is_not_an_integer_is_401(make_app, app_log, timestamp):
    app = await make_app()
    body = slash_command_body(text="a cat", user_id=ALICE, channel_id=CHANNEL)
    headers = signed_headers(SIGNING_SECRET, body) | {"X-Slack-Request-Timestamp": timestamp}
    response = await app.http.post(app.service.events_url, content=body, headers=headers)
    assert response.status_code == 401
    assert "Traceback" not in app_log.getvalue() and '"level": "error"' not in app_log.getvalue()


async def test_an_unsigned_flood_barely_touches_the_log(make_app, app_log):
    app = await make_app()
    start = len(app_log.getvalue())
    body = slash_command_body(text="x" * 250_000, user_id=ALICE, channel_id=CHANNEL)
    assert 250_000 < len(body) < 256 * 1024
    response = await app.http.post(app.service.events_url, content=body, headers={"Content-Type": FORM})
    assert response.status_code == 401
    added = app_log.getvalue()[start:]
    assert len(added.encode()) < 1024 and "xxxxxxxx" not in added


async def test_a_real_request_failing_the_clock_check_logs_no_url_or_token(make_app, slack, app_log):
    app = await make_app()
    response_url = slack.new_response_url()
    body = slash_command_body(text="a cat", user_id=ALICE, channel_id=CHANNEL, response_url=response_url)
    stale = await post_signed(
        app.http, app.service.events_url, body, SIGNING_SECRET, timestamp=int(time.time()) - 400
    )
    assert stale.status_code == 401
    logged = app_log.getvalue()
    assert urlsplit(response_url).path not in logged and "deprecated-verification-token" not in logged
    assert ALICE not in logged


async def test_a_prompt_saying_payload_is_read_as_a_command(make_app):
    app = await make_app()
    response = await app.command("a payload of fireworks over a harbour")
    assert response.status_code == 200 and "on its way" in ack_text(response)
    await app.wait_idle()
    [job] = await app.jobs()
    assert job.prompt == "a payload of fireworks over a harbour"


async def _dribble_headers(host: str, port: int) -> float:
    """Send a request head one line a second until the server hangs up; returns after how long."""
    reader, writer = await asyncio.open_connection(host, port)
    began = time.monotonic()
    writer.write(b"POST /slack/events HTTP/1.1\r\nHost: x\r\n")
    try:
        while True:
            try:
                writer.write(b"X-Slow: 1\r\n")
                await writer.drain()
                if await asyncio.wait_for(reader.read(1024), 1.0) == b"":
                    return time.monotonic() - began
            except TimeoutError:
                continue
            except ConnectionError:
                return time.monotonic() - began
    finally:
        writer.close()


async def test_slow_header_and_body_clients_are_cut_off_after_10_s_while_others_are_served(make_app):
    app = await make_app()
    url = urlsplit(app.service.events_url)
    slow = [asyncio.create_task(_dribble_headers(url.hostname, url.port)) for _ in range(100)]
    slow_body = asyncio.create_task(_stall_body(url.hostname, url.port))
    await asyncio.sleep(1.0)
    served = [await app.command(f"a quick fox number {i}") for i in range(3)]
    assert [r.status_code for r in served] == [200] * 3 and not any(task.done() for task in slow)
    cut_after = await asyncio.wait_for(asyncio.gather(*slow), 40)
    assert min(cut_after) >= 9.5  # the 10 s are granted, then every one is gone
    assert (await asyncio.wait_for(slow_body, 20)).startswith(b"HTTP/1.1 408")
    await app.wait_idle()


async def test_socket_mode_health_port_cuts_off_slow_header_clients_after_10_s(make_app, slack):
    app = await make_app(slack_app_token=APP_TOKEN, mode=None)
    await slack.wait_for_socket(1)
    base = urlsplit(app.service.health_url)
    slow = [asyncio.create_task(_dribble_headers(base.hostname, base.port)) for _ in range(5)]
    await asyncio.sleep(1.0)
    assert (await app.http.get(f"{app.service.health_url}/healthz")).status_code == 200
    assert not any(task.done() for task in slow)
    cut_after = await asyncio.wait_for(asyncio.gather(*slow), 40)
    assert min(cut_after) >= 9.5  # the same 10 s as Slack's port, then gone


async def _stall_body(host: str, port: int) -> bytes:
    """Announce a 1,000-byte body, send 10 bytes of it and wait; returns the server's status line."""
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n0123456789")
    try:
        return await reader.readline()
    finally:
        writer.close()


async def test_a_click_without_a_valid_signature_starts_nothing(make_app, sim):
    app = await make_app()
    body = interaction_body({"type": "block_actions", "trigger_id": "1.1.1", "actions": []})
    response = await app.http.post(app.service.events_url, content=body, headers={"Content-Type": FORM})
    assert response.status_code == 401 and sim.create_count == 0


async def test_ambiguous_admin_amounts_change_nothing_in_slack(make_app):
    app = await make_app()
    for words in ("budget <@U0ALICE01|ana> $5,00", "budget default 1,5", "cap $5,00", "cap 1e9", "cap 1_000"):
        answer = ack_text(await app.command(words, command="/video-admin", user=ADMIN))
        assert "ambiguous" in answer or "digits out" in answer, words
        assert "1,000.50" in answer or "1,000,000" in answer  # the right form, by example
    assert (await app.store.budget_status(ALICE)).own_budget is False
    assert (await app.store.workspace_status()).cap_micros is None
    assert "$5.00" in ack_text(await app.command("cap 5 USD", command="/video-admin", user=ADMIN))


async def _create_database(url: str) -> None:
    await (await open_store(url, ledger_config(load_settings(database_url=url)))).close()


def test_ambiguous_admin_amounts_change_nothing_in_the_shell(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    asyncio.run(_create_database(url))  # as `videobot run` makes it; the admin CLI never starts one
    env = {**os.environ, "VIDEOBOT_DATABASE_URL": url}
    cli = [sys.executable, "-m", "bot.cli", "admin"]
    refused = subprocess.run([*cli, "budget", "U0ALICE01", "$5,00"], env=env, capture_output=True, text=True)
    assert refused.returncode == 2 and "ambiguous" in refused.stderr
    done = subprocess.run([*cli, "budget", "U0ALICE01", "5", "USD"], env=env, capture_output=True, text=True)
    assert done.returncode == 0 and "$5.00" in done.stdout


async def test_clicks_with_forged_values_start_nothing_and_log_no_traceback(make_app, sim, app_log):
    app = await make_app()
    base = {"type": "block_actions", "team": {"id": "T_STANDIN"}, "user": {"id": ALICE}}
    forged = [
        {"actions": "video_regenerate"},
        {"actions": [{"action_id": "video_regenerate", "value": {"id": "x"}}]},
        {"actions": [{"action_id": "video_regenerate", "value": "x" * 5000}]},
        {"actions": [{"action_id": "video_regenerate", "value": "no-such-job"}], "user": "U0ALICE01"},
        {"actions": [{"action_id": "video_retry", "value": "no-such-job"}], "channel": ["C1"]},
        {"actions": [{"action_id": "video_edit", "value": None}], "user": None},
    ]
    for n, extra in enumerate(forged):
        response = await app.interact(base | {"trigger_id": f"77.{n}.forged"} | extra)
        # A shape Slack never sends is refused before Bolt reads it; a value that names no job is
        # answered (ephemerally) and starts nothing.
        assert response.status_code == (400 if n in (0, 3, 4) else 200), extra
    await app.wait_idle()
    assert await app.jobs() == [] and sim.create_count == 0
    assert "Traceback" not in app_log.getvalue()


async def test_at_debug_no_library_logs_a_prompt_or_a_url(make_app, slack, sim):
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, {n: logging.getLogger(n).level for n in ("slack_sdk", "videobot")})
    stream = io.StringIO()
    setup_logging("DEBUG", stream)
    logging.getLogger("slack_sdk").setLevel(logging.DEBUG)  # as a careless operator might
    unfiltered = io.StringIO()  # beside it, what the libraries would have written
    root.addHandler(logging.StreamHandler(unfiltered))
    try:
        app = await make_app()
        response_url = slack.new_response_url()
        await app.command("a zebracorn in zanzibar", response_url=response_url)
        await app.wait_idle()
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        for name, level in saved[2].items():
            logging.getLogger(name).setLevel(level)
    logged = stream.getvalue()
    assert "zebracorn" in unfiltered.getvalue()  # Bolt and slack_sdk do log it at DEBUG...
    assert "zebracorn" not in logged and urlsplit(response_url).path not in logged
    assert sim.media_origin not in logged


async def test_requests_http_cannot_parse_get_400_and_one_short_log_line_each(make_app, app_log):
    app = await make_app()
    url = urlsplit(app.service.events_url)
    head = b"POST /slack/events HTTP/1.1\r\nHost: x\r\n"
    broken = [
        b"GARBAGE-SECRET-ECHO\r\n\r\n",
        head + b"X-Echo: " + b"SECRET-ECHO" * 2000 + b"\r\n\r\n",
        head + b"Content-Length: SECRET-ECHO\r\n\r\n",
        head + b"Transfer-Encoding: chunked\r\n\r\nSECRET-ECHO\r\n",
        head + b"Content-Length: 11\r\nContent-Encoding: gzip\r\n\r\nSECRET-ECHO",  # not decoded: 401
    ]
    start = len(app_log.getvalue())
    for raw in broken:
        reader, writer = await asyncio.open_connection(url.hostname, url.port)
        writer.write(raw)
        status = (await asyncio.wait_for(reader.readline(), 5)).split(b" ")[1]
        assert status in (b"400", b"401"), raw[:60]
        writer.close()
    await asyncio.sleep(0.1)
    lines = _lines(app_log, start)
    # At most one line each (aiohttp keeps a first request that is not HTTP at all at DEBUG).
    assert 0 < len(lines) <= len(broken) and all("exc" not in line for line in lines)
    added = app_log.getvalue()[start:]
    assert "SECRET-ECHO" not in added and len(added.encode()) < 300 * len(broken)
