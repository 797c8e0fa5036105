"""The gateway client against the real simulator over loopback, plus body parsing edge cases."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from email.utils import formatdate

import aiohttp
import pytest
from aiohttp import web

from bot.deps import gateway_session
from bot.gateway.client import CreateRequest, GatewayClient, GatewayJob
from bot.sim.gateway import Simulator
from bot.ui.words.reasons import user_reason
from storage.errors import (
    GatewayAuthError,
    GatewayBadResponse,
    GatewayConnectError,
    GatewayCreditsError,
    GatewayError,
    GatewayNotFound,
    GatewayRateLimited,
    GatewayServerError,
    GatewayTimeout,
    GatewayUnavailable,
)
from tests.local_server import serving

KEY = "sk-test-secret-123"
REQ = CreateRequest(model="bytedance/seedance-2.0-fast", prompt="a lake", duration=5, aspect_ratio="16:9")


class RecordingSleep:
    """Records every backoff delay instead of waiting it out (no wall clock in tests)."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        await asyncio.sleep(0)


@pytest.fixture
async def sim():
    simulator = Simulator(api_key=KEY)
    await simulator.start()
    yield simulator
    await simulator.stop()


def new_http(timeout: float) -> aiohttp.ClientSession:
    """The app's gateway pool, with `timeout` for connecting and for each read."""
    return gateway_session(connect_s=timeout, read_s=timeout)


@pytest.fixture
async def http():
    async with new_http(5.0) as client:
        yield client


def make_client(http, base_url, *, key=KEY, max_attempts=4):
    sleep = RecordingSleep()
    client = GatewayClient(http=http, base_url=base_url, api_key=key, max_attempts=max_attempts, sleep=sleep)
    return client, sleep


def polls_of(sim, path):
    return [r for r in sim.requests if r["path"] == path]


async def wait_finished(client, job_id):
    for _ in range(200):
        job = await client.get_job(job_id)
        if job.finished:
            return job
        await asyncio.sleep(0.02)
    raise AssertionError("job never finished")


async def test_create_and_poll_to_completion_sends_key_and_auth(sim, http):
    sim.configure(take_s=0.2)
    client, sleep = make_client(http, sim.base_url)
    job = await client.create_job(REQ, idempotency_key="idem-1")
    assert job.status == "queued" and job.id in sim.jobs
    assert sim.jobs[job.id].idempotency_key == "idem-1"
    assert sim.jobs[job.id].body == REQ.model_dump()
    assert all(r["has_auth"] for r in sim.requests)
    done = await wait_finished(client, job.id)
    assert done.status == "completed"
    assert done.result is not None
    assert done.result.url == f"{sim.media_origin}/media/{job.id}.mp4"
    assert (done.result.duration, done.result.resolution) == (5, "160x90")
    assert sleep.delays == []
    assert KEY not in repr(client)


async def test_same_idempotency_key_returns_same_job(sim, http):
    client, _ = make_client(http, sim.base_url)
    first = await client.create_job(REQ, idempotency_key="same")
    second = await client.create_job(REQ, idempotency_key="same")
    assert first.id == second.id
    assert len(sim.jobs) == 1 and sim.create_count == 2


async def test_401_is_auth_error_not_retried_and_key_not_leaked(sim, http):
    client, sleep = make_client(http, sim.base_url, key="wrong-key-xyz")
    with pytest.raises(GatewayAuthError) as info:
        await client.create_job(REQ, idempotency_key="k")
    assert info.value.status == 401 and not info.value.retryable
    assert info.value.error_type == "authentication_error"
    assert sim.create_count == 1 and sleep.delays == []
    assert "wrong-key-xyz" not in str(info.value)
    assert "credentials" in user_reason(info.value)


async def test_402_is_credits_error(sim, http):
    sim.configure(create_status=402)
    client, sleep = make_client(http, sim.base_url)
    with pytest.raises(GatewayCreditsError) as info:
        await client.create_job(REQ, idempotency_key="k")
    assert info.value.status == 402
    assert sim.create_count == 1 and sleep.delays == [] and not sim.jobs
    assert "billing" in user_reason(info.value)


async def test_404_unknown_job_not_retried(sim, http):
    client, sleep = make_client(http, sim.base_url)
    with pytest.raises(GatewayNotFound) as info:
        await client.get_job("job_nope")
    assert info.value.status == 404
    assert len(polls_of(sim, "/v1/jobs/job_nope")) == 1 and sleep.delays == []


async def test_429_on_create_retried_honouring_retry_after(sim, http):
    sim.configure(create_status=429, create_status_times=2, retry_after="3")
    client, sleep = make_client(http, sim.base_url)
    job = await client.create_job(REQ, idempotency_key="k")
    assert job.id in sim.jobs and len(sim.jobs) == 1
    assert sim.create_count == 3
    assert len(sleep.delays) == 2 and all(d >= 3.0 for d in sleep.delays)


async def test_429_forever_gives_up_after_max_attempts(sim, http):
    sim.configure(create_status=429, retry_after="2")
    client, sleep = make_client(http, sim.base_url, max_attempts=3)
    with pytest.raises(GatewayRateLimited) as info:
        await client.create_job(REQ, idempotency_key="k")
    assert info.value.retry_after == 2.0 and info.value.retryable
    assert sim.create_count == 3 and len(sleep.delays) == 2 and not sim.jobs
    assert user_reason(info.value) == "the video service is busy; try again in a few minutes"


async def test_429_on_poll_with_http_date_retry_after(sim, http):
    sim.configure(
        take_s=0, get_status=429, get_status_times=1, retry_after=formatdate(time.time() + 6, usegmt=True)
    )
    client, sleep = make_client(http, sim.base_url)
    job = await client.create_job(REQ, idempotency_key="k")
    done = await client.get_job(job.id)
    assert done.status == "completed"
    assert sim.jobs[job.id].polls == 2
    assert len(sleep.delays) == 1 and sleep.delays[0] >= 4.0


async def test_500_on_create_is_not_resent(sim, http):
    sim.configure(create_status=500)
    client, sleep = make_client(http, sim.base_url)
    with pytest.raises(GatewayServerError) as info:
        await client.create_job(REQ, idempotency_key="k")
    assert not info.value.retryable and info.value.status == 500
    assert sim.create_count == 1 and sleep.delays == []


async def test_500_on_poll_is_retried(sim, http):
    sim.configure(take_s=0, get_status=500, get_status_times=2, error_body="html")
    client, sleep = make_client(http, sim.base_url)
    job = await client.create_job(REQ, idempotency_key="k")
    done = await client.get_job(job.id)
    assert done.status == "completed"
    assert sim.jobs[job.id].polls == 3 and len(sleep.delays) == 2


async def test_503_on_create_retried_once_then_one_job(sim, http):
    sim.configure(create_status=503, create_status_times=1, retry_after="1")
    client, sleep = make_client(http, sim.base_url)
    await client.create_job(REQ, idempotency_key="k")
    assert sim.create_count == 2 and len(sim.jobs) == 1
    assert len(sleep.delays) == 1 and sleep.delays[0] >= 1.0


async def test_503_on_poll_forever_raises_after_max_attempts(sim, http):
    sim.configure(get_status=503, error_body="empty")
    client, sleep = make_client(http, sim.base_url, max_attempts=4)
    job = await client.create_job(REQ, idempotency_key="k")
    with pytest.raises(GatewayUnavailable) as info:
        await client.get_job(job.id)
    assert info.value.status == 503
    assert sim.jobs[job.id].polls == 4 and len(sleep.delays) == 3


async def test_create_timeout_after_send_is_not_resent(sim):
    sim.configure(create_delay_s=1.0)
    async with new_http(0.3) as http:
        client, sleep = make_client(http, sim.base_url)
        with pytest.raises(GatewayTimeout) as info:
            await client.create_job(REQ, idempotency_key="k")
    assert not info.value.retryable
    assert sim.create_count == 1 and len(sim.jobs) == 1 and sleep.delays == []


async def test_poll_timeout_is_retried_then_raised(sim):
    sim.configure(take_s=0, get_delay_s=1.0)
    async with new_http(0.3) as http:
        client, sleep = make_client(http, sim.base_url, max_attempts=2)
        job = await client.create_job(REQ, idempotency_key="k")
        with pytest.raises(GatewayTimeout) as info:
            await client.get_job(job.id)
    assert info.value.retryable
    assert sim.jobs[job.id].polls == 2 and len(sleep.delays) == 1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_connection_refused_create_is_retried_until_server_is_up(http):
    port = free_port()
    sim = Simulator(api_key=KEY)
    started: list[str] = []

    async def start_on_first_sleep(delay: float) -> None:
        if not started:
            started.append(await sim.start(port=port))

    client = GatewayClient(
        http=http, base_url=f"http://127.0.0.1:{port}/v1", api_key=KEY, sleep=start_on_first_sleep
    )
    try:
        job = await client.create_job(REQ, idempotency_key="k")
        assert job.id in sim.jobs and sim.create_count == 1 and len(started) == 1
    finally:
        await sim.stop()


async def test_connection_refused_everywhere_raises_connect_error(http):
    port = free_port()
    client, sleep = make_client(http, f"http://127.0.0.1:{port}/v1", max_attempts=3)
    with pytest.raises(GatewayConnectError) as info:
        await client.create_job(REQ, idempotency_key="k")
    assert len(sleep.delays) == 2
    assert "could not be reached" in user_reason(info.value)


@pytest.mark.parametrize("variant", ["bad_json", "wrong_types", "missing_url"])
async def test_unreadable_completed_job_is_bad_response_after_retries(sim, http, variant):
    sim.configure(take_s=0, result=variant)
    client, sleep = make_client(http, sim.base_url, max_attempts=3)
    job = await client.create_job(REQ, idempotency_key="k")
    with pytest.raises(GatewayBadResponse):
        await client.get_job(job.id)
    assert sim.jobs[job.id].polls == 3 and len(sleep.delays) == 2


async def test_failed_job_is_returned_with_reason(sim, http):
    sim.configure(take_s=0, fail="content policy violation")
    client, _ = make_client(http, sim.base_url)
    job = await client.create_job(REQ, idempotency_key="k")
    done = await client.get_job(job.id)
    assert done.status == "failed" and done.error_message == "content policy violation"


async def test_invalid_request_400_not_retried(sim, http):
    client, sleep = make_client(http, sim.base_url)
    bad = CreateRequest(model="m", prompt="p", duration=0, aspect_ratio="16:9")
    with pytest.raises(GatewayError) as info:
        await client.create_job(bad, idempotency_key="k")
    assert info.value.status == 400 and "duration" in str(info.value)
    assert sim.create_count == 1 and sleep.delays == []


@contextlib.asynccontextmanager
async def replying(handler, max_attempts=3):
    """A gateway on 127.0.0.1 that answers every request with `handler(request)`, and a client of it."""

    async def answer(request: web.Request) -> web.Response:
        await request.read()
        return handler(request)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    async with serving(app) as url, new_http(5.0) as http:
        yield GatewayClient(
            http=http, base_url=f"{url}/v1", api_key=KEY, max_attempts=max_attempts, sleep=RecordingSleep()
        )


async def test_garbage_200_on_create_may_have_created_and_is_not_resent():
    calls = []

    def handler(request: web.Request) -> web.Response:
        calls.append(request)
        return web.Response(status=200, text="<html>oops</html>")

    async with replying(handler) as client:
        with pytest.raises(GatewayBadResponse) as info:
            await client.create_job(REQ, idempotency_key="k")
    assert not info.value.retryable and len(calls) == 1
    assert calls[0].headers["authorization"] == f"Bearer {KEY}"
    assert calls[0].headers["idempotency-key"] == "k"


async def test_tolerant_parsing_of_extras_aliases_and_odd_errors():
    body = {
        "id": "job_1",
        "status": "SUCCEEDED",
        "extra": {"nested": True},
        "created": 1776947082.7,
        "result": {"url": "https://media.aigateway.sh/v/1.mp4", "duration": 5.0, "fps": 24},
        "error": 17,
    }
    async with replying(lambda r: web.json_response(body)) as client:
        job = await client.get_job("job/../1")
    assert isinstance(job, GatewayJob)
    assert job.status == "completed" and job.created == 1776947082 and job.error is None
    assert job.result is not None and job.result.duration == 5


@pytest.mark.parametrize(
    "body",
    [b"", b"[]", b'{"error": "plain string"}', b'{"error": {"type": 5, "message": ["x"]}}', b"\xff\xfe"],
)
async def test_error_statuses_survive_any_body(body):
    async with replying(lambda r: web.Response(status=402, body=body)) as client:
        with pytest.raises(GatewayCreditsError) as info:
            await client.get_job("j")
    assert info.value.status == 402


async def test_unknown_5xx_is_server_error_and_4xx_is_plain():
    replies = iter(
        [web.Response(status=502, text="bad gateway"), web.json_response({"error": {}}, status=418)]
    )
    async with replying(lambda r: next(replies), max_attempts=2) as client:
        with pytest.raises(GatewayError) as info:
            await client.get_job("j")
    assert type(info.value) is GatewayError and info.value.status == 418


async def test_job_path_is_escaped():
    seen = []

    def handler(request: web.Request) -> web.Response:
        seen.append(request.raw_path)
        return web.Response(body=json.dumps({"id": "x", "status": "queued"}).encode())

    async with replying(handler) as client:
        await client.get_job("../admin?x=1")
    assert seen == ["/v1/jobs/..%2Fadmin%3Fx%3D1"]


@pytest.mark.parametrize("declared", [True, False])
async def test_an_answer_over_a_megabyte_is_refused_unread(declared):
    big = b'{"id": "x", "status": "queued", "pad": "' + b"x" * (2 * 1024 * 1024) + b'"}'

    def handler(request: web.Request) -> web.StreamResponse:
        response = web.Response(body=big, content_type="application/json")
        if not declared:
            response.enable_chunked_encoding()
        return response

    async with replying(handler, max_attempts=2) as client:
        with pytest.raises(GatewayBadResponse) as info:
            await client.get_job("x")
    assert "larger than" in str(info.value) and info.value.retryable
