"""The one exception tree of videobot, and the words users read for each exception.

```
VideobotError
├── GatewayError                 the AIgateway API (status, retryable, retry_after)
│   ├── GatewayAuthError         401 authentication_error
│   ├── GatewayCreditsError      402 insufficient_credits
│   ├── GatewayNotFound          404 not_found
│   ├── GatewayRateLimited       429 rate_limit_error (retryable, retry_after)
│   ├── GatewayServerError       500 server_error (retryable)
│   ├── GatewayUnavailable       503 service_unavailable (retryable)
│   ├── GatewayTimeout           no answer in time (the request may have been taken)
│   ├── GatewayConnectError      connection refused (the request certainly was not taken)
│   └── GatewayBadResponse       unreadable body, wrong types, missing fields
├── MediaError                   downloading the finished video
│   ├── MediaOriginRefused       the URL (or a redirect) points outside the allowed origins
│   ├── MediaTooLarge            bigger than the configured limit
│   ├── MediaNotMp4              the bytes are not an MP4
│   └── MediaDownloadError       network error, bad status, or too slow
└── SlackDeliveryError           posting or uploading into Slack (subclassed by the Slack side)
```

`user_reason(exc)` is the only place that turns these into words for Slack.
"""

from __future__ import annotations


class VideobotError(Exception):
    """Root of every error videobot raises on purpose."""


class GatewayError(VideobotError):
    """The video API failed; `retryable` says whether the same call may simply be tried again."""

    default_retryable = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retryable: bool | None = None,
        retry_after: float | None = None,
        error_type: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.retryable = self.default_retryable if retryable is None else retryable
        self.retry_after = retry_after
        self.error_type = error_type


class GatewayAuthError(GatewayError):
    """401: the API key was refused."""


class GatewayCreditsError(GatewayError):
    """402: the gateway account has no credits left."""


class GatewayNotFound(GatewayError):
    """404: no such job (or endpoint)."""


class GatewayRateLimited(GatewayError):
    """429: too many requests; wait `retry_after` seconds."""

    default_retryable = True


class GatewayServerError(GatewayError):
    """500: the gateway failed internally."""

    default_retryable = True


class GatewayUnavailable(GatewayError):
    """503: the gateway is temporarily unavailable."""

    default_retryable = True


class GatewayTimeout(GatewayError):
    """No answer in time; for a create, the job may exist anyway."""

    default_retryable = True


class GatewayConnectError(GatewayError):
    """The connection was refused or could not be opened; nothing was sent."""

    default_retryable = True


class GatewayBadResponse(GatewayError):
    """The gateway answered something we cannot read (HTML, wrong types, missing fields)."""


class MediaError(VideobotError):
    """The finished video could not be fetched safely."""


class MediaOriginRefused(MediaError):
    """The result URL, or a redirect hop, is not on an allowed origin."""


class MediaTooLarge(MediaError):
    """The result is bigger than the configured limit."""


class MediaNotMp4(MediaError):
    """The result bytes do not start like an MP4 file."""


class MediaDownloadError(MediaError):
    """The download failed: network error, bad HTTP status, or a body that trickles too slowly."""


class SlackDeliveryError(VideobotError):
    """The video or a message could not be delivered into Slack."""


_GATEWAY_REASONS: dict[type[GatewayError], str] = {
    GatewayAuthError: "the video service refused our credentials; an admin needs to check the API key",
    GatewayCreditsError: "the video service refused the request (billing); an admin needs to add credits",
    GatewayNotFound: "the video service lost track of the job",
    GatewayRateLimited: "the video service is busy; try again in a few minutes",
    GatewayServerError: "the video service had an internal error; try again in a few minutes",
    GatewayUnavailable: "the video service is temporarily unavailable; try again in a few minutes",
    GatewayTimeout: "the video service did not answer in time; try again in a few minutes",
    GatewayConnectError: "the video service could not be reached; try again in a few minutes",
    GatewayBadResponse: "the video service sent an answer we could not read",
}

_MEDIA_REASONS: dict[type[MediaError], str] = {
    MediaOriginRefused: "the result came from a place we do not download from",
    MediaTooLarge: "the result was larger than the size limit",
    MediaNotMp4: "the result was not a valid MP4",
    MediaDownloadError: "the result could not be downloaded",
}


def user_reason(exc: BaseException) -> str:
    """The short sentence a user reads in Slack when `exc` ended their job."""
    for cls in type(exc).__mro__:
        if cls in _GATEWAY_REASONS:
            return _GATEWAY_REASONS[cls]
        if cls in _MEDIA_REASONS:
            return _MEDIA_REASONS[cls]
    if isinstance(exc, GatewayError):
        return "the video service failed"
    if isinstance(exc, MediaError):
        return "the result could not be fetched"
    if isinstance(exc, SlackDeliveryError):
        return "the video could not be delivered into Slack"
    if isinstance(exc, TimeoutError):
        return "the video took too long and was given up"
    return "something went wrong on our side"
