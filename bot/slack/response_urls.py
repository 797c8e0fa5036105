"""Slack takes at most 5 posts to one response_url, within 30 minutes of the command or click
(https://docs.slack.dev/interactivity/handling-user-interaction); this counts them per process."""

from __future__ import annotations

from collections import OrderedDict

USES = 5
TTL_S = 30 * 60.0
_REMEMBERED = 10_000  # response_urls a process keeps counting (the oldest are forgotten first)


class ResponseUrls:
    """How often each response_url was used; `take` says whether one more post is allowed."""

    def __init__(self) -> None:
        self._uses: OrderedDict[str, int] = OrderedDict()

    def take(self, url: str, *, issued_at: float, now: float) -> bool:
        """Count one post to `url` (handed out at `issued_at`) if Slack would still take it."""
        if now - issued_at >= TTL_S - 60:  # a minute's margin: the notice must not arrive just late
            return False
        used = self._uses.get(url, 0)
        if used >= USES:
            return False
        self._uses[url] = used + 1
        self._uses.move_to_end(url)
        while len(self._uses) > _REMEMBERED:
            self._uses.popitem(last=False)
        return True
