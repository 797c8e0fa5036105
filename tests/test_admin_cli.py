"""`videobot admin` and `videobot backup` from a shell: readable text, user IDs, the right database."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

import pytest

from bot.admin_cli import plain
from bot.deps import ledger_config
from bot.settings import load_settings
from storage import open_store
from tests.durability.proc import free_port

CLI = [sys.executable, "-m", "bot.cli"]


def _run(*args: str, cwd, db: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "VIDEOBOT_", "AIGATEWAY_"))}
    if db is not None:
        env["VIDEOBOT_DATABASE_URL"] = db
    return subprocess.run([*CLI, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60)


async def _make_db(path) -> str:
    url = f"sqlite:///{path}"
    store = await open_store(url, ledger_config(load_settings(database_url=url)))
    await store.close()
    return url


@pytest.mark.parametrize(
    ("slack", "terminal"),
    [
        (":white_check_mark: done", ":white_check_mark: done"),
        ("a snake_case *bold* _it_ ~gone~ `code_x`", "a snake_case bold it gone code_x"),
        ("cat_dog cat*dog* 2*3*4 x_y_ *two words*,", "cat_dog cat*dog* 2*3*4 x_y_ two words,"),
        ("<@U0ANA0001|ana>'s budget and <@U0BOB0001>", "U0ANA0001's budget and U0BOB0001"),
        (
            "see <https://example.com/a_b|the ledger> &lt;tag&gt; &amp; more",
            "see the ledger (https://example.com/a_b) <tag> & more",
        ),
        ("```\nrow_1,row_2\n```", "\nrow_1,row_2\n"),
    ],
)
def test_slack_text_reads_well_in_a_terminal_without_losing_characters(slack, terminal):
    assert plain(slack) == terminal


async def test_admin_takes_user_ids_as_its_help_says(tmp_path):
    db = await _make_db(tmp_path / "bot.db")
    helped = _run("admin", "help", cwd=tmp_path, db=db)
    assert helped.returncode == 0
    assert "budget <user-id> <usd>" in helped.stdout and "like budget U0123ABCD 10" in helped.stdout
    assert "@ana" not in helped.stdout and "*" not in helped.stdout and "`" not in helped.stdout
    done = _run("admin", "budget", "U0123ABCD", "10", cwd=tmp_path, db=db)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(":white_check_mark: U0123ABCD's budget is now $10.00")
    usage = _run("admin", "usage", "U0123ABCD", cwd=tmp_path, db=db)
    assert usage.returncode == 0 and "$10.00" in usage.stdout
    wrong = _run("admin", "budget", "@ana", "10", cwd=tmp_path, db=db)
    assert wrong.returncode == 2
    assert "Give their Slack user ID, like budget U0123ABCD" in wrong.stderr


def test_admin_refuses_a_database_that_does_not_exist(tmp_path):
    done = _run("admin", "usage", cwd=tmp_path)  # the default sqlite:///videobot.db, relative
    assert done.returncode == 2 and done.stdout == ""
    expected = tmp_path.resolve() / "videobot.db"
    assert done.stderr.strip() == (
        f"VIDEOBOT_DATABASE_URL: no database at {expected} (the path is relative to this folder, "
        f"{tmp_path.resolve()}). Run this where `videobot run` runs, or give the full path: "
        f"VIDEOBOT_DATABASE_URL=sqlite:///{expected}"
    )
    assert not expected.exists()


async def test_backup_makes_a_consistent_copy_and_never_overwrites(tmp_path):
    db = await _make_db(tmp_path / "bot.db")
    assert _run("admin", "budget", "U0123ABCD", "7.5", cwd=tmp_path, db=db).returncode == 0
    done = _run("backup", "copy.db", cwd=tmp_path, db=db)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"copied {db} to copy.db (")
    copy = f"sqlite:///{tmp_path / 'copy.db'}"
    store = await open_store(copy, ledger_config(load_settings(database_url=copy)))
    try:
        assert (await store.budget_status("U0123ABCD")).limit_micros == 7_500_000
    finally:
        await store.close()
    with sqlite3.connect(tmp_path / "copy.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    again = _run("backup", "copy.db", cwd=tmp_path, db=db)
    assert again.returncode == 2 and "copy.db already exists" in again.stderr
    pg = _run("backup", "x.db", cwd=tmp_path, db="postgresql://u@127.0.0.1/x")
    assert pg.returncode == 2 and "pg_dump" in pg.stderr


def test_admin_names_a_database_it_cannot_reach_without_its_password(tmp_path):
    url = f"postgresql://videobot:hunter2-secret@127.0.0.1:{free_port()}/videobot"
    done = _run("admin", "usage", cwd=tmp_path, db=url)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith("VIDEOBOT_DATABASE_URL: cannot open postgresql://videobot:***@127.0.0.1:")
    assert "hunter2" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
