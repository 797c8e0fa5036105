"""`videobot run | demo | sim | admin ...`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from bot.logs import setup_logging
from bot.settings import Settings, SettingsError, load_settings


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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `videobot` console script."""
    args = _parser().parse_args(argv)
    try:
        if args.command in ("sim", "demo"):
            return _run_stand_in(args)
        settings = load_settings()
        if args.command == "admin":
            from bot.admin_cli import run_admin_cli

            return asyncio.run(run_admin_cli(settings, " ".join(args.words)))
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


def _run(settings: Settings) -> int:
    from bot.service import serve_forever

    settings.require_for_run()
    setup_logging(settings.log_level)
    asyncio.run(serve_forever(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
