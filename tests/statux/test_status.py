from datetime import timedelta

import pytest
from django.utils import timezone

from statux.models import Heartbeat
from statux.tasks import watchdog_tick_task


def test_status_reports_real_components_in_the_embedded_mode(viewer_client, settings):
    settings.REDIS_URL = ""

    response = viewer_client.get("/api/v1/status")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"status", "version", "components", "workers", "watchdog"}
    assert body["components"] == {
        "database": "ok",
        "broker": "in_process",
        "workers": "in_process",
        "llm": "deterministic",
        "watchdog": "in_process",
    }
    assert body["status"] == "ok"
    assert body["watchdog"] == {"last_run": None, "metrics_monitored": 0, "anomalies_last_hour": 0}


def test_a_broker_that_does_not_answer_is_down_and_status_degraded(viewer_client, settings, unused_tcp_port):
    settings.REDIS_URL = f"redis://127.0.0.1:{unused_tcp_port}/0"
    settings.STATUS_CHECK_TIMEOUT_SECONDS = 0.2

    body = viewer_client.get("/api/v1/status").json()

    assert (body["components"]["broker"], body["components"]["workers"]) == ("down", "unknown")
    assert body["status"] == "degraded"


def test_the_watchdog_tick_shows_as_running_then_stale(viewer_client, settings):
    settings.REDIS_URL = ""
    watchdog_tick_task.delay()

    fresh = viewer_client.get("/api/v1/status").json()
    Heartbeat.objects.filter(name="watchdog").update(last_seen_at=timezone.now() - timedelta(hours=1))
    stale = viewer_client.get("/api/v1/status").json()

    assert fresh["components"]["watchdog"] == "running"
    assert fresh["watchdog"]["last_run"] is not None
    assert (stale["components"]["watchdog"], stale["status"]) == ("stale", "degraded")


def test_an_openai_compatible_provider_is_probed_for_real(viewer_client, settings, httpserver):
    settings.REDIS_URL = ""
    settings.AI_PROVIDER = "openai"
    settings.OPENAI_BASE_URL = httpserver.url_for("/v1")
    settings.OPENAI_API_KEY = "sk-test"
    httpserver.expect_request("/v1/models", headers={"Authorization": "Bearer sk-test"}).respond_with_json(
        {"data": [{"id": "llama"}]}
    )

    body = viewer_client.get("/api/v1/status").json()

    assert body["components"]["llm"] == "connected"


def test_an_unreachable_openai_provider_says_so(viewer_client, settings, unused_tcp_port):
    settings.AI_PROVIDER = "openai"
    settings.OPENAI_BASE_URL = f"http://127.0.0.1:{unused_tcp_port}/v1"
    settings.STATUS_CHECK_TIMEOUT_SECONDS = 0.2

    body = viewer_client.get("/api/v1/status").json()

    assert (body["components"]["llm"], body["status"]) == ("unreachable", "degraded")


@pytest.mark.parametrize(
    ("provider", "base_url", "expected"), [("openai", "", "not_configured"), ("bedrock", "", "configured")]
)
def test_provider_configuration_is_reported(
    viewer_client, settings, monkeypatch, provider, base_url, expected
):
    settings.AI_PROVIDER, settings.OPENAI_BASE_URL = provider, base_url
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")

    assert viewer_client.get("/api/v1/status").json()["components"]["llm"] == expected


def test_status_needs_authentication(api_client, db):
    assert api_client.get("/api/v1/status").status_code == 401


@pytest.fixture
def unused_tcp_port():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_watchdog_numbers_are_the_callers_own_anomalies(viewer_client, org, other_org, settings):
    from analyses.models import Anomaly

    settings.REDIS_URL = ""
    now = timezone.now()
    for minutes, service, metric in [
        (5, "api", "cpu"),
        (30, "api", "cpu"),
        (50, "db", "disk"),
        (300, "db", "io"),
    ]:
        Anomaly.objects.create(
            organization=org,
            service_id=service,
            metric_name=metric,
            anomaly_score=0.9,
            z_score=4.0,
            detected_at=now - timedelta(minutes=minutes),
        )
    Anomaly.objects.create(
        organization=other_org, service_id="x", metric_name="y", anomaly_score=1, z_score=5
    )

    watchdog = viewer_client.get("/api/v1/status").json()["watchdog"]

    assert (watchdog["anomalies_last_hour"], watchdog["metrics_monitored"]) == (3, 3)
