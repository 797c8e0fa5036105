"""Slack delivery failures, and the one function that sorts whatever a Slack call raised into them.

All subclass `bot.errors.SlackDeliveryError`:

```
SlackIOError                 method, error code, HTTP status, retry_after, maybe_delivered
├── SlackRateLimited         429 ratelimited, still after the retries
├── SlackTransientError      5xx, internal_error, timeouts, network errors, still after the retries
└── SlackPermanentError      Slack said no; the same call will not work later either
    ├── SlackNotInChannel    not_in_channel (a public channel the bot has not joined)
    ├── SlackChannelNotFound channel_not_found (private channel, someone else's DM, no such channel)
    └── SlackAuthError       invalid_auth, not_authed, token_revoked, account_inactive, …
```
"""

from __future__ import annotations

from typing import Any

import aiohttp
import httpx
from slack_sdk.errors import SlackApiError

from bot.errors import SlackDeliveryError
from bot.gateway.polling import parse_retry_after

_TRANSIENT_CODES = {"internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited"}
_AUTH_CODES = {"invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive"}


class SlackIOError(SlackDeliveryError):
    """A Slack call failed; `maybe_delivered` is True when it may have taken effect anyway."""

    def __init__(
        self,
        message: str,
        *,
        method: str,
        error: str | None = None,
        status: int | None = None,
        retry_after: float | None = None,
        maybe_delivered: bool = False,
    ) -> None:
        super().__init__(message)
        self.method = method
        self.error = error
        self.status = status
        self.retry_after = retry_after
        self.maybe_delivered = maybe_delivered


class SlackRateLimited(SlackIOError):
    """429: Slack asked us to slow down (`retry_after` seconds)."""


class SlackTransientError(SlackIOError):
    """A failure that may pass: 5xx, internal_error, timeouts, network errors."""


class SlackPermanentError(SlackIOError):
    """Slack refused the call; repeating it will not help."""


class SlackNotInChannel(SlackPermanentError):
    """The bot is not a member of that (public) channel."""


class SlackChannelNotFound(SlackPermanentError):
    """The bot cannot see that channel (private, someone else's DM, or gone)."""


class SlackAuthError(SlackPermanentError):
    """The token was refused."""


class HttpStatusError(Exception):
    """A non-2xx answer from a plain HTTP endpoint (upload URL, response_url)."""

    def __init__(self, status: int, retry_after: str | None, body: str) -> None:
        super().__init__(f"HTTP {status}: {body[:200]}")
        self.status = status
        self.retry_after = retry_after
        self.body = body


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
