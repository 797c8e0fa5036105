"""One typed settings object, read from the environment and `.env`, built once and passed down."""

from __future__ import annotations

import re
import socket
from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.money import parse_usd
from storage.errors import MoneyError, SettingsError

_ORIGIN = re.compile(r"^(https?)://([A-Za-z0-9.\-]+|\[[0-9a-fA-F:]+\])(:\d{1,5})?$")
_RATIO = re.compile(r"^([1-9]\d{0,2}):([1-9]\d{0,2})$")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _env(name: str) -> Any:
    return Field(validation_alias=AliasChoices(name, name.lower()))


def _csv(value: Any) -> Any:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return value


class Settings(BaseSettings):
    """Every variable of SPEC.md "Configuration", with its default."""

    # env_ignore_empty: `SLACK_APP_TOKEN=` (as .env.example leaves it) means "not set", not "set to ''".
    model_config = SettingsConfigDict(
        env_file=".env",
        extra="ignore",
        populate_by_name=True,
        frozen=True,
        case_sensitive=False,
        env_ignore_empty=True,
    )

    slack_bot_token: SecretStr | None = Field(None, validation_alias=AliasChoices("SLACK_BOT_TOKEN"))
    slack_app_token: SecretStr | None = Field(None, validation_alias=AliasChoices("SLACK_APP_TOKEN"))
    slack_signing_secret: SecretStr | None = Field(
        None, validation_alias=AliasChoices("SLACK_SIGNING_SECRET")
    )
    slack_api_url: str = Field("https://slack.com/api/", validation_alias=AliasChoices("SLACK_API_URL"))
    mode: Literal["socket", "http"] | None = Field(None, validation_alias=AliasChoices("VIDEOBOT_MODE"))
    host: str = Field("0.0.0.0", validation_alias=AliasChoices("VIDEOBOT_HOST"))
    port: int = Field(3000, ge=0, le=65535, validation_alias=AliasChoices("PORT"))
    aigateway_api_key: SecretStr | None = Field(None, validation_alias=AliasChoices("AIGATEWAY_API_KEY"))
    aigateway_base_url: str = Field(
        "https://api.aigateway.sh/v1", validation_alias=AliasChoices("AIGATEWAY_BASE_URL")
    )
    model: str = Field("bytedance/seedance-2.0-fast", validation_alias=AliasChoices("VIDEOBOT_MODEL"))
    prices: Annotated[dict[str, int], NoDecode] = Field(
        default_factory=lambda: {"bytedance/seedance-2.0-fast": 11_000},
        validation_alias=AliasChoices("VIDEOBOT_PRICES"),
    )
    database_url: str = Field("sqlite:///videobot.db", validation_alias=AliasChoices("VIDEOBOT_DATABASE_URL"))
    admins: Annotated[tuple[str, ...], NoDecode] = Field((), validation_alias=AliasChoices("VIDEOBOT_ADMINS"))
    default_budget: Annotated[int, NoDecode] = Field(
        5_000_000, validation_alias=AliasChoices("VIDEOBOT_DEFAULT_BUDGET_USD")
    )
    budget_period: Literal["day", "week", "month", "total"] = Field(
        "month", validation_alias=AliasChoices("VIDEOBOT_BUDGET_PERIOD")
    )
    duration_default: int = Field(5, ge=1, le=600, validation_alias=AliasChoices("VIDEOBOT_DURATION_DEFAULT"))
    duration_min: int = Field(4, ge=1, le=600, validation_alias=AliasChoices("VIDEOBOT_DURATION_MIN"))
    duration_max: int = Field(15, ge=1, le=600, validation_alias=AliasChoices("VIDEOBOT_DURATION_MAX"))
    aspect_ratios: Annotated[tuple[str, ...], NoDecode] = Field(
        ("16:9", "9:16", "1:1", "4:3", "3:4", "21:9"), validation_alias=AliasChoices("VIDEOBOT_ASPECT_RATIOS")
    )
    max_inflight_per_user: int = Field(
        3, ge=1, le=1000, validation_alias=AliasChoices("VIDEOBOT_MAX_INFLIGHT_PER_USER")
    )
    max_inflight: int = Field(50, ge=1, le=100_000, validation_alias=AliasChoices("VIDEOBOT_MAX_INFLIGHT"))
    max_queued_per_user: int = Field(
        10, ge=0, le=1000, validation_alias=AliasChoices("VIDEOBOT_MAX_QUEUED_PER_USER")
    )
    job_timeout_s: int = Field(1800, ge=1, validation_alias=AliasChoices("VIDEOBOT_JOB_TIMEOUT_S"))
    media_origins: Annotated[tuple[str, ...], NoDecode] = Field(
        ("https://media.aigateway.sh",), validation_alias=AliasChoices("VIDEOBOT_MEDIA_ORIGINS")
    )
    max_video_mb: int = Field(500, ge=1, validation_alias=AliasChoices("VIDEOBOT_MAX_VIDEO_MB"))
    # Beyond SPEC.md: how replicas share work (issue 7) and how chatty the status message is.
    replica_id: str = Field(
        default_factory=socket.gethostname, validation_alias=AliasChoices("VIDEOBOT_REPLICA_ID")
    )
    lease_s: float = Field(30.0, gt=0, validation_alias=AliasChoices("VIDEOBOT_LEASE_S"))
    status_edit_interval_s: float = Field(
        30.0, ge=0, validation_alias=AliasChoices("VIDEOBOT_STATUS_EDIT_INTERVAL_S")
    )
    poll_max_interval_s: float = Field(
        4.5, gt=0, validation_alias=AliasChoices("VIDEOBOT_POLL_MAX_INTERVAL_S")
    )
    download_min_rate_kbps: int = Field(
        64, ge=1, validation_alias=AliasChoices("VIDEOBOT_DOWNLOAD_MIN_RATE_KBPS")
    )
    download_grace_s: float = Field(10.0, gt=0, validation_alias=AliasChoices("VIDEOBOT_DOWNLOAD_GRACE_S"))
    log_level: str = Field("INFO", validation_alias=AliasChoices("VIDEOBOT_LOG_LEVEL"))
    health_port: int = Field(9090, ge=0, le=65535, validation_alias=AliasChoices("VIDEOBOT_HEALTH_PORT"))
    # Multiplies the Slack rate limits the app paces itself to: 1 is Slack's published tiers; a Slack
    # stand-in scaled for a benchmark needs the same factor.
    slack_tier_scale: float = Field(1.0, gt=0, validation_alias=AliasChoices("VIDEOBOT_SLACK_TIER_SCALE"))

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        if value.upper() not in LOG_LEVELS:
            raise ValueError(f"'{value}' is not a log level; use one of {', '.join(LOG_LEVELS)}")
        return value.upper()

    @field_validator("slack_bot_token", "slack_app_token")
    @classmethod
    def _token_kind(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        # A bot token pasted where the app token goes (or the reverse) is the commonest set-up slip.
        prefix = "xoxb-" if info.field_name == "slack_bot_token" else "xapp-"
        if value is not None and not value.get_secret_value().startswith(prefix):
            raise ValueError(f"should start with {prefix} (copy it from the app's settings page)")
        return value

    @field_validator("admins", "aspect_ratios", "media_origins", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        return _csv(value)

    @field_validator("admins")
    @classmethod
    def _user_ids(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            if not re.fullmatch(r"[UW][A-Z0-9]{2,}", item):
                raise ValueError(f"'{item}' is not a Slack user ID (like U0123ABCD)")
        return value

    @field_validator("aspect_ratios")
    @classmethod
    def _ratios(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("list at least one aspect ratio, like 16:9")
        for item in value:
            if not _RATIO.match(item):
                raise ValueError(f"'{item}' is not an aspect ratio like 16:9")
        return value

    @field_validator("media_origins")
    @classmethod
    def _origins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("list at least one origin, like https://media.aigateway.sh")
        for item in value:
            if not _ORIGIN.match(item):
                raise ValueError(f"'{item}' is not an origin like https://host[:port]")
        return tuple(item.lower() for item in value)

    @field_validator("default_budget", mode="before")
    @classmethod
    def _budget(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return parse_usd(value)
            except MoneyError as exc:
                raise ValueError(str(exc)) from None
        return value

    @field_validator("prices", mode="before")
    @classmethod
    def _prices(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        prices: dict[str, int] = {}
        for part in value.split(","):
            if not part.strip():
                continue
            model, sep, amount = part.partition("=")
            if not sep or not model.strip():
                raise ValueError(f"'{part.strip()}' is not model=usd_per_second")
            try:
                prices[model.strip()] = parse_usd(amount)
            except MoneyError as exc:
                raise ValueError(str(exc)) from None
        if not prices:
            raise ValueError("give at least one model=usd_per_second")
        return prices

    @field_validator("slack_api_url", "aigateway_base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/]+", value):
            raise ValueError(f"'{value}' is not an http(s) URL")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if not self.duration_min <= self.duration_default <= self.duration_max:
            raise ValueError(
                "VIDEOBOT_DURATION_DEFAULT must lie between VIDEOBOT_DURATION_MIN and VIDEOBOT_DURATION_MAX"
            )
        if self.model not in self.prices:
            raise ValueError(f"VIDEOBOT_PRICES has no price for VIDEOBOT_MODEL '{self.model}'")
        if self.database_url.split(":", 1)[0] not in ("sqlite", "postgresql", "postgres"):
            raise ValueError("VIDEOBOT_DATABASE_URL must start with sqlite:/// or postgresql://")
        return self

    @property
    def price_micros(self) -> int:
        """Price per second of the configured model, in micro-dollars."""
        return self.prices[self.model]

    @property
    def default_aspect_ratio(self) -> str:
        """The first allowed aspect ratio, used when a request names none."""
        return self.aspect_ratios[0]

    @property
    def effective_mode(self) -> Literal["socket", "http"]:
        """`socket` or `http`: as set, else Socket Mode when an app token is given."""
        if self.mode is not None:
            return self.mode
        return "socket" if self.slack_app_token is not None else "http"

    @property
    def max_video_bytes(self) -> int:
        """VIDEOBOT_MAX_VIDEO_MB in bytes."""
        return self.max_video_mb * 1024 * 1024

    def missing_for_run(self) -> list[str]:
        """The variables `videobot run` needs that are not set."""
        missing = []
        if self.slack_bot_token is None:
            missing.append("SLACK_BOT_TOKEN")
        if self.aigateway_api_key is None:
            missing.append("AIGATEWAY_API_KEY")
        if self.effective_mode == "http" and self.slack_signing_secret is None:
            missing.append("SLACK_SIGNING_SECRET")
        if self.effective_mode == "socket" and self.slack_app_token is None:
            missing.append("SLACK_APP_TOKEN")
        return missing

    def require_for_run(self) -> None:
        """Check the secrets `videobot run` needs; raise SettingsError naming every missing one."""
        missing = self.missing_for_run()
        if missing:
            raise SettingsError("\n".join(_missing_line(name) for name in missing))


def _missing_line(name: str) -> str:
    return f"configuration error: {name} is required by 'videobot run' but not set"


_ENV_NAMES = {
    name: str(field.validation_alias.choices[0]) if isinstance(field.validation_alias, AliasChoices) else name
    for name, field in Settings.model_fields.items()
}


def load_settings(*, for_run: bool = False, **overrides: Any) -> Settings:
    """Build Settings from the environment; bad values raise SettingsError with one line each.

    With `for_run`, the secrets `videobot run` needs are checked too, and reported along with any
    malformed value, so one run names every problem.
    """
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        lines = [_one_line(err) for err in exc.errors(include_url=False)]
        if for_run:
            lines += [_missing_line(name) for name in _missing_despite(exc, overrides)]
        raise SettingsError("\n".join(dict.fromkeys(lines))) from None
    if for_run:
        settings.require_for_run()
    return settings


def _missing_despite(exc: ValidationError, overrides: dict[str, Any]) -> list[str]:
    """The required secrets missing as well, judged with the malformed values set to their defaults."""
    by_env = {env: field for field, env in _ENV_NAMES.items()}
    bad = {by_env.get(str(err["loc"][0]), str(err["loc"][0])) for err in exc.errors() if err.get("loc")}
    bad &= set(Settings.model_fields)
    defaults = {name: Settings.model_fields[name].get_default(call_default_factory=True) for name in bad}
    try:
        missing = Settings(**(overrides | defaults)).missing_for_run()
    except ValidationError:
        return []
    named = {_ENV_NAMES[name] for name in bad}
    return [name for name in missing if name not in named]


def _one_line(err: Any) -> str:
    loc = err.get("loc") or ()
    field = str(loc[0]) if loc else ""
    name = _ENV_NAMES.get(field, field.upper())
    message = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
    if not name:
        return f"configuration error: {message}"
    got = err.get("input")
    shown = "" if got is None or isinstance(got, dict) or name.endswith(("TOKEN", "SECRET", "KEY")) else got
    suffix = f" (got '{shown}')" if shown not in ("", None) and str(shown) not in message else ""
    return f"configuration error: {name}: {message}{suffix}"
