"""Structured logs: one JSON object per line, never a secret."""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

_RESERVED = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """Render a record and its `extra` fields as one JSON line."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                data[key] = value if isinstance(value, (str, int, float, bool, type(None))) else str(value)
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


# Our own packages; every other logger (Bolt's "videobot.bolt" included) is a library's.
_OWN_PACKAGES = frozenset({"bot", "handlers", "storage"})
# Libraries that write request bodies, SQL arguments (prompts, response URLs) or tokens at DEBUG.
_LIBRARIES = (
    "slack_sdk",
    "slack_bolt",
    "videobot",
    "httpx",
    "httpcore",
    "aiohttp",
    "asyncio",
    "asyncpg",
)


class _LibrariesAtInfo(logging.Filter):
    """Drop libraries' DEBUG records, even when a level is lowered later: Bolt logs each response
    body, slack_sdk each request (prompts, response URLs)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.INFO or record.name.split(".", 1)[0] in _OWN_PACKAGES


def setup_logging(level: str = "INFO", stream: Any = None) -> None:
    """Send the app's logs as JSON lines to stderr (or `stream`); libraries never below INFO."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(_LibrariesAtInfo())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in _LIBRARIES:
        logging.getLogger(noisy).setLevel(max(logging.INFO, logging.getLogger().level))
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


def log_event(logger: logging.Logger, event: str, /, **fields: Any) -> None:
    """Log `event` with fields, e.g. log_event(log, "job.transition", job_id=..., user=...)."""
    logger.info(event, extra={"event": event, "at": time.time(), **fields})
