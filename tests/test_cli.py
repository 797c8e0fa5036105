"""The command line as a user meets it: the demo, and one-line configuration errors."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bot.settings import load_settings
from bot.sim.mp4 import mp4_info
from storage.errors import SettingsError

CLI = [sys.executable, "-m", "bot.cli"]


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "VIDEOBOT_", "AIGATEWAY_"))}
    env.update(extra)
    return env


def test_demo_leaves_a_playable_mp4_in_a_thread(tmp_path):
    out = tmp_path / "demo"
    done = subprocess.run(
        [*CLI, "demo", "--out", str(out)], env=_clean_env(), capture_output=True, text=True, timeout=90
    )
    assert done.returncode == 0, done.stderr
    assert "asked for a video" in done.stdout and "Delivered" in done.stdout
    path = out / "video.mp4"
    assert f"MP4: {path}" in done.stdout
    duration, width, height = mp4_info(path)
    assert round(duration) == 5 and (width, height) == (160, 90)


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("VIDEOBOT_DURATION_MAX", "abc", "VIDEOBOT_DURATION_MAX"),
        ("VIDEOBOT_BUDGET_PERIOD", "year", "VIDEOBOT_BUDGET_PERIOD"),
        ("VIDEOBOT_DEFAULT_BUDGET_USD", "five", "VIDEOBOT_DEFAULT_BUDGET_USD"),
        ("VIDEOBOT_PRICES", "seedance", "VIDEOBOT_PRICES"),
        ("VIDEOBOT_ADMINS", "alice", "VIDEOBOT_ADMINS"),
        ("VIDEOBOT_ASPECT_RATIOS", "wide", "VIDEOBOT_ASPECT_RATIOS"),
        ("VIDEOBOT_MEDIA_ORIGINS", "media.example.com", "VIDEOBOT_MEDIA_ORIGINS"),
        ("VIDEOBOT_DATABASE_URL", "mysql://x", "VIDEOBOT_DATABASE_URL"),
        ("VIDEOBOT_MODE", "carrier-pigeon", "VIDEOBOT_MODE"),
        ("PORT", "-1", "PORT"),
    ],
)
def test_bad_setting_stops_start_up_with_one_line(name, value, expected):
    secrets = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "AIGATEWAY_API_KEY": "k"}
    done = subprocess.run(
        [*CLI, "run"], env=_clean_env(**secrets, **{name: value}), capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0] and "Traceback" not in done.stderr


def test_missing_secret_named_and_never_printed():
    done = subprocess.run(
        [*CLI, "run"],
        env=_clean_env(SLACK_SIGNING_SECRET="shh-very-secret", AIGATEWAY_API_KEY="sk-secret-key"),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert (
        done.stderr.strip()
        == "configuration error: SLACK_BOT_TOKEN is required by 'videobot run' but not set"
    )
    assert "shh-very-secret" not in done.stderr and "sk-secret-key" not in done.stderr


def test_secret_values_stay_hidden_in_settings(monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-hidden-123")
    settings = load_settings()
    assert "xoxb-hidden-123" not in repr(settings) and "xoxb-hidden-123" not in str(settings.model_dump())


def test_money_settings_are_integer_micro_dollars(monkeypatch):
    monkeypatch.setenv("VIDEOBOT_DEFAULT_BUDGET_USD", "$12.345")
    monkeypatch.setenv("VIDEOBOT_PRICES", "bytedance/seedance-2.0-fast=0.011,other/model=0.2")
    settings = load_settings()
    assert settings.default_budget == 12_345_000
    assert settings.prices == {"bytedance/seedance-2.0-fast": 11_000, "other/model": 200_000}
    monkeypatch.setenv("VIDEOBOT_DEFAULT_BUDGET_USD", "0.0000001")
    with pytest.raises(SettingsError, match="VIDEOBOT_DEFAULT_BUDGET_USD"):
        load_settings()


def test_dot_env_file_is_read(tmp_path):
    (tmp_path / ".env").write_text("VIDEOBOT_DURATION_MAX=oops\n")
    done = subprocess.run(
        [*CLI, "run"], env=_clean_env(), cwd=tmp_path, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 2 and "VIDEOBOT_DURATION_MAX" in done.stderr


def test_every_missing_and_malformed_setting_is_named_in_one_run():
    done = subprocess.run(
        [*CLI, "run"],
        env=_clean_env(
            VIDEOBOT_LOG_LEVEL="LOUD",
            VIDEOBOT_DURATION_MAX="abc",
            SLACK_BOT_TOKEN="xapp-pasted-in-the-wrong-place",
            SLACK_SIGNING_SECRET="shh-very-secret",
        ),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert all(line.startswith("configuration error: ") for line in lines)
    named = [next(n for n in _NAMES if n in line) for line in lines]
    assert sorted(named) == sorted(
        ["VIDEOBOT_LOG_LEVEL", "VIDEOBOT_DURATION_MAX", "SLACK_BOT_TOKEN", "AIGATEWAY_API_KEY"]
    )
    assert "should start with xoxb-" in done.stderr and "LOUD" in done.stderr
    assert "xapp-pasted" not in done.stderr and "shh-very-secret" not in done.stderr


_NAMES = ("VIDEOBOT_LOG_LEVEL", "VIDEOBOT_DURATION_MAX", "SLACK_BOT_TOKEN", "AIGATEWAY_API_KEY", "SLACK_")
