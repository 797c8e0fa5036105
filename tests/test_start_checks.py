"""Start-up checks as an operator meets them: `videobot run` refusing to start, `videobot check`'s list."""

from __future__ import annotations

import asyncio
import os
import sys

from tests.durability.proc import AppProcess, free_port
from tests.e2e.harness import API_KEY, APP_TOKEN, BOT_TOKEN, SIGNING_SECRET


def _env(sim, slack, tmp_path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "VIDEOBOT_", "AIGATEWAY_"))}
    env.update(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack.api_url,
        AIGATEWAY_API_KEY=API_KEY,
        AIGATEWAY_BASE_URL=sim.base_url,
        VIDEOBOT_DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}",
        VIDEOBOT_HOST="127.0.0.1",
        PORT=str(free_port()),
        VIDEOBOT_HEALTH_PORT=str(free_port()),
    )
    env.update(extra)
    return env


async def _cli(*args: str, env: dict[str, str], timeout: float = 30) -> tuple[int, str, str]:
    """Run the CLI without blocking the loop the stand-ins answer on."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_a_bot_token_slack_refuses_stops_start_up_with_one_line(sim, slack, tmp_path):
    env = _env(sim, slack, tmp_path, SLACK_BOT_TOKEN="xoxb-revoked-0000")
    code, out, err = await _cli("run", env=env)
    assert code == 2
    assert err.splitlines() == [
        "start-up check failed: SLACK_BOT_TOKEN: Slack refused it (invalid_auth); "
        "copy the Bot User OAuth Token (xoxb-) again"
    ]
    assert out == "" and "xoxb-revoked" not in err


async def test_missing_scopes_and_an_unreachable_database_are_named_together(sim, slack, tmp_path):
    slack.bot_scopes = ["commands", "chat:write", "files:read", "im:write", "channels:join"]
    slack.bot_scopes += ["app_mentions:read", "channels:read", "users:read"]
    url = f"postgresql://videobot:hunter2-secret@127.0.0.1:{free_port()}/videobot"
    code, _, err = await _cli("run", env=_env(sim, slack, tmp_path, VIDEOBOT_DATABASE_URL=url))
    assert code == 2 and "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(
        "start-up check failed: VIDEOBOT_DATABASE_URL: cannot open postgresql://videobot:***@127.0.0.1:"
    )
    assert lines[1] == (
        "start-up check failed: bot scopes: missing chat:write.public, files:write: add them "
        "(or paste `videobot manifest`) and reinstall the app"
    )
    assert "hunter2" not in err


async def test_check_prints_a_checklist_and_passes_when_all_is_well(sim, slack, tmp_path):
    env = _env(sim, slack, tmp_path, SLACK_APP_TOKEN=APP_TOKEN)
    code, out, _ = await _cli("check", env=env)
    assert code == 0, out
    lines = out.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "ok    settings",
        "ok    VIDEOBOT_DATABASE_URL",
        "ok    SLACK_BOT_TOKEN",
        "ok    bot scopes",
        "ok    SLACK_APP_TOKEN",
        "ok    AIGATEWAY_API_KEY",
    ]
    assert "does not exist yet" in lines[1] and not (tmp_path / "bot.db").exists()
    assert "bot @videobot" in lines[2]
    for secret in (BOT_TOKEN, APP_TOKEN, API_KEY, SIGNING_SECRET):
        assert secret not in out


async def test_check_fails_on_a_refused_gateway_key_and_an_unreachable_slack(sim, slack, tmp_path):
    env = _env(
        sim,
        slack,
        tmp_path,
        AIGATEWAY_API_KEY="sk-wrong",
        SLACK_API_URL=f"http://127.0.0.1:{free_port()}/api/",
    )
    code, out, _ = await _cli("check", env=env)
    assert code == 1
    failed = [line for line in out.splitlines() if line.startswith("FAIL")]
    assert failed == [
        f"FAIL  SLACK_BOT_TOKEN: cannot reach Slack at {env['SLACK_API_URL']}: ClientConnectorError",
        "FAIL  AIGATEWAY_API_KEY: the gateway refused the key (HTTP 401)",
    ]


async def test_check_lists_every_bad_setting(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "VIDEOBOT_", "AIGATEWAY_"))}
    code, out, _ = await _cli("check", env=env | {"VIDEOBOT_BUDGET_PERIOD": "year"})
    assert code == 1
    assert [line.split(":")[1].split()[0] for line in out.splitlines()] == [
        "VIDEOBOT_BUDGET_PERIOD",
        "SLACK_BOT_TOKEN",
        "AIGATEWAY_API_KEY",
        "SLACK_SIGNING_SECRET",
    ]


async def test_a_port_in_use_is_named_with_its_variable(sim, slack, tmp_path):
    blocker = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = blocker.sockets[0].getsockname()[1]
    try:
        code, _, err = await _cli("run", env=_env(sim, slack, tmp_path, PORT=str(port)))
    finally:
        blocker.close()
        await blocker.wait_closed()
    assert code == 2 and "Traceback" not in err
    assert err.splitlines()[-1] == (
        f"start-up check failed: PORT: cannot listen on 127.0.0.1:{port} (Address already in use)"
    )


async def test_a_rate_limited_auth_test_is_waited_out_not_taken_for_a_refusal(sim, slack, tmp_path):
    slack.fail_next("auth.test", "ratelimited", retry_after=1, times=1)
    app = AppProcess(
        sim=sim, slack=slack, db_url=f"sqlite:///{tmp_path / 'bot.db'}", log_path=tmp_path / "app.log"
    )
    await app.start()  # serving after the second try
    code, _ = await app.terminate()
    assert code == 0
    waited = [line for line in app.log_path.read_text().splitlines() if "start.waiting" in line]
    assert len(waited) == 1 and "ratelimited" in waited[0]
    assert len(slack.calls_of("auth.test")) == 2
