"""Sorting whatever a Slack call raised (slack-sdk, aiohttp, httpx, a plain HTTP status) into the
Slack branch of the exception tree in `storage.errors` (`SlackIOError` and below)."""

from __future__ import annotations

from typing import Any

import aiohttp
import httpx
from slack_sdk.errors import SlackApiError

from bot.gateway.polling import parse_retry_after
from storage.errors import (
    HttpStatusError,
    SlackAuthError,
    SlackChannelNotFound,
    SlackIOError,
    SlackNotInChannel,
    SlackPermanentError,
    SlackRateLimited,
    SlackTransientError,
)

_TRANSIENT_CODES = {"internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited"}
_AUTH_CODES = {"invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive"}


def _from_api_error(exc: SlackApiError, method: str) -> SlackIOError:
    response: Any = exc.response
    status = getattr(response, "status_code", None) or getattr(response, "status", None)
    data = getattr(response, "data", None)
    error = data.get("error") if isinstance(data, dict) else None
    headers = getattr(response, "headers", None) or {}
    message = f"{method} failed: {error or f'HTTP {status}'}"
    fields: dict[str, Any] = {"method": method, "error": error, "status": status}
    if status == 429 or error == "ratelimited":
        return SlackRateLimited(message, retry_after=parse_retry_after(headers.get("Retry-After")), **fields)
    if (isinstance(status, int) and status >= 500) or error in _TRANSIENT_CODES or error is None:
        return SlackTransientError(message, maybe_delivered=True, **fields)
    if error == "not_in_channel":
        return SlackNotInChannel(message, **fields)
    if error == "channel_not_found":
        return SlackChannelNotFound(message, **fields)
    if error in _AUTH_CODES:
        return SlackAuthError(message, **fields)
    return SlackPermanentError(message, **fields)


def classify(exc: Exception, method: str) -> SlackIOError:
    """Turn whatever a call raised into the tree above."""
    if isinstance(exc, SlackApiError):
        return _from_api_error(exc, method)
    if isinstance(exc, HttpStatusError):
        fields: dict[str, Any] = {"method": method, "status": exc.status, "error": exc.body[:100] or None}
        if exc.status == 429:
            return SlackRateLimited(str(exc), retry_after=parse_retry_after(exc.retry_after), **fields)
        if exc.status >= 500:
            return SlackTransientError(str(exc), maybe_delivered=True, **fields)
        return SlackPermanentError(str(exc), **fields)
    if isinstance(exc, aiohttp.ClientConnectorError | httpx.ConnectError):
        return SlackTransientError(f"{method}: cannot connect to Slack", method=method)
    if isinstance(exc, TimeoutError | aiohttp.ClientError | httpx.TransportError):
        return SlackTransientError(f"{method}: {type(exc).__name__}", method=method, maybe_delivered=True)
    return SlackPermanentError(f"{method}: {type(exc).__name__}: {exc}", method=method)
