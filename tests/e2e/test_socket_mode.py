"""Socket Mode: the app opens a websocket through apps.connections.open and serves /video over it."""

from __future__ import annotations

import uuid

from storage.models import JobState
from tests.e2e.harness import ALICE, APP_TOKEN, CHANNEL


def _command(text: str, response_url: str) -> dict[str, str]:
    return {
        "command": "/video",
        "text": text,
        "user_id": ALICE,
        "user_name": "alice",
        "channel_id": CHANNEL,
        "team_id": "T_STANDIN",
        "response_url": response_url,
        "trigger_id": f"1.2.{uuid.uuid4().hex}",
    }


async def test_socket_mode_session_runs_a_video(make_app, slack, sim):
    app = await make_app(slack_app_token=APP_TOKEN, mode=None)
    assert app.service.settings.effective_mode == "socket" and app.service.events_url == ""
    await slack.wait_for_socket(1)
    assert len(slack.calls_of("apps.connections.open")) >= 1

    command = _command("a koi pond --ar 1:1", slack.new_response_url())
    ack = await slack.send_socket_event("slash_commands", command)
    assert ack is not None and "on its way" in ack.get("text", "")
    # Slack redelivers an envelope it got no answer to: the same request gets the same answer, once.
    again = await slack.send_socket_event("slash_commands", command)
    assert again == ack
    await app.wait_idle()
    [job] = await app.jobs()
    assert job.state is JobState.DELIVERED and job.aspect_ratio == "1:1"
    assert [f.channel for f in slack.files] == [CHANNEL]

    refused = await slack.send_socket_event(
        "slash_commands", _command("a koi --duration 99", slack.new_response_url())
    )
    assert refused is not None and "15" in refused.get("text", "")
    assert sim.create_count == 1
