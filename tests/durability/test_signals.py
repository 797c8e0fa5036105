"""SIGTERM stops `videobot run` within 10 s in every state: connecting to a Slack out of reach, refused,
reconnecting after the app token was revoked, serving with a job in flight (which the next start ends)."""

from __future__ import annotations

import json
import signal
import time

import httpx

from tests.durability.proc import AppProcess, free_port, resumes_and_delivers_once, until
from tests.e2e.harness import ALICE, APP_TOKEN, CHANNEL


def _socket_app(tmp_path, sim, slack, **env: str) -> AppProcess:
    return AppProcess(
        sim=sim,
        slack=slack,
        db_url=f"sqlite:///{tmp_path / 'bot.db'}",
        log_path=tmp_path / "app.log",
        SLACK_APP_TOKEN=APP_TOKEN,
        **env,
    )


async def _ready(app: AppProcess) -> tuple[int, dict]:
    async with httpx.AsyncClient() as http:
        response = await http.get(f"{app.health_url}/readyz")
    return response.status_code, response.json()


def _log_records(app: AppProcess) -> list[dict]:
    return [json.loads(line) for line in app.log_path.read_text().splitlines() if line.startswith("{")]


async def test_sigterm_while_slack_is_out_of_reach(tmp_path, sim, slack):
    app = _socket_app(tmp_path, sim, slack, SLACK_API_URL=f"http://127.0.0.1:{free_port()}/api/")
    await app.start()  # /healthz answers while the start-up checks wait for Slack
    try:
        await until(lambda: "start.waiting" in app.log_path.read_text(), timeout=15)
        status, body = await _ready(app)
        assert status == 503 and body["slack"] is False
    finally:
        code, seconds = await app.terminate()
    assert code == 0 and seconds < 10
    text = app.log_path.read_text()
    assert "Traceback" not in text and APP_TOKEN not in text
    waiting = [r for r in _log_records(app) if r.get("event") == "start.waiting"]
    assert waiting and "cannot reach Slack" in waiting[0]["msg"]


async def test_sigint_while_the_websocket_cannot_be_opened(tmp_path, sim, slack):
    # The checks pass (apps.connections.open answers), but every socket URL it hands out is refused:
    # the Socket Mode client keeps reconnecting inside the service's start.
    slack.hub.new_ticket = lambda: "a-ticket-the-hub-never-issued"
    app = _socket_app(tmp_path, sim, slack)
    await app.start()
    try:
        await until(lambda: len(slack.calls_of("apps.connections.open")) >= 2, timeout=15)
        assert (await _ready(app))[0] == 503
    finally:
        assert app.proc is not None
        started = time.monotonic()
        app.proc.send_signal(signal.SIGINT)
        await until(lambda: app.proc.poll() is not None, timeout=15)
    assert app.proc.returncode == 0 and time.monotonic() - started < 10
    assert "Traceback" not in app.log_path.read_text() and not slack.hub.connections


async def test_a_refused_app_token_stops_start_up_with_one_line(tmp_path, sim, slack):
    slack.app_token = "xapp-the-one-slack-knows"
    app = _socket_app(tmp_path, sim, slack)
    started = time.monotonic()
    await app.start(wait_healthy=False)
    assert app.proc is not None
    # Refused is final: no waiting for a signal, it stops by itself (SIGTERM would find it gone).
    await until(lambda: app.proc.poll() is not None, timeout=10)
    assert time.monotonic() - started < 10
    assert app.proc.returncode == 2, app.log_path.read_text()
    lines = [line for line in app.log_path.read_text().splitlines() if line.strip()]
    assert lines == [
        "start-up check failed: SLACK_APP_TOKEN: Slack refused it (invalid_auth); "
        "make an app-level token with connections:write"
    ]


async def test_sigterm_while_reconnecting_with_a_revoked_token_and_a_job_in_flight(tmp_path, sim, slack):
    sim.configure(take_s=4.0)
    app = _socket_app(tmp_path, sim, slack)
    await app.start()
    await slack.wait_for_socket(1)
    assert (await _ready(app))[0] == 200
    command = {
        "command": "/video",
        "text": "a long one",
        "user_id": ALICE,
        "channel_id": CHANNEL,
        "team_id": "T_STANDIN",
        "response_url": slack.new_response_url(),
        "trigger_id": "1.2.3",
    }
    ack = await slack.send_socket_event("slash_commands", command)
    assert ack is not None and "on its way" in ack.get("text", "")
    await until(lambda: sim.create_count == 1)
    slack.app_token = "xapp-rotated-after-a-leak"  # the old token no longer opens connections
    await slack.hub.close()  # as Slack drops a connection; the app's reconnects are now refused
    await until(lambda: not slack.hub.connections, timeout=15)
    await until(lambda: "invalid_auth" in app.log_path.read_text(), timeout=15)
    assert (await _ready(app))[0] == 503
    code, seconds = await app.terminate()
    assert code == 0 and seconds < 10
    assert slack.files == []
    assert "Traceback" not in app.log_path.read_text()

    slack.app_token = APP_TOKEN
    sim.configure(take_s=0.3)
    await resumes_and_delivers_once(_socket_app(tmp_path, sim, slack), sim, slack)
