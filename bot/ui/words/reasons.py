"""Why a job failed, in the words the user reads: one short sentence per exception of the tree
(`storage.errors`) and per failure the job flow notices itself. Stored as the job's failure_reason
(plain text; escaped wherever it is shown)."""

from __future__ import annotations

from bot.ui.words.format import shorten
from storage import errors as e

REASON_UNSURE_CREATE = (
    "we lost track of the request while sending it, and sending it again could pay for a second video"
)
REASON_TIMEOUT = "the video took too long and was given up"
REASON_UNKNOWN = "something went wrong on our side"


def reason_gateway_failed(detail: str | None) -> str:
    """The reason stored when the gateway says the job failed (escaped where it is shown)."""
    detail = shorten(" ".join((detail or "").split()), 200)
    return (
        f"the video service could not make it ({detail})" if detail else "the video service could not make it"
    )


_GATEWAY_REASONS: dict[type[e.GatewayError], str] = {
    e.GatewayAuthError: "the video service refused our credentials; an admin needs to check the API key",
    e.GatewayCreditsError: "the video service refused the request (billing); an admin needs to add credits",
    e.GatewayNotFound: "the video service lost track of the job",
    e.GatewayRateLimited: "the video service is busy; try again in a few minutes",
    e.GatewayServerError: "the video service had an internal error; try again in a few minutes",
    e.GatewayUnavailable: "the video service is temporarily unavailable; try again in a few minutes",
    e.GatewayTimeout: "the video service did not answer in time; try again in a few minutes",
    e.GatewayConnectError: "the video service could not be reached; try again in a few minutes",
    e.GatewayBadResponse: "the video service sent an answer we could not read",
}

_MEDIA_REASONS: dict[type[e.MediaError], str] = {
    e.MediaOriginRefused: "the result came from a place we do not download from",
    e.MediaTooLarge: "the result was larger than the size limit",
    e.MediaNotMp4: "the result was not a valid MP4",
    e.MediaDownloadError: "the result could not be downloaded",
}


def user_reason(exc: BaseException) -> str:
    """The short sentence a user reads in Slack when `exc` ended their job."""
    for cls in type(exc).__mro__:
        if cls in _GATEWAY_REASONS:
            return _GATEWAY_REASONS[cls]
        if cls in _MEDIA_REASONS:
            return _MEDIA_REASONS[cls]
    if isinstance(exc, e.GatewayError):
        return "the video service failed"
    if isinstance(exc, e.MediaError):
        return "the result could not be fetched"
    if isinstance(exc, e.SlackDeliveryError):
        return "the video could not be delivered into Slack"
    if isinstance(exc, TimeoutError):
        return REASON_TIMEOUT
    return REASON_UNKNOWN
