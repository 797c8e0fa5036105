"""Health and metrics in both modes: /healthz alive, /readyz database and Slack, /metrics counting."""

from __future__ import annotations

from prometheus_client import REGISTRY

from tests.e2e.harness import APP_TOKEN, ack_text


async def test_http_mode_serves_health_ready_and_metrics_on_its_port(make_app):
    app = await make_app(default_budget=10_000)  # one cent: any video is refused
    before = REGISTRY.get_sample_value("videobot_refusals_total", {"reason": "budget"}) or 0
    refused = await app.command("a lake at dawn")
    assert "budget" in ack_text(refused)
    base = app.service.health_url
    assert base.startswith("http://127.0.0.1:") and not base.endswith("/")
    assert (await app.http.get(f"{base}/healthz")).json() == {"ok": True}
    ready = await app.http.get(f"{base}/readyz")
    assert ready.status_code == 200 and ready.json() == {"ok": True, "database": True, "slack": True}
    metrics = await app.http.get(f"{base}/metrics")
    assert 'videobot_refusals_total{reason="budget"}' in metrics.text
    assert REGISTRY.get_sample_value("videobot_refusals_total", {"reason": "budget"}) == before + 1
    assert app.sim.create_count == 0


async def test_socket_mode_serves_them_on_the_health_port_and_is_unready_without_slack(make_app, slack):
    app = await make_app(slack_app_token=APP_TOKEN, mode=None)
    await slack.wait_for_socket(1)
    base = app.service.health_url
    assert base and app.service.events_url == ""
    ready = await app.http.get(f"{base}/readyz")
    assert ready.status_code == 200 and ready.json()["slack"] is True
    assert "videobot_jobs_in_flight" in (await app.http.get(f"{base}/metrics")).text

    slack.app_token = "xapp-revoked"  # reconnects are refused from now on
    await slack.hub.close()

    async def unready() -> bool:
        return (await app.http.get(f"{base}/readyz")).status_code == 503

    await app.wait_for(unready, timeout=10)
    assert (await app.http.get(f"{base}/healthz")).status_code == 200
