"""/metrics scraped from `videobot run` after a delivered and a failed job shows both, and the money."""

from __future__ import annotations

import asyncio

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.durability.proc import AppProcess, deliver_one_fail_one


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


async def test_metrics_show_a_delivered_and_a_failed_job(tmp_path, sim, slack):
    app = AppProcess(
        sim=sim, slack=slack, db_url=f"sqlite:///{tmp_path / 'bot.db'}", log_path=tmp_path / "app.log"
    )
    await app.start()
    try:
        await deliver_one_fail_one(app, sim, slack)
        async with httpx.AsyncClient() as http:
            ready = await http.get(f"{app.health_url}/readyz")
            for _ in range(200):  # the failed job's task still tells the user, then ends
                scraped = await http.get(f"{app.health_url}/metrics")
                if _samples(scraped.text)[("videobot_jobs_in_flight", ())] == 0:
                    break
                await asyncio.sleep(0.05)
    finally:
        await app.terminate()
    assert ready.status_code == 200 and ready.json() == {"ok": True, "database": True, "slack": True}
    assert scraped.status_code == 200 and scraped.headers["content-type"].startswith("text/plain")
    log_text = app.log_path.read_text()
    assert "will be unused" not in log_text and "will be ignored" not in log_text  # Bolt's start-up warnings
    got = _samples(scraped.text)
    assert got[("videobot_jobs_total", (("state", "delivered"),))] == 1
    assert got[("videobot_jobs_total", (("state", "failed"),))] == 1
    assert got[("videobot_jobs_total", (("state", "accepted"),))] == 2
    assert got[("videobot_job_seconds_count", ())] == 2
    assert got[("videobot_jobs_in_flight", ())] == 0
    assert got[("videobot_spend_micros_total", ())] == 5 * 11_000  # the 5-second video, at $0.011/s
    assert (
        got[("videobot_gateway_requests_total", (("endpoint", "videos/generations"), ("status", "200")))] == 2
    )
    assert (
        got[("videobot_slack_calls_total", (("method", "files.completeUploadExternal"), ("outcome", "ok")))]
        == 1
    )
    assert got[("videobot_slack_calls_total", (("method", "chat.postMessage"), ("outcome", "ok")))] >= 2
