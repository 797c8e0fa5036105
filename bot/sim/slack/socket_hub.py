"""Socket Mode side of the stand-in: websocket connections, envelopes pushed round-robin, acks awaited."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from aiohttp import WSMsgType, web

PayloadType = Literal["slash_commands", "interactive", "events_api"]


@dataclass
class Ack:
    """The app's answer to one envelope and how long it took."""

    envelope_id: str
    type: str
    latency_s: float
    payload: dict[str, Any] | None
    connection: int


class SocketHub:
    """Open Socket Mode connections and the envelopes waiting for their ack."""

    def __init__(self) -> None:
        self.tickets: set[str] = set()
        self.connections: list[tuple[int, web.WebSocketResponse]] = []
        self.acks: list[Ack] = []
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._conn_ids = itertools.count(1)
        self._rr = itertools.count()
        self._changed = asyncio.Event()

    def new_ticket(self) -> str:
        """A ticket for the `?ticket=` of a socket URL."""
        ticket = uuid.uuid4().hex
        self.tickets.add(ticket)
        return ticket

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """GET /socket: say hello, then read acks until the client leaves."""
        if request.query.get("ticket") not in self.tickets:
            return web.Response(status=401, text="invalid ticket")
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        conn_id = next(self._conn_ids)
        self.connections.append((conn_id, ws))
        self._changed.set()
        hello = {
            "type": "hello",
            "num_connections": len(self.connections),
            "debug_info": {"host": "standin", "build_number": 1, "approximate_connection_time": 3600},
            "connection_info": {"app_id": "A_STANDIN"},
        }
        try:
            await ws.send_str(json.dumps(hello))
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    self._on_text(msg.data)
                elif msg.type == WSMsgType.ERROR:
                    break
        finally:
            self.connections = [(i, w) for i, w in self.connections if i != conn_id]
            self._changed.set()
        return ws

    def _on_text(self, data: str) -> None:
        try:
            message = json.loads(data)
        except ValueError:
            return
        if not isinstance(message, dict):
            return
        future = self._waiting.get(str(message.get("envelope_id")))
        if future is not None and not future.done():
            future.set_result(message)

    async def wait_for_connections(self, count: int = 1, timeout: float = 10.0) -> None:
        """Wait until at least `count` clients are connected."""
        async with asyncio.timeout(timeout):
            while len(self.connections) < count:
                self._changed.clear()
                await self._changed.wait()

    async def send(
        self,
        payload_type: PayloadType,
        payload: dict[str, Any],
        *,
        timeout: float = 3.0,
        retry_attempt: int = 0,
        retry_reason: str = "",
    ) -> dict[str, Any] | None:
        """Push one envelope to the next connection (round-robin) and return the payload of its ack.

        An Events API envelope carries `retry_attempt` / `retry_reason`: Slack resends an event whose
        envelope was not acknowledged, counting up (https://api.slack.com/apis/socket-mode).
        """
        if not self.connections:
            raise ConnectionError("no Socket Mode connection is open")
        conn_id, ws = self.connections[next(self._rr) % len(self.connections)]
        envelope_id = str(uuid.uuid4())
        envelope: dict[str, Any] = {
            "envelope_id": envelope_id,
            "type": payload_type,
            "payload": payload,
            "accepts_response_payload": payload_type != "events_api",
        }
        if payload_type == "events_api":
            envelope |= {"retry_attempt": retry_attempt, "retry_reason": retry_reason}
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[envelope_id] = future
        started = time.perf_counter()
        try:
            await ws.send_str(json.dumps(envelope))
            async with asyncio.timeout(timeout):
                ack = await future
        finally:
            del self._waiting[envelope_id]
        body = ack.get("payload")
        answer = body if isinstance(body, dict) else None
        self.acks.append(Ack(envelope_id, payload_type, time.perf_counter() - started, answer, conn_id))
        return answer

    async def disconnect_all(self, reason: str = "refresh_requested") -> None:
        """Ask every client to reconnect, as Slack does now and then."""
        for _, ws in list(self.connections):
            await ws.send_str(json.dumps({"type": "disconnect", "reason": reason}))

    async def close(self) -> None:
        """Close every connection."""
        for _, ws in list(self.connections):
            await ws.close()
