"""manifest.yml declares exactly the slash commands, scopes and events the code uses."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

from bot.manifest import build_manifest, render_manifest

ROOT = Path(__file__).resolve().parent.parent
CODE_DIRS = ("bot", "handlers")
CLI = [sys.executable, "-m", "bot.cli"]

# Slack Web API methods (as slack_sdk calls them) and the bot scopes they need.
# https://api.slack.com/methods: chat.postMessage needs chat:write; posting in a public channel the
# bot has not joined needs chat:write.public.
METHOD_SCOPES: dict[str, set[str]] = {
    "chat_postMessage": {"chat:write", "chat:write.public"},
    "chat_update": {"chat:write"},
    "chat_postEphemeral": {"chat:write"},
    "chat_getPermalink": set(),
    "conversations_join": {"channels:join"},
    "conversations_open": {"im:write"},
    "files_getUploadURLExternal": {"files:write"},
    "files_completeUploadExternal": {"files:write"},
    "files_info": {"files:read"},
    "users_info": {"users:read"},
    # conversations.info on a public channel needs channels:read (https://api.slack.com/methods/conversations.info)
    "conversations_info": {"channels:read"},
    "views_open": set(),
    "views_update": set(),
    "views_publish": set(),
    "auth_test": set(),
    "apps_connections_open": set(),
}


# Bot events and the scope each needs (https://api.slack.com/events/app_mention: app_mentions:read).
EVENT_SCOPES: dict[str, set[str]] = {"app_home_opened": set(), "app_mention": {"app_mentions:read"}}


def _code() -> str:
    texts = []
    for folder in CODE_DIRS:
        for path in (ROOT / folder).rglob("*.py"):
            if "sim" not in path.parts:
                texts.append(path.read_text())
    return "\n".join(texts)


def _manifest() -> dict:
    return yaml.safe_load((ROOT / "manifest.yml").read_text())


def test_every_slack_method_the_code_calls_is_known():
    used = set(re.findall(r"client\.([a-z]+_[A-Za-z_]+)\(", _code()))
    assert used, "the code calls Slack"
    assert used <= set(METHOD_SCOPES), f"add these to METHOD_SCOPES: {used - set(METHOD_SCOPES)}"


def test_scopes_are_exactly_what_the_code_needs():
    code = _code()
    used = set(re.findall(r"client\.([a-z]+_[A-Za-z_]+)\(", code))
    needed = set().union(*(METHOD_SCOPES[m] for m in used))
    if re.search(r"@app\.command\(", code):
        needed.add("commands")
    for event in re.findall(r"@app\.event\(\"([^\"]+)\"\)", code):
        needed |= EVENT_SCOPES[event]
    declared = set(_manifest()["oauth_config"]["scopes"]["bot"])
    assert declared == needed


def test_slash_commands_are_exactly_the_handled_ones():
    handled = set(re.findall(r"@app\.command\(\"([^\"]+)\"\)", _code()))
    manifest = _manifest()
    declared = {c["command"] for c in manifest["features"]["slash_commands"]}
    assert declared == handled == {"/video", "/video-admin"}
    assert all(c["should_escape"] is True for c in manifest["features"]["slash_commands"])


def test_events_and_surfaces_match_the_code():
    code = _code()
    manifest = _manifest()
    handled_events = set(re.findall(r"@app\.event\(\"([^\"]+)\"\)", code))
    declared_events = set(manifest.get("settings", {}).get("event_subscriptions", {}).get("bot_events", []))
    assert declared_events == handled_events
    home = manifest["features"].get("app_home", {})
    assert bool(home.get("home_tab_enabled")) == ("app_home_opened" in handled_events)
    interactive = bool(re.search(r"@app\.(action|view)\(", code))
    assert manifest["settings"]["interactivity"]["is_enabled"] is True or not interactive
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert "bot_user" in manifest["features"]


def test_the_message_shortcut_is_declared_and_handled():
    from bot.ui.blocks.form import SHORTCUT_CALLBACK

    declared = _manifest()["features"]["shortcuts"]
    assert [(s["type"], s["callback_id"]) for s in declared] == [("message", SHORTCUT_CALLBACK)]
    assert all(1 <= len(s["name"]) <= 24 and 1 <= len(s["description"]) <= 150 for s in declared)
    assert "@app.message_shortcut(SHORTCUT_CALLBACK)" in _code()
    # In HTTP mode a shortcut goes to the interactivity request URL, which is filled in.
    assert build_manifest("https://bot.example.com")["features"]["shortcuts"] == declared


def test_manifest_yml_is_the_socket_mode_rendering():
    assert (ROOT / "manifest.yml").read_text() == render_manifest()
    assert yaml.safe_load(render_manifest()) == build_manifest()


def test_http_mode_manifest_fills_in_every_request_url():
    socket, http = build_manifest(), build_manifest("https://bot.example.com/")
    url = "https://bot.example.com/slack/events"
    assert http["settings"]["socket_mode_enabled"] is False
    assert all(c["url"] == url for c in http["features"]["slash_commands"])
    assert http["settings"]["interactivity"] == {"is_enabled": True, "request_url": url}
    assert http["settings"]["event_subscriptions"]["request_url"] == url
    assert http["oauth_config"] == socket["oauth_config"]
    assert (
        http["settings"]["event_subscriptions"]["bot_events"]
        == socket["settings"]["event_subscriptions"]["bot_events"]
    )
    assert build_manifest("https://bot.example.com/slack/events") == http


def test_manifest_command_prints_both_and_refuses_a_url_slack_cannot_post_to():
    socket = subprocess.run([*CLI, "manifest"], capture_output=True, text=True, timeout=30)
    assert socket.returncode == 0 and socket.stdout == (ROOT / "manifest.yml").read_text()
    http = subprocess.run(
        [*CLI, "manifest", "--http-url", "https://bot.example.com"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert http.returncode == 0 and yaml.safe_load(http.stdout) == build_manifest("https://bot.example.com")
    bad = subprocess.run(
        [*CLI, "manifest", "--http-url", "http://bot.example.com"], capture_output=True, text=True, timeout=30
    )
    assert bad.returncode == 2 and bad.stdout == ""
    assert (
        bad.stderr.strip()
        == "--http-url: 'http://bot.example.com' is not an https://host URL (Slack posts only to https)"
    )
