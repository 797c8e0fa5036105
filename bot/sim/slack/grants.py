"""One-shot and limited grants Slack hands to an app with each interaction: trigger_id, response_url.

- trigger_id: https://docs.slack.dev/surfaces/modals ("trigger_id ... expires in 3 seconds" and can be
  used once); https://docs.slack.dev/reference/methods/views.open errors `expired_trigger_id`,
  `exchanged_trigger_id` ("the trigger_id was already exchanged in a previous call") and
  `invalid_trigger_id`.
- response_url: https://docs.slack.dev/interactivity/handling-user-interaction ("You can use
  response_url to publish a message up to 5 times within 30 minutes of the user invocation").
"""

from __future__ import annotations

import itertools
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.sim.slack.workspace import ApiError

TRIGGER_TTL_S = 3.0
RESPONSE_URL_USES = 5
RESPONSE_URL_TTL_S = 30 * 60.0


@dataclass
class Grants:
    """Trigger ids and response_urls the stand-in handed out, with their age and uses."""

    clock: Callable[[], float] = time.monotonic
    triggers: dict[str, float] = field(default_factory=dict)
    exchanged: set[str] = field(default_factory=set)
    response_issued: dict[str, float] = field(default_factory=dict)
    response_uses: dict[str, int] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def new_trigger(self, age_s: float = 0.0) -> str:
        """A trigger_id as Slack sends with a command or click, `age_s` seconds old already."""
        trigger = f"{next(self._ids)}.{secrets.randbelow(10**9)}.{secrets.token_hex(8)}"
        self.triggers[trigger] = self.clock() - age_s
        return trigger

    def exchange(self, trigger: str) -> None:
        """views.open spends the trigger: once, within 3 s of the interaction."""
        issued = self.triggers.get(trigger)
        if issued is None:
            raise ApiError("invalid_trigger_id")
        if trigger in self.exchanged:
            raise ApiError("exchanged_trigger_id")
        if self.clock() - issued > TRIGGER_TTL_S:
            raise ApiError("expired_trigger_id")
        self.exchanged.add(trigger)

    def issue_response_url(self, url: str, age_s: float = 0.0) -> None:
        """Remember when a response_url was handed out."""
        self.response_issued[url] = self.clock() - age_s
        self.response_uses[url] = 0

    def use_response_url(self, url: str) -> str | None:
        """Count one post; the refusal's error code when the URL is spent, expired or unknown."""
        issued = self.response_issued.get(url)
        if issued is None or self.clock() - issued > RESPONSE_URL_TTL_S:
            return "expired_url"
        if self.response_uses[url] >= RESPONSE_URL_USES:
            return "used_url"
        self.response_uses[url] += 1
        return None
