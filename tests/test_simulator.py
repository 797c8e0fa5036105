"""The gateway simulator over a real socket: lifecycle, real MP4s, faults driven over HTTP."""

from __future__ import annotations

import asyncio
import contextlib

import httpx
import pytest

from bot.sim.gateway import Simulator, run_simulator
from bot.sim.mp4 import count_frames, frame_size, mp4_info, render_mp4

KEY = "sk-sim"
BODY = {"model": "bytedance/seedance-2.0-fast", "prompt": "a lake", "duration": 5, "aspect_ratio": "16:9"}
AUTH = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture
async def sim():
    simulator = Simulator(api_key=KEY)
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
async def http():
    async with httpx.AsyncClient(timeout=5.0) as client:
        yield client


async def create(http, sim, body=None, key=None):
    headers = {**AUTH, **({"Idempotency-Key": key} if key else {})}
    return await http.post(f"{sim.base_url}/videos/generations", json=body or BODY, headers=headers)


async def poll_until(http, sim, job_id, wanted):
    seen: list[str] = []
    for _ in range(300):
        answer = (await http.get(f"{sim.base_url}/jobs/{job_id}", headers=AUTH)).json()
        if not seen or seen[-1] != answer["status"]:
            seen.append(answer["status"])
        if answer["status"] == wanted:
            return answer, seen
        await asyncio.sleep(0.01)
    raise AssertionError(f"never reached {wanted}: {seen}")


@pytest.mark.parametrize(("duration", "ratio"), [(5, "16:9"), (4, "9:16"), (6, "1:1")])
async def test_lifecycle_and_playable_mp4(sim, http, tmp_path, duration, ratio):
    sim.configure(take_s=0.2)
    answer = await create(http, sim, {**BODY, "duration": duration, "aspect_ratio": ratio})
    assert answer.status_code == 200
    job = answer.json()
    assert job["status"] == "queued" and job["model"] == BODY["model"] and isinstance(job["created"], int)
    done, seen = await poll_until(http, sim, job["id"], "completed")
    assert seen[0] == "queued" and "processing" in seen and seen[-1] == "completed"
    width, height = frame_size(ratio)
    assert done["result"]["resolution"] == f"{width}x{height}"
    assert done["result"]["duration"] == duration
    media = await http.get(done["result"]["url"])
    assert media.status_code == 200 and media.headers["content-type"] == "video/mp4"
    assert int(media.headers["content-length"]) == len(media.content)
    path = tmp_path / "v.mp4"
    path.write_bytes(media.content)
    got_duration, got_w, got_h = mp4_info(path)
    assert abs(got_duration - duration) < 0.01 and (got_w, got_h) == (width, height)
    assert count_frames(path) == duration * 8
    recorded = sim.jobs[job["id"]]
    assert recorded.polls == sum(1 for r in sim.requests if r["path"] == f"/v1/jobs/{job['id']}")
    assert recorded.completed_at is not None


def test_frame_sizes_are_even_and_bounded():
    assert frame_size("16:9") == (160, 90)
    assert frame_size("9:16") == (90, 160)
    assert frame_size("21:9") == (160, 68)
    assert frame_size("4:3", max_side=320) == (320, 240)
    for ratio in ("16:9", "21:9", "3:4", "7:5"):
        assert all(side % 2 == 0 for side in frame_size(ratio))
    with pytest.raises(ValueError):
        frame_size("wide")


def test_render_is_cached_and_an_mp4():
    first = render_mp4(4, "4:3")
    assert first is render_mp4(4, "4:3")
    assert first[4:8] == b"ftyp"


async def test_auth_validation_unknown_and_idempotency(sim, http):
    no_auth = await http.post(f"{sim.base_url}/videos/generations", json=BODY)
    assert no_auth.status_code == 401 and no_auth.json()["error"]["type"] == "authentication_error"
    bad = await create(http, sim, {**BODY, "aspect_ratio": "wide", "duration": "5"})
    assert bad.status_code == 400 and bad.json()["error"]["type"] == "invalid_request_error"
    assert (await http.get(f"{sim.base_url}/jobs/job_missing", headers=AUTH)).status_code == 404
    first = (await create(http, sim, key="abc")).json()
    again = (await create(http, sim, key="abc")).json()
    other = (await create(http, sim, key="xyz")).json()
    assert first["id"] == again["id"] != other["id"]
    assert sim.create_count == 5 and len(sim.jobs) == 2


async def test_faults_via_http_config_and_state(sim, http):
    root = sim.media_origin
    set_cfg = await http.post(f"{root}/_sim/config", json={"take_s": 0.05, "fail": "boom"})
    assert set_cfg.status_code == 200 and set_cfg.json()["config"]["fail"] == "boom"
    job = (await create(http, sim)).json()
    failed, _ = await poll_until(http, sim, job["id"], "failed")
    assert failed["error"]["message"] == "boom" and "result" not in failed
    typo = await http.post(f"{root}/_sim/config", json={"tkae_s": 1})
    assert typo.status_code == 400
    # Next-only faults: the next create is refused with 503 + Retry-After, the one after is fine.
    await http.post(f"{root}/_sim/config", json={})
    await http.post(f"{root}/_sim/config?next=1", json={"create_status": 503, "retry_after": "7"})
    refused = await create(http, sim)
    assert refused.status_code == 503 and refused.headers["retry-after"] == "7"
    assert refused.json()["error"]["type"] == "service_unavailable"
    assert (await create(http, sim)).status_code == 200
    state = (await http.get(f"{root}/_sim/state")).json()
    assert state["create_count"] == 3 and len(state["jobs"]) == 2 and state["pending_next"] == 0
    assert state["jobs"][job["id"]]["status"] == "failed"


async def test_take_spread_gives_each_job_its_own_generation_time(sim, http):
    root = sim.media_origin
    set_cfg = await http.post(f"{root}/_sim/config", json={"take_s": 60, "take_spread": 0.25})
    assert set_cfg.status_code == 200 and set_cfg.json()["config"]["take_spread"] == 0.25
    assert (await http.post(f"{root}/_sim/config", json={"take_spread": 1.0})).status_code == 400
    for _ in range(40):
        assert (await create(http, sim)).status_code == 200
    state = (await http.get(f"{root}/_sim/state")).json()
    takes = [job["take_s"] for job in state["jobs"].values()]
    assert all(45.0 <= take <= 75.0 for take in takes) and len(set(takes)) == len(takes)
    assert all(j["completed_at"] == pytest.approx(j["created"] + j["take_s"]) for j in state["jobs"].values())
    await http.post(f"{root}/_sim/config", json={"take_s": 60})  # no spread: every job alike
    job = (await create(http, sim)).json()
    assert (await http.get(f"{root}/_sim/state")).json()["jobs"][job["id"]]["take_s"] == 60.0


async def test_get_status_only_for_first_polls(sim, http):
    sim.configure(take_s=0, get_status=429, get_status_times=2, retry_after="1", error_body="html")
    job = (await create(http, sim)).json()
    codes = [(await http.get(f"{sim.base_url}/jobs/{job['id']}", headers=AUTH)).status_code for _ in range(3)]
    assert codes == [429, 429, 200]


async def test_prompt_keywords_stall_and_billed_duration(sim, http):
    sim.configure(take_s=0)
    stalled = (await create(http, sim, {**BODY, "prompt": "x [sim:stall]"})).json()
    billed = (await create(http, sim, {**BODY, "prompt": "y [sim:billed_duration=3] [sim:bogus=1]"})).json()
    answer, _ = await poll_until(http, sim, billed["id"], "completed")
    assert answer["result"]["duration"] == 3
    await asyncio.sleep(0.05)
    stuck = (await http.get(f"{sim.base_url}/jobs/{stalled['id']}", headers=AUTH)).json()
    assert stuck["status"] == "processing" and sim.jobs[stalled["id"]].completed_at is None


async def completed_url(http, sim, **faults):
    sim.configure_next(take_s=0, **faults)
    job = (await create(http, sim)).json()
    answer, _ = await poll_until(http, sim, job["id"], "completed")
    return answer["result"]["url"]


async def test_media_faults(sim, http):
    not_mp4 = await http.get(await completed_url(http, sim, result="not_mp4"))
    assert not_mp4.headers["content-type"].startswith("text/html") and not_mp4.content[4:8] != b"ftyp"
    foreign = await completed_url(http, sim, result="foreign_origin")
    assert foreign.startswith("http://evil.example.invalid/media/")
    hop = await http.get(await completed_url(http, sim, result="redirect_foreign"))
    assert hop.status_code == 302 and hop.headers["location"].startswith("http://evil.example.invalid/")
    same = await http.get(await completed_url(http, sim, result="redirect_same"))
    assert same.status_code == 302 and same.headers["location"].startswith("/media/")
    followed = await http.get(sim.media_origin + same.headers["location"])
    assert followed.status_code == 200 and followed.content[4:8] == b"ftyp"


async def test_huge_body_is_streamed_with_length_and_ftyp(sim, http):
    url = await completed_url(http, sim, huge_bytes=3_000_000)
    size = 0
    head = b""
    async with http.stream("GET", url) as response:
        assert int(response.headers["content-length"]) == 3_000_000
        async for chunk in response.aiter_bytes():
            head = head or chunk[:8]
            size += len(chunk)
    assert size == 3_000_000 and head[4:8] == b"ftyp"


async def test_run_simulator_serves_and_prints_url(capsys):
    task = asyncio.create_task(run_simulator("127.0.0.1", 0))
    try:
        line = ""
        for _ in range(200):
            line = capsys.readouterr().out
            if line:
                break
            await asyncio.sleep(0.01)
        base = line.split()[3]
        assert base.startswith("http://127.0.0.1:") and base.endswith("/v1")
        async with httpx.AsyncClient() as http:
            answer = await http.post(f"{base}/videos/generations", json=BODY)
        assert answer.status_code == 200 and answer.json()["status"] == "queued"
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_result_bytes_pads_a_playable_mp4_and_times_are_recorded(sim, http, tmp_path):
    sim.configure_next(take_s=0, result_bytes=3_000_000)
    job = (await create(http, sim, {**BODY, "duration": 2})).json()
    answer, _ = await poll_until(http, sim, job["id"], "completed")
    recorded = sim.jobs[job["id"]]
    assert recorded.seen_completed_at is not None and recorded.first_media_at is None
    media = await http.get(answer["result"]["url"])
    assert int(media.headers["content-length"]) == len(media.content) == 3_000_000
    path = tmp_path / "padded.mp4"
    path.write_bytes(media.content)
    # Padded with a `free` box, the file still plays: the same duration and every frame.
    assert mp4_info(path)[0] == pytest.approx(2, abs=0.01) and count_frames(path) == 2 * 8
    assert media.content.startswith(render_mp4(2, "16:9"))
    assert recorded.seen_completed_at <= recorded.first_media_at <= recorded.media_sent_at
    # A size the MP4 already exceeds (or no room for a box) serves the MP4 as it is.
    small = await http.get(await completed_url(http, sim, result_bytes=100))
    assert small.content == render_mp4(5, "16:9")
