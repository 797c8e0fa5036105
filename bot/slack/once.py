"""Each Slack request is acted on at most once: a retry or a replay gets the first answer again.

Slack retries a request it got no timely answer to (`X-Slack-Retry-Num`), and anyone holding a
captured signed request can send it again for five minutes. Every slash command, click and view
submission is claimed in the store by its identity (`bot.slack.inbound.request_key`) before Bolt
sees it; a repeat is answered with what the first one answered and reaches no listener, so it
moves no money. The claim lives in the database: it holds across restarts and replicas.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.logs import log_event
from bot.slack.inbound import request_key
from storage.api import Store

log = logging.getLogger(__name__)


# What Bolt's BoltResponse calls a JSON answer's content type (its aiohttp adapter drops the charset).
BOLT_JSON = "application/json;charset=utf-8"


def stored_answer(response: BoltResponse) -> str:
    """An answer as the request store keeps it (JSON text)."""
    return answer_to_keep(
        response.status, response.body, response.headers.get("content-type", ["text/plain"])[0]
    )


def answer_to_keep(status: int, body: str, content_type: str) -> str:
    """The stored form of an answer, read back by `replayed_answer`."""
    return json.dumps({"status": status, "body": body, "content_type": content_type})


def replayed_answer(answer: str | None) -> BoltResponse:
    """The first answer again; an empty 200 while the first is still being answered."""
    if answer is None:
        return BoltResponse(status=200, body="")
    first = json.loads(answer)
    return BoltResponse(
        status=int(first["status"]), body=str(first["body"]), headers={"content-type": first["content_type"]}
    )


async def dispatch_once(app: AsyncApp, store: Store | None, request: AsyncBoltRequest) -> BoltResponse:
    """Hand `request` to Bolt unless it was taken before; a repeat gets the first answer."""
    key = request_key(request.body) if store is not None else None
    if key is None or store is None:
        return await app.async_dispatch(request)
    claim = await store.claim_request(key)
    if not claim.first:
        retry = request.headers.get("x-slack-retry-num", [""])[0]
        log_event(log, "request.repeat", key=key.split(":", 1)[0], retry=retry)
        return replayed_answer(claim.answer)
    response = await app.async_dispatch(request)
    if response.status == 200:
        # A failed first attempt is not replayed as a failure: its repeats get an empty 200 (and
        # are still not acted on, since the first may have moved money before it failed).
        await store.record_answer(key, stored_answer(response))
    return response


class AnswerBook:
    """Answers kept for repeats of the requests they answered, written in batches: the answers given
    in one moment (a flood of commands) share one task and one write to the store.

    An answer is kept after it was given; a repeat arriving before that write gets an empty 200 and
    still moves nothing (its request is claimed already)."""

    def __init__(self, store: Store, spawn: Callable[[Coroutine[Any, Any, None], str], None]) -> None:
        self._store = store
        self._spawn = spawn
        self._pending: list[tuple[str, str]] = []

    def keep(self, key: str, answer: str) -> None:
        """Write `answer` for request `key` soon (with the others of this moment)."""
        self._pending.append((key, answer))
        if len(self._pending) == 1:
            self._spawn(self._write(), "record-answers")

    async def _write(self) -> None:
        batch, self._pending = self._pending, []
        await self._store.record_answers(batch)
