import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command

from remediation.actions.base import ActionProvider, action_providers
from webhooks.normalizers.base import Normalizer, normalizers

ROOT = Path(__file__).resolve().parents[2]


def metric_value(text: str, line_start: str) -> float:
    for line in text.splitlines():
        if line.startswith(line_start):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_are_public_prometheus_text_that_count_requests(api_client, db):
    before = api_client.get("/metrics").content.decode()
    api_client.get("/health")
    api_client.get("/health")
    after = api_client.get("/metrics")

    assert after.status_code == 200
    assert after["Content-Type"].startswith("text/plain; version=")
    text = after.content.decode()
    series = 'statux_http_requests_total{method="GET",route="/health",status="200"}'
    assert metric_value(text, series) - metric_value(before, series) == 2
    assert 'statux_http_request_duration_seconds_bucket{le="0.005",method="GET",route="/health"}' in text
    assert "# TYPE statux_alerts_ingested_total counter" in text


def test_metrics_count_tasks_and_read_gauges_from_the_database(api_client, org, other_org):
    from statux.tasks import watchdog_tick_task

    before = api_client.get("/metrics").content.decode()
    watchdog_tick_task.delay()
    text = api_client.get("/metrics").content.decode()

    series = 'statux_celery_tasks_total{state="success",task="statux.watchdog_tick"}'
    assert metric_value(text, series) - metric_value(before, series) == 1
    assert metric_value(text, "statux_organizations ") == 2


def test_metrics_count_ingested_alerts_and_open_incidents(api_client, post_alert):
    from tests.conftest import GENERIC_ALERT

    before = api_client.get("/metrics").content.decode()
    post_alert(GENERIC_ALERT)
    post_alert(GENERIC_ALERT)
    text = api_client.get("/metrics").content.decode()

    ingested = 'statux_alerts_ingested_total{outcome="processed",source="webhook"}'
    assert metric_value(text, ingested) - metric_value(before, ingested) == 2
    assert metric_value(text, 'statux_incidents{severity="critical",status="open"}') == 1


def test_adapters_lists_what_the_registries_really_hold(viewer_client):
    class FakeSource(Normalizer):
        name = "zz-test-source"

        def normalize(self, payload):
            return []

    class FakeProvider(ActionProvider):
        name = "zz-test-provider"
        action_names = ("zz_restart", "zz_scale")

        def execute(self, *, action, params, dry_run):
            return {}

    before = viewer_client.get("/adapters").json()
    normalizers.register(FakeSource)
    action_providers.register(FakeProvider)
    try:
        after = viewer_client.get("/adapters").json()
    finally:
        normalizers.unregister("zz-test-source")
        action_providers.unregister("zz-test-provider")

    assert set(after) == {
        "alert_sources",
        "log_backends",
        "action_providers",
        "action_names",
        "notification_channels",
        "ai_providers",
        "billing_providers",
    }
    assert after["ai_providers"] == ["bedrock", "deterministic", "openai"]
    assert after["log_backends"] == ["datadog", "elastic", "loki", "mock"]
    assert after["billing_providers"] == ["self_hosted", "stripe"]
    assert set(after["alert_sources"]) - set(before["alert_sources"]) == {"zz-test-source"}
    assert set(after["action_providers"]) - set(before["action_providers"]) == {"zz-test-provider"}
    assert {"zz_restart", "zz_scale"} <= set(after["action_names"])


def test_a_registry_refuses_duplicates_and_names_the_known_ones():
    from statux.registry import Registry, UnknownIntegration

    registry = Registry("zz-test-kind")

    class One:
        name = "one"

    registry.register(One)
    with pytest.raises(ValueError, match="'one' is registered already"):
        registry.register(One)
    with pytest.raises(UnknownIntegration, match="known: one"):
        registry.get("two")
    Registry.all.pop("zz-test-kind")


def test_the_openapi_schema_validates_and_lists_every_endpoint(tmp_path, db):
    out = tmp_path / "schema.yml"

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))

    paths = yaml.safe_load(out.read_text())["paths"]
    for path in [
        "/api/v1/health",
        "/api/v1/auth/token",
        "/api/v1/users/me",
        "/api/v1/users/me/notifications",
        "/api/v1/organizations/{org_id}/users",
        "/api/v1/organizations/{org_id}/users/invite",
        "/api/v1/invitations/{token}/accept",
        "/api/v1/status",
        "/api/v1/tenants",
        "/api/v1/rbac/permissions",
        "/api/v1/apikeys",
        "/api/v1/apikeys/{key_id}",
        "/health",
        "/metrics",
        "/adapters",
    ]:
        assert path in paths, path
    assert not [p for p in paths if p.endswith("/") and p.rstrip("/") in paths]


def test_schema_and_docs_are_served(api_client, db):
    schema = api_client.get("/api/schema/")
    docs = api_client.get("/api/docs/")

    assert schema.status_code == 200 and b"openapi: 3" in schema.content
    assert docs.status_code == 200 and b"swagger-ui" in docs.content.lower()


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "DEBUG",
            "SECURE_SSL_REDIRECT",
            "SESSION_COOKIE_SECURE",
            "CSRF_COOKIE_SECURE",
            "SECURE_HSTS_SECONDS",
            "STATIC_MANIFEST",
            "WHITENOISE_USE_FINDERS",
        }
    }
    env.update(
        DEBUG="0",
        SECRET_KEY="x" * 20 + "-production-grade-random-secret-key-7f3a9c",
        ALLOWED_HOSTS="statux.example.com",
    )

    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_debug_off_without_a_secret_key_refuses_to_start():
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG"}}

    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )

    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off." in result.stderr


def test_createsuperuser_noinput_reads_email_and_password_from_the_environment(db, monkeypatch):
    from statux.models import User

    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "Root@Platform.Example")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a-very-long-root-password")

    call_command("createsuperuser", "--noinput")

    user = User.objects.get(email__iexact="root@platform.example")
    assert user.is_superuser and user.is_staff and user.check_password("a-very-long-root-password")


def test_seed_demo_is_idempotent_and_prints_the_login(db, capsys):
    from statux.models import Membership

    call_command("seed_demo")
    call_command("seed_demo")

    out = capsys.readouterr().out
    assert "Log in as admin@demo.statux.local / statux-demo-admin" in out
    assert Membership.objects.get(organization__slug="demo").role == "owner"
