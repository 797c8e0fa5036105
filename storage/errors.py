"""The one exception tree of videobot: everything it raises on purpose, drawn here.

```
VideobotError
├── SettingsError                a missing or malformed setting (one line naming the variable)
│   └── ListenError              a port that cannot be listened on (names PORT or VIDEOBOT_HEALTH_PORT)
├── CommandLineError (ValueError)  an argument of a `videobot` subcommand that cannot be used
│   ├── ManifestError            `videobot manifest --http-url` not an https://host URL
│   └── BackupError              `videobot backup` cannot make its copy (the message says why)
├── MoneyError (ValueError)      an amount that cannot be read as dollars
├── Refused                      a reservation that did not fit (reason, status, workspace); nothing stored
├── Duplicate                    a job with this id is stored already (a resent Slack event); nothing stored
│   └── Repeated                 the request was taken before (a replay); carries its first answer
├── IllegalTransition (ValueError)  a state change `storage.states.TRANSITIONS` does not allow
├── JobLost                      another replica owns the job now, or it finished elsewhere
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
├── Dropped                      a Slack call given up before it went out: Slack too busy for it
│                                (`bot.slack.pacer`: progress edits past their wait)
├── HttpStatusError              a non-2xx answer of a plain HTTP endpoint (upload URL, response_url);
│                                `bot.slack.errors.classify` turns it into a SlackIOError
└── SlackDeliveryError           posting or uploading into Slack
    └── SlackIOError             method, error code, HTTP status, retry_after, maybe_delivered
        ├── SlackRateLimited     429 ratelimited, still after the retries
        ├── SlackTransientError  5xx, internal_error, timeouts, network errors, still after the retries
        └── SlackPermanentError  Slack said no; the same call will not work later either
            ├── SlackNotInChannel     not_in_channel (a public channel the bot has not joined)
            ├── SlackChannelNotFound  channel_not_found (private channel, someone else's DM, none)
            └── SlackAuthError        invalid_auth, not_authed, token_revoked, account_inactive, …
```

Why here: `storage` is the bottom layer and raises some of these (Refused, Duplicate,
IllegalTransition) while it must never import `bot`; `bot` and `handlers` import the tree from here.
What a user reads for each exception is `bot.ui.words.reasons.user_reason`, the only place that turns
them into words.
"""

from __future__ import annotations

from typing import Literal

from storage.models import BudgetStatus, WorkspaceStatus

RefusalReason = Literal["frozen", "inflight", "queue_full", "budget", "cap"]


class VideobotError(Exception):
    """Root of every error videobot raises on purpose."""


class SettingsError(VideobotError):
    """A missing or malformed setting; its message is one line naming the variable."""


class ListenError(SettingsError):
    """A port that cannot be listened on; the message names the variable that sets it."""


class CommandLineError(VideobotError, ValueError):
    """An argument of a `videobot` subcommand that cannot be used; the message says why."""


class ManifestError(CommandLineError):
    """The --http-url given cannot be a Slack request URL."""


class BackupError(CommandLineError):
    """The copy cannot be made; the message says why and what to do."""


class MoneyError(VideobotError, ValueError):
    """An amount that cannot be read as dollars."""


class Refused(VideobotError):
    """A reservation that did not fit; nothing was stored."""

    def __init__(
        self, reason: RefusalReason, status: BudgetStatus, workspace: WorkspaceStatus, estimate_micros: int
    ) -> None:
        super().__init__(reason)
        self.reason: RefusalReason = reason
        self.status = status
        self.workspace = workspace
        self.estimate_micros = estimate_micros


class Duplicate(VideobotError):
    """A job with this id is stored already (a resent Slack event); nothing was stored."""


class Repeated(Duplicate):
    """The request was taken before (a replay or a retry); nothing was stored. `answer` is the
    answer its first taker recorded (None while that one is still answering)."""

    def __init__(self, key: str, answer: str | None) -> None:
        super().__init__(key)
        self.answer = answer


class IllegalTransition(VideobotError, ValueError):
    """A state change the transition table does not allow; nothing was written."""


class JobLost(VideobotError):
    """Another replica owns the job now, or it finished elsewhere; stop quietly."""


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


class Dropped(VideobotError):
    """A Slack call given up before it went out because Slack is too busy for it (progress edits)."""


class HttpStatusError(VideobotError):
    """A non-2xx answer from a plain HTTP endpoint (upload URL, response_url)."""

    def __init__(self, status: int, retry_after: str | None, body: str) -> None:
        super().__init__(f"HTTP {status}: {body[:200]}")
        self.status = status
        self.retry_after = retry_after
        self.body = body


class SlackDeliveryError(VideobotError):
    """The video or a message could not be delivered into Slack."""


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
