"""The objects every part of the app shares, built once from Settings and closed once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import aiohttp
import httpx
from slack_sdk.web.async_client import AsyncWebClient

from bot.gateway.client import GatewayClient
from bot.gateway.pace import GenerationTimes
from bot.policy import ContentPolicy
from bot.settings import Settings
from bot.slack.api import make_web_client
from bot.slack.ingress import Ingress
from bot.slack.pacer import Pacer
from bot.slack.response_urls import ResponseUrls
from storage import open_store
from storage.api import LedgerConfig, Store

START_CONCURRENCY = 4
START_DEFER_MAX_S = 1.0  # a job waits at most this long after its acceptance for a quiet moment
UPLOAD_CONCURRENCY = 8
DELIVERY_CONCURRENCY = 8
DOWNLOAD_CONCURRENCY = 32
SLACK_CONNECTIONS = 50
GATEWAY_IN_FLIGHT = 64  # gateway requests at once (and the size of its connection pool)


@dataclass
class Deps:
    """Shared resources handed to handlers and the job runner (which is built on them, not in them)."""

    settings: Settings
    store: Store
    gateway: GatewayClient
    http: httpx.AsyncClient  # media downloads, uploads, response_url
    slack: AsyncWebClient
    clock: Callable[[], float] = time.time
    # How many jobs may be in their start-up burst (the gateway create) at once: a flood of commands
    # then queues its background work here instead of starving the acks of new commands.
    start_gate: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(START_CONCURRENCY))
    # Likewise for the bytes of uploads: a wave of finished videos must not stall the polls of the
    # others. Only the transfer holds it: Slack's round trips around it (ticket, share) cost no CPU.
    upload_gate: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(UPLOAD_CONCURRENCY))
    # Whole deliveries (join, bytes, share, the final status edit, the alerts) at once: a wave of 2,000 videos
    # finishing within a minute must not run all its deliveries' work together, or the polls and
    # downloads of the others wait behind it (bench/inflight.py: detection p50 0.9 -> 2.8 s with only
    # the bytes gated, 1.2 s with 24 deliveries at once). With Slack's answers slow (1 s), 8 at once
    # queue deliveries at 4 finishing a second (bench/time_to_video.py --slack-latency 1).
    delivery_gate: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(DELIVERY_CONCURRENCY))
    # And downloads: a wave of finished jobs queues here, not inside the HTTP client's pool.
    download_gate: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(DOWNLOAD_CONCURRENCY))
    # Slack requests being answered: a job about to start waits for a quiet moment (acks first).
    ingress: Ingress = field(default_factory=Ingress)
    # The workspace's blocked terms, cached briefly: every start checks them before reserving.
    policy: ContentPolicy = field(default_factory=ContentPolicy)
    # How often each response_url was used (Slack takes 5 posts within 30 minutes).
    response_urls: ResponseUrls = field(default_factory=ResponseUrls)
    # Recent generation times per model and duration, for planning polls without a query each.
    generation_times: GenerationTimes = field(default_factory=GenerationTimes)
    # Channels this process joined (or found it cannot join): conversations.join once per channel.
    joined: set[str] = field(default_factory=set)
    joining: dict[str, asyncio.Future[None]] = field(default_factory=dict)  # joins under way, by channel

    @property
    def pacer(self) -> Pacer:
        """The one Slack pacer of this process (carried by the web client)."""
        pacer = getattr(self.slack, "pacer", None)
        assert isinstance(pacer, Pacer), "deps.slack comes from make_web_client"
        return pacer

    @property
    def owner(self) -> str:
        """This replica's name in job leases."""
        return self.settings.replica_id


def ledger_config(settings: Settings, clock: Callable[[], float] = time.time) -> LedgerConfig:
    """What the ledger needs from the settings."""
    return LedgerConfig(
        default_budget_micros=settings.default_budget,
        period=settings.budget_period,
        max_inflight_per_user=settings.max_inflight_per_user,
        job_timeout_s=settings.job_timeout_s,
        clock=clock,
        max_inflight=settings.max_inflight,
        max_queued_per_user=settings.max_queued_per_user,
    )


def gateway_session(*, connect_s: float = 5.0, read_s: float = 30.0) -> aiohttp.ClientSession:
    """The gateway client's pool: at most GATEWAY_IN_FLIGHT keep-alive connections, no cookies. A
    connection must open within `connect_s`, and each read of an answer take at most `read_s`."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=GATEWAY_IN_FLIGHT, limit_per_host=GATEWAY_IN_FLIGHT),
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=connect_s, sock_read=read_s),
        cookie_jar=aiohttp.DummyCookieJar(),
    )


@asynccontextmanager
async def open_deps(settings: Settings, *, clock: Callable[[], float] = time.time) -> AsyncIterator[Deps]:
    """Open the database and HTTP clients; close them all on the way out."""
    store = await open_store(settings.database_url, ledger_config(settings, clock))
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
    gateway_http = gateway_session()
    http = httpx.AsyncClient(timeout=httpx.Timeout(60.0, connect=5.0), limits=limits)
    # One pool of keep-alive connections to Slack for every Web API call (no handshake per call).
    slack_http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=SLACK_CONNECTIONS))
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else ""
    api_key = settings.aigateway_api_key.get_secret_value() if settings.aigateway_api_key else ""
    try:
        yield Deps(
            settings=settings,
            store=store,
            gateway=GatewayClient(
                http=gateway_http,
                base_url=settings.aigateway_base_url,
                api_key=api_key,
                max_in_flight=GATEWAY_IN_FLIGHT,
            ),
            http=http,
            # One pacer for every Slack call of this process (jobs and handlers alike).
            slack=make_web_client(
                token,
                settings.slack_api_url,
                session=slack_http,
                pacer=Pacer(tier_scale=settings.slack_tier_scale),
            ),
            clock=clock,
        )
    finally:
        await slack_http.close()
        await gateway_http.close()
        await http.aclose()
        await store.close()
