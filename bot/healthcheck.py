"""`python -m bot.healthcheck`: exit 0 when this container's videobot answers /healthz (Docker HEALTHCHECK).

It reads the same settings as `videobot run`, so it probes PORT in HTTP mode and VIDEOBOT_HEALTH_PORT
in Socket Mode without being told which.
"""

from __future__ import annotations

import sys
import urllib.request

from bot.settings import load_settings
from storage.errors import SettingsError

TIMEOUT_S = 3.0


def health_url() -> str:
    """Where this process's settings put /healthz."""
    settings = load_settings()
    port = settings.health_port if settings.effective_mode == "socket" else settings.port
    return f"http://127.0.0.1:{port}/healthz"


def main() -> int:
    """0 when /healthz answers 200, else 1 with one line saying why."""
    try:
        url = health_url()
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
            if response.status == 200:
                return 0
            print(f"{url}: HTTP {response.status}", file=sys.stderr)
    except (SettingsError, OSError) as exc:
        print(f"unhealthy: {exc}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
