"""Downloading results: allowed origins on every hop, size limits, MP4 check, slow bodies, cleanup."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from bot.gateway.media import download_result, origin_of
from bot.sim.gateway import Simulator
from bot.sim.mp4 import count_frames, mp4_info, render_mp4
from bot.ui.words.reasons import user_reason
from storage.errors import MediaDownloadError, MediaNotMp4, MediaOriginRefused, MediaTooLarge

BODY = {"model": "m", "prompt": "a lake", "duration": 4, "aspect_ratio": "16:9"}


@pytest.fixture
async def sim():
    simulator = Simulator()
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
async def http():
    async with httpx.AsyncClient(timeout=5.0) as client:
        yield client


async def result_url(http, sim, **faults):
    sim.configure_next(take_s=0, **faults)
    job = (await http.post(f"{sim.base_url}/videos/generations", json=BODY)).json()
    for _ in range(100):
        answer = (await http.get(f"{sim.base_url}/jobs/{job['id']}")).json()
        if answer["status"] == "completed":
            return job["id"], answer["result"]["url"]
        await asyncio.sleep(0.01)
    raise AssertionError("job never completed")


async def fetch(http, sim, url, tmp_path, **kw):
    kw.setdefault("max_bytes", 10_000_000)
    kw.setdefault("allowed_origins", [sim.media_origin])
    return await download_result(http=http, url=url, dest_dir=tmp_path, **kw)


async def test_download_ok_is_a_playable_mp4(sim, http, tmp_path):
    job_id, url = await result_url(http, sim)
    path = await fetch(http, sim, url, tmp_path)
    assert path.parent == tmp_path and path.suffix == ".mp4"
    duration, width, height = mp4_info(path)
    assert abs(duration - 4) < 0.01 and (width, height) == (160, 90)
    assert sim.jobs[job_id].media_requests == 1


async def test_foreign_origin_refused_before_connecting(sim, http, tmp_path):
    job_id, url = await result_url(http, sim)
    with pytest.raises(MediaOriginRefused) as info:
        await fetch(http, sim, url, tmp_path, allowed_origins=["https://media.aigateway.sh"])
    assert sim.jobs[job_id].media_requests == 0
    assert user_reason(info.value) == "the result came from a place we do not download from"
    _, evil = await result_url(http, sim, result="foreign_origin")
    with pytest.raises(MediaOriginRefused):
        await fetch(http, sim, evil, tmp_path)
    assert list(tmp_path.iterdir()) == []


async def test_redirect_to_foreign_origin_refused(sim, http, tmp_path):
    job_id, url = await result_url(http, sim, result="redirect_foreign")
    with pytest.raises(MediaOriginRefused):
        await fetch(http, sim, url, tmp_path)
    assert sim.jobs[job_id].media_requests == 1
    assert list(tmp_path.iterdir()) == []


async def test_same_origin_redirect_followed(sim, http, tmp_path):
    job_id, url = await result_url(http, sim, result="redirect_same")
    path = await fetch(http, sim, url, tmp_path)
    assert mp4_info(path)[1:] == (160, 90)
    assert sim.jobs[job_id].media_requests == 2


async def test_too_large_by_content_length(sim, http, tmp_path):
    _, url = await result_url(http, sim, huge_bytes=50_000_000)
    with pytest.raises(MediaTooLarge):
        await fetch(http, sim, url, tmp_path, max_bytes=1_000_000)
    assert list(tmp_path.iterdir()) == []


async def test_too_large_while_streaming_without_length(sim, http, tmp_path):
    _, url = await result_url(http, sim, huge_bytes=3_000_000, no_content_length=True)
    with pytest.raises(MediaTooLarge):
        await fetch(http, sim, url, tmp_path, max_bytes=1_000_000)
    assert list(tmp_path.iterdir()) == []


async def test_large_stream_within_limit_is_kept_whole(sim, http, tmp_path):
    _, url = await result_url(http, sim, huge_bytes=2_000_000, no_content_length=True)
    path = await fetch(http, sim, url, tmp_path, max_bytes=2_000_000)
    assert path.stat().st_size == 2_000_000
    assert path.read_bytes()[4:8] == b"ftyp"


async def test_multi_megabyte_result_is_saved_byte_for_byte_and_plays(sim, http, tmp_path):
    # Several of the writer's batches and a remainder: every byte lands, in order.
    _, url = await result_url(http, sim, result_bytes=5_300_000)
    path = await fetch(http, sim, url, tmp_path)
    data = path.read_bytes()
    mp4 = render_mp4(4, "16:9")
    assert len(data) == 5_300_000 and data.startswith(mp4)
    assert data[len(mp4) + 4 : len(mp4) + 8] == b"free" and not data[len(mp4) + 8 :].strip(b"\0")
    assert mp4_info(path)[0] == pytest.approx(4, abs=0.01) and count_frames(path) == 4 * 8


async def test_too_large_after_some_of_it_was_written_is_removed(sim, http, tmp_path):
    _, url = await result_url(http, sim, huge_bytes=6_000_000, no_content_length=True)
    with pytest.raises(MediaTooLarge):
        await fetch(http, sim, url, tmp_path, max_bytes=3_500_000)
    assert list(tmp_path.iterdir()) == []


async def test_not_mp4_refused_and_removed(sim, http, tmp_path):
    _, url = await result_url(http, sim, result="not_mp4")
    with pytest.raises(MediaNotMp4) as info:
        await fetch(http, sim, url, tmp_path)
    assert user_reason(info.value) == "the result was not a valid MP4"
    assert list(tmp_path.iterdir()) == []


async def test_slow_trickle_refused(sim, http, tmp_path):
    _, url = await result_url(http, sim, huge_bytes=1_000_000, slow_bytes_per_s=20_000)
    with pytest.raises(MediaDownloadError, match="too slow"):
        await fetch(http, sim, url, tmp_path, min_rate_bytes_per_s=64 * 1024, rate_grace_s=0.3)
    assert list(tmp_path.iterdir()) == []


async def test_stalled_body_refused(sim, http, tmp_path):
    _, url = await result_url(http, sim, huge_bytes=1000, slow_bytes_per_s=1)
    with pytest.raises(MediaDownloadError, match="stalled"):
        await fetch(http, sim, url, tmp_path, stall_timeout_s=0.3, rate_grace_s=60)
    assert list(tmp_path.iterdir()) == []


async def test_http_error_status_and_refused_connection(sim, http, tmp_path):
    with pytest.raises(MediaDownloadError, match="404"):
        await fetch(http, sim, f"{sim.media_origin}/media/job_unknown.mp4", tmp_path)
    origin = sim.media_origin
    await sim.stop()
    with pytest.raises(MediaDownloadError):
        await fetch(http, sim, f"{origin}/media/x.mp4", tmp_path, allowed_origins=[origin])
    assert list(tmp_path.iterdir()) == []


async def test_redirect_loop_gives_up(tmp_path):
    hops = []

    def handler(request: httpx.Request) -> httpx.Response:
        hops.append(str(request.url))
        return httpx.Response(302, headers={"Location": f"/v{len(hops)}.mp4"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        with pytest.raises(MediaDownloadError, match="redirected"):
            await download_result(
                http=http,
                url="https://media.aigateway.sh/v.mp4",
                allowed_origins=["https://MEDIA.aigateway.sh:443"],
                max_bytes=100,
                dest_dir=tmp_path,
            )
    assert len(hops) == 6


def test_origin_of_normalises():
    assert origin_of("HTTPS://Media.AIgateway.sh:443/video/a.mp4?x=1") == "https://media.aigateway.sh"
    assert origin_of("http://127.0.0.1:8080/a") == "http://127.0.0.1:8080"
    assert origin_of("http://host:80") == "http://host"
    assert origin_of("https://media.aigateway.sh@evil.example/a") == "https://evil.example"
    assert origin_of("http://[::1]:9000/x") == "http://[::1]:9000"
    for bad in ("ftp://host/a", "/relative", "https://", "http://host:99999/"):
        with pytest.raises(ValueError):
            origin_of(bad)
