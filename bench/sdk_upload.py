"""For comparison: slack-sdk's own files_upload_v2 on the same file (run as a child of bench/relay.py)."""

from __future__ import annotations

import sys

from slack_sdk import WebClient


def main(api_url: str, token: str, path: str) -> None:
    client = WebClient(token=token, base_url=api_url)
    print("ready", flush=True)
    sys.stdin.readline()  # the parent has read our baseline RSS
    client.files_upload_v2(channel="C_PUBLIC", file=path, filename="sdk.mp4", title="sdk")
    print("done", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:4])
