"""What the Slack stand-in's tests share beyond the fixtures in tests/conftest.py."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError


async def error_of(call: Awaitable[Any]) -> str:
    """The `error` Slack answered `call` with (it must fail)."""
    with pytest.raises(SlackApiError) as info:
        await call
    return str(info.value.response["error"])
