"""Prometheus metrics: every counter the app keeps, each bumped by a one-line call where it happens.

Served as Prometheus text on `/metrics` (HTTP mode: on PORT; Socket Mode: on VIDEOBOT_HEALTH_PORT).
The metrics live in the process's default registry, like every prometheus-client app, so a process
serves one set; in-process tests read differences, not absolute values.
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, Histogram, generate_latest

JOBS = Counter("videobot_jobs", "Jobs that reached a state", ["state"])
JOBS_IN_FLIGHT = Gauge("videobot_jobs_in_flight", "Jobs this process is driving right now")
JOB_SECONDS = Histogram(
    "videobot_job_seconds",
    "Seconds from a job's acceptance to its finish (delivered, failed or expired)",
    buckets=(5, 10, 20, 30, 45, 60, 90, 120, 180, 300, 600, 1200, 1800, 3600),
)
SLACK_CALLS = Counter(
    "videobot_slack_calls", "Slack Web API calls by method and outcome", ["method", "outcome"]
)
GATEWAY_REQUESTS = Counter(
    "videobot_gateway_requests", "AIgateway requests by endpoint and HTTP status", ["endpoint", "status"]
)
SPEND = Counter("videobot_spend_micros", "Micro-dollars charged for delivered videos")
REFUSALS = Counter("videobot_refusals", "Video requests refused before any job, by reason", ["reason"])

CONTENT_TYPE = CONTENT_TYPE_LATEST


def job_reached(state: str) -> None:
    """Count a job reaching `state`."""
    JOBS.labels(state=state).inc()


def job_finished(state: str, seconds: float, charged_micros: int) -> None:
    """Count a job's finish, how long it took since it was accepted and what it was charged."""
    JOBS.labels(state=state).inc()
    JOB_SECONDS.observe(max(0.0, seconds))
    if charged_micros:
        SPEND.inc(charged_micros)


def slack_call(method: str, outcome: str) -> None:
    """Count one Slack Web API call attempt: `ok`, or Slack's error code."""
    SLACK_CALLS.labels(method=method, outcome=outcome).inc()


def gateway_request(endpoint: str, status: str) -> None:
    """Count one gateway request: the HTTP status, or `error` when no answer came."""
    GATEWAY_REQUESTS.labels(endpoint=endpoint, status=status).inc()


def refusal(reason: str) -> None:
    """Count a video request refused before it became a job."""
    REFUSALS.labels(reason=reason).inc()


def exposition() -> bytes:
    """Every metric in Prometheus text format."""
    return generate_latest(REGISTRY)
