"""The files an operator deploys with: Dockerfile, compose.yaml, .env.example, LICENSE, the README table.

No container engine can run here (no registry to pull `python:3.11-slim` from, and the sandbox refuses
the runtime's rlimits), so the image and the stack are checked by reading them; the HEALTHCHECK command
itself is run against a live app.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
import tomllib
from pathlib import Path

import yaml

from bot.settings import _ENV_NAMES, Settings

ROOT = Path(__file__).resolve().parent.parent


def _dockerfile() -> list[tuple[str, str]]:
    """(instruction, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text())
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            instruction, _, rest = line.partition(" ")
            rows.append((instruction.upper(), rest.strip()))
    return rows


def test_dockerfile_is_slim_non_root_with_a_healthcheck():
    rows = _dockerfile()
    [base] = [args for op, args in rows if op == "FROM"]
    assert re.fullmatch(r"python:3\.1[1-9]-slim(-\w+)?", base)
    ops = [op for op, _ in rows]
    users = [args for op, args in rows if op == "USER"]
    assert users and users[-1] not in ("root", "0")
    assert ops.index("USER") > max(i for i, (op, args) in enumerate(rows) if op == "RUN")  # installs as root
    [health] = [args for op, args in rows if op == "HEALTHCHECK"]
    assert health.split("CMD", 1)[1].strip() == '["python", "-m", "bot.healthcheck"]'
    copied = {args.split()[0] for op, args in rows if op == "COPY"}
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    assert {p.rstrip("*") for p in packages["include"]} <= copied
    assert dict(rows)["ENTRYPOINT"] == '["videobot"]' and dict(rows)["CMD"] == '["run"]'
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".env", "*.db", ".git", ".venv"} <= set(ignored)  # no secret or data baked into the image


def test_compose_runs_videobot_on_postgres_with_a_volume_and_health_checks():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"videobot", "postgres"}
    db, bot = services["postgres"], services["videobot"]
    assert db["image"].startswith("postgres:")
    [volume] = compose["volumes"]
    assert any(v.startswith(f"{volume}:/var/lib/postgresql/data") for v in db["volumes"])
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert bot["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert bot["healthcheck"]["test"] == ["CMD", "python", "-m", "bot.healthcheck"]
    url = bot["environment"]["VIDEOBOT_DATABASE_URL"]
    assert url.startswith("postgresql://videobot:") and url.endswith("@postgres:5432/videobot")
    assert db["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")
    grace = int(bot["stop_grace_period"].rstrip("s"))
    assert grace > 10  # SIGTERM exits within 10 s; compose must not SIGKILL before that
    assert bot["env_file"] == ".env" and bot["build"] == "."


def test_env_example_lists_every_setting_with_a_comment_and_loads():
    lines = (ROOT / ".env.example").read_text().splitlines()
    setting = re.compile(r"#? ?[A-Z_]+=")
    for name in _ENV_NAMES.values():
        [at] = [i for i, line in enumerate(lines) if re.match(rf"#? ?{name}=", line)]
        above = next(line for line in reversed(lines[:at]) if not setting.match(line))  # a group shares one
        assert above.startswith("# ") and not above.startswith("# ---"), f"{name} has no comment above it"

    class FromExample(Settings):
        model_config = Settings.model_config | {"env_file": ROOT / ".env.example"}

    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "VIDEOBOT_", "AIGATEWAY_"))}
    saved = os.environ.copy()
    os.environ.clear()
    os.environ.update(env)
    try:
        settings = FromExample()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    assert settings.slack_app_token is None and settings.effective_mode == "http"
    assert settings.missing_for_run() == ["SLACK_BOT_TOKEN", "AIGATEWAY_API_KEY", "SLACK_SIGNING_SECRET"]


def test_readme_table_lists_every_setting():
    readme = (ROOT / "README.md").read_text()
    for name in _ENV_NAMES.values():
        assert f"`{name}`" in readme or name.startswith("VIDEOBOT_DURATION_"), name
    assert "`VIDEOBOT_DURATION_DEFAULT`, `_MIN`, `_MAX`" in readme


def test_license_is_mit_and_declared():
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]


async def _healthcheck(env: dict[str, str]) -> int:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.healthcheck", env=env, stderr=asyncio.subprocess.PIPE
    )
    await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode is not None
    return proc.returncode


async def test_the_container_healthcheck_probes_the_port_its_settings_pick(make_app, slack, tmp_path):
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "VIDEOBOT_", "AIGATEWAY_"))}
    http_app = await make_app()
    http_port = http_app.service.health_url.rsplit(":", 1)[1]
    assert await _healthcheck(base | {"PORT": http_port}) == 0
    socket_app = await make_app(
        slack_app_token="xapp-test-app-token-0123456789", mode=None, db=tmp_path / "other.db"
    )
    socket_port = socket_app.service.health_url.rsplit(":", 1)[1]
    socket_env = base | {"SLACK_APP_TOKEN": "xapp-x", "VIDEOBOT_HEALTH_PORT": socket_port, "PORT": "1"}
    assert await _healthcheck(socket_env) == 0
    assert await _healthcheck(base | {"PORT": "1"}) == 1
