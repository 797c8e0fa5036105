"""`videobot run | check | manifest | backup | demo | sim | admin ...`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from bot.logs import setup_logging
from bot.settings import Settings, load_settings
from storage.errors import SettingsError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="videobot", description="Slack /video bot (Seedance via AIgateway)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="connect to Slack and serve")
    demo = sub.add_parser("demo", help="the whole flow offline: one /video to a playable MP4 in a thread")
    demo.add_argument("--prompt", default="a slow drone shot over a mountain lake at dawn")
    demo.add_argument("--out", default="demo-out", help="folder for the database and the MP4")
    demo.add_argument(
        "--via",
        choices=("command", "mention", "shortcut"),
        default="command",
        help="ask by /video, by @mention in a thread, or by the message shortcut",
    )
    sim = sub.add_parser("sim", help="the AIgateway-compatible simulator alone")
    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument("--port", type=int, default=8089)
    admin = sub.add_parser("admin", help="the /video-admin grammar from a shell, on the same database")
    admin.add_argument("words", nargs=argparse.REMAINDER, help="e.g. budget U0123ABCD 10")
    sub.add_parser("check", help="settings, tokens, scopes, database and gateway, as a checklist")
    manifest = sub.add_parser("manifest", help="the Slack app manifest (Socket Mode, or HTTP mode)")
    manifest.add_argument("--http-url", help="HTTP mode: the https://host Slack posts to")
    backup = sub.add_parser("backup", help="a consistent copy of the SQLite database")
    backup.add_argument("path", help="the new file to write")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `videobot` console script."""
    args = _parser().parse_args(argv)
    try:
        if args.command in ("sim", "demo"):
            return _run_stand_in(args)
        if args.command == "manifest":
            return _manifest(args.http_url)
        if args.command == "check":
            return _check()
        settings = load_settings(for_run=args.command == "run")
        if args.command == "admin":
            from bot.admin_cli import run_admin_cli

            return asyncio.run(run_admin_cli(settings, " ".join(args.words)))
        if args.command == "backup":
            return _backup(settings, args.path)
        return _run(settings)
    except SettingsError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _run_stand_in(args: argparse.Namespace) -> int:
    """`videobot sim` and `videobot demo`: the stand-ins, which need PyAV (the `demo` extra)."""
    try:
        import av  # noqa: F401
    except ImportError:
        print(
            f"videobot {args.command} renders real MP4s and needs PyAV: pip install 'videobot[demo]'",
            file=sys.stderr,
        )
        return 2
    if args.command == "sim":
        from bot.sim.gateway import run_simulator

        asyncio.run(run_simulator(args.host, args.port))
        return 0
    from bot.sim.demo import run_demo

    return asyncio.run(run_demo(prompt=args.prompt, out_dir=args.out, via=args.via))


def _manifest(http_url: str | None) -> int:
    from bot.manifest import render_manifest
    from storage.errors import ManifestError

    try:
        sys.stdout.write(render_manifest(http_url))
    except ManifestError as exc:
        print(f"--http-url: {exc}", file=sys.stderr)
        return 2
    return 0


def _check() -> int:
    """`videobot check`: every check as a checklist line; 0 only when all pass."""
    from bot.checks import run_checks

    try:
        settings = load_settings(for_run=True)
    except SettingsError as exc:
        for line in str(exc).splitlines():
            print(f"FAIL  settings: {line.removeprefix('configuration error: ')}")
        return 1
    print(f"ok    settings: {settings.effective_mode} mode, database {settings.database_url.split(':')[0]}")
    results = asyncio.run(run_checks(settings, gateway=True, may_create_db=False))
    for check in results:
        print(check.line())
    return 0 if all(check.ok for check in results) else 1


def _backup(settings: Settings, path: str) -> int:
    from pathlib import Path

    from storage import sqlite_path
    from storage.backup import backup_sqlite
    from storage.errors import BackupError

    if not settings.database_url.startswith("sqlite:"):
        print("videobot backup copies SQLite databases; for PostgreSQL use pg_dump", file=sys.stderr)
        return 2
    try:
        size = backup_sqlite(Path(sqlite_path(settings.database_url)), Path(path))
    except BackupError as exc:
        print(f"backup failed: {exc}", file=sys.stderr)
        return 2
    print(f"copied {settings.database_url} to {path} ({size} bytes)")
    return 0


def _run(settings: Settings) -> int:
    from bot.service import serve_forever

    setup_logging(settings.log_level)
    return asyncio.run(serve_forever(settings))


if __name__ == "__main__":
    sys.exit(main())
