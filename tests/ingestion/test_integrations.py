"""Alertmanager through /webhook and the AIops webhook (anomalies), resolutions, PagerDuty sync, deploys."""

import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from analyses.models import Anomaly, Incident, KnowledgeBaseEntry
from tests.conftest import GENERIC_ALERT, make_key_client

PAYLOADS = Path(__file__).resolve().parents[1] / "webhooks" / "payloads"


def payload(name: str) -> dict:
    return json.loads((PAYLOADS / name).read_text())


def test_one_alertmanager_post_with_two_alerts_makes_two_incidents(post_alert):
    response = post_alert(payload("alertmanager/firing_two_alerts.json"), source="alertmanager")

    body = response.json()
    assert (response.status_code, body["alerts_received"]) == (200, 2)
    first, second = (Incident.objects.get(pk=item["incident_id"]) for item in body["incidents"])
    assert (first.service, first.severity, first.pod) == (
        "payments-api",
        "critical",
        "payments-api-7d8f9c6b5-x2k4m",
    )
    assert (second.service, second.rule_name, second.threshold, second.actual_value) == (
        "checkout",
        "HighErrorRate",
        5.0,
        7.5,
    )


def test_an_alertmanager_resolve_resolves_the_incident(post_alert):
    firing = post_alert(payload("alertmanager/firing_two_alerts.json"), source="alertmanager").json()
    resolved_payload = payload("alertmanager/firing_two_alerts.json")
    for alert in resolved_payload["alerts"]:
        alert["status"], alert["endsAt"] = "resolved", "2026-04-10T12:30:00Z"
    resolved_payload["status"] = "resolved"

    post_alert(resolved_payload, source="alertmanager")

    statuses = {Incident.objects.get(pk=item["incident_id"]).status for item in firing["incidents"]}
    assert statuses == {"resolved"}


@pytest.fixture
def aiops_alert():
    return {
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "HighCPU", "service_id": "payment-api", "severity": "critical"},
                "annotations": {"summary": "CPU usage above 85% for 5 minutes"},
                "startsAt": "2026-04-10T12:00:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
            }
        ],
        "groupLabels": {"alertname": "HighCPU"},
        "commonLabels": {"service_id": "payment-api"},
    }


def test_the_aiops_webhook_records_an_anomaly_linked_to_the_incident(org, aiops_alert):
    client = make_key_client(org, "ingestion")

    response = client.post("/api/v1/alerts/webhook", aiops_alert, format="json")

    body = response.json()
    assert (response.status_code, body["status"], body["rca_triggered"]) == (200, "ok", True)
    anomaly = Anomaly.objects.get(pk=body["anomaly_id"])
    assert body["anomaly_id"].startswith("anom-")
    assert (anomaly.service_id, anomaly.metric_name, anomaly.incident.title) == (
        "payment-api",
        "HighCPU",
        "CPU usage above 85% for 5 minutes",
    )
    assert 0 <= anomaly.anomaly_score <= 1


def test_a_burst_against_a_quiet_baseline_scores_high(org, aiops_alert):
    client = make_key_client(org, "ingestion")
    for _ in range(6):
        client.post("/api/v1/alerts/webhook", aiops_alert, format="json")

    latest = Anomaly.objects.order_by("-detected_at").first()

    assert latest.z_score >= 6 and latest.anomaly_score >= 0.75


def test_the_aiops_webhook_accepts_a_bearer_key_and_refuses_no_key(org, aiops_alert):
    raw_client = make_key_client(org, "ingestion")
    raw = raw_client._credentials["HTTP_X_API_KEY"]
    bearer = APIClient()
    bearer.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")

    assert bearer.post("/api/v1/alerts/webhook", aiops_alert, format="json").status_code == 200
    assert APIClient().post("/api/v1/alerts/webhook", aiops_alert, format="json").status_code == 401


def test_keyless_alertmanager_posts_land_in_the_configured_tenant(org, aiops_alert, settings):
    settings.ALERTMANAGER_DEFAULT_TENANT = "acme"

    response = APIClient().post("/api/v1/alerts/webhook", aiops_alert, format="json")

    assert response.status_code == 200
    assert Anomaly.objects.get().organization == org


def test_a_resolution_is_stored_in_the_incident_memory(org, aiops_alert, operator_client):
    anomaly_id = (
        make_key_client(org, "ingestion")
        .post("/api/v1/alerts/webhook", aiops_alert, format="json")
        .json()["anomaly_id"]
    )

    response = operator_client.post(
        "/api/v1/resolutions/webhook",
        {
            "incident_id": anomaly_id,
            "service_id": "payment-api",
            "resolution": "Scaled payment-api from 3 to 5 pods.",
            "resolved_by": "alice@mycompany.com",
            "time_to_recovery_minutes": 18,
            "tags": ["memory-leak", "db-pool"],
        },
    )

    body = response.json()
    assert (response.status_code, body["status"], body["stored"]) == (200, "ok", True)
    entry = KnowledgeBaseEntry.objects.get(pk=body["knowledge_base_id"])
    assert body["knowledge_base_id"].startswith("kb-")
    assert entry.incident == Anomaly.objects.get(pk=anomaly_id).incident
    assert (entry.tags, entry.time_to_recovery_minutes) == (["memory-leak", "db-pool"], 18)


def test_a_resolution_without_text_is_refused(operator_client):
    response = operator_client.post("/api/v1/resolutions/webhook", {"incident_id": "inc-x"})

    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["resolution"]


def pagerduty(event_type: str, incident_id: str = "PD12345") -> dict:
    return {
        "event": {
            "id": "01EVT",
            "event_type": event_type,
            "resource_type": "incident",
            "occurred_at": "2026-04-10T12:00:00Z",
            "data": {
                "id": incident_id,
                "type": "incident",
                "title": "Service degraded",
                "urgency": "high",
                "status": "triggered",
                "service": {"id": "PSVC", "summary": "api-gateway"},
            },
        }
    }


def test_pagerduty_events_create_then_update_the_linked_incident(ingest_client):
    created = ingest_client.post("/webhook/pagerduty", pagerduty("incident.triggered"), format="json").json()
    acked = ingest_client.post("/webhook/pagerduty", pagerduty("incident.acknowledged"), format="json").json()
    resolved = ingest_client.post("/webhook/pagerduty", pagerduty("incident.resolved"), format="json").json()

    assert created | {"local_incident_id": None} == {
        "ok": True,
        "event_type": "incident.triggered",
        "pd_incident_id": "PD12345",
        "local_incident_id": None,
        "action_taken": "created",
        "queued": False,
    }
    assert acked["local_incident_id"] == resolved["local_incident_id"] == created["local_incident_id"]
    assert (acked["action_taken"], resolved["action_taken"]) == ("acknowledged", "resolved")
    incident = Incident.objects.get(pk=created["local_incident_id"])
    assert (incident.status, incident.external_id, incident.service) == ("resolved", "PD12345", "api-gateway")


def test_an_unknown_pagerduty_event_type_is_400(ingest_client):
    response = ingest_client.post("/webhook/pagerduty", pagerduty("incident.exploded"), format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "unsupported_event"
    assert response.json()["error"].startswith("Unsupported PagerDuty event type 'incident.exploded'")


def test_deploys_are_stored_listed_and_correlated(org, post_alert, reader):
    writer = make_key_client(org, "write")
    stored = writer.post(
        "/webhook/deploy",
        {
            "service": "payments-api",
            "namespace": "production",
            "environment": "prod",
            "image": "payments-api:v2.3.1",
            "actor": "ci-bot",
            "commit_sha": "abc123def456",
            "timestamp": (timezone.now() - timedelta(minutes=12)).isoformat(),
        },
    ).json()
    incident_id = post_alert(GENERIC_ALERT).json()["incident_id"]

    recent = reader.get("/webhook/deploy/recent?service=payments-api").json()
    correlation = reader.get(f"/incidents/{incident_id}/deploy-correlation?lookback_minutes=30").json()
    too_short = reader.get(f"/incidents/{incident_id}/deploy-correlation?lookback_minutes=5").json()

    assert stored["ok"] is True and stored["deploy_id"].startswith("deploy-")
    assert stored["stored"]["image"] == "payments-api:v2.3.1"
    assert [d["deploy_id"] for d in recent["deploys"]] == [stored["deploy_id"]]
    assert correlation["has_correlation"] is True
    assert correlation["correlated_deploy"]["deploy_id"] == stored["deploy_id"]
    assert correlation["message"] == "Deploy by ci-bot (payments-api) was 12 min before this incident"
    assert (too_short["has_correlation"], too_short["correlated_deploy"]) == (False, None)
    assert too_short["message"] == "No deploy of payments-api in the 5 min before this incident"


def test_noisy_incidents_resolved_fast_without_anyone(post_alert, reader, operator_client):
    noisy = post_alert(GENERIC_ALERT).json()["incident_id"]
    post_alert({**GENERIC_ALERT, "status": "resolved"})
    handled = post_alert({**GENERIC_ALERT, "title": "Disk", "service": "db"}).json()["incident_id"]
    operator_client.patch(f"/api/alerts/incidents/{handled}", {"status": "resolved"})

    body = reader.get("/incidents/noisy?max_duration_minutes=5").json()

    assert [i["id"] for i in body["noisy_incidents"]] == [noisy]
    assert body["note"] == "These incidents resolved with no actions -- review alert thresholds."


def test_activity_lists_what_people_did(post_alert, reader, operator_client, operator):
    incident_id = post_alert(GENERIC_ALERT).json()["incident_id"]
    operator_client.patch(f"/api/alerts/incidents/{incident_id}", {"status": "acknowledged"})

    body = reader.get("/activity").json()

    assert [(a["action"], a["incident_id"], a["actor"]) for a in body["activity"]] == [
        ("status_changed", incident_id, operator.email)
    ]


def test_dev_mode_admits_keyless_calls_only_with_debug_and_no_keys(settings, db):
    settings.DEBUG, settings.AI_SRE_API_KEYS = True, []

    open_door = APIClient().get("/adapters")
    settings.DEBUG = False
    closed = APIClient().get("/adapters")

    assert open_door.status_code == 200
    assert closed.status_code == 401


def test_static_ai_sre_keys_act_in_the_default_organization(settings, db):
    settings.AI_SRE_API_KEYS = ["static-key-1"]
    client = APIClient()
    client.credentials(HTTP_X_API_KEY="static-key-1")

    response = client.post("/webhook", GENERIC_ALERT, format="json")

    assert response.status_code == 200
    assert Incident.objects.get().organization.slug == settings.DEFAULT_ORGANIZATION
    assert APIClient().get("/adapters", HTTP_X_API_KEY="wrong").status_code == 401


def test_pagerduty_pings_and_notes_are_acknowledged_without_an_incident_change(ingest_client):
    created = ingest_client.post("/webhook/pagerduty", pagerduty("incident.triggered"), format="json").json()
    note = pagerduty("incident.annotated")
    note["event"]["data"] = {
        "incident": {"id": "PD12345", "type": "incident_reference"},
        "id": "PNOTE1",
        "type": "incident_note",
        "content": "Looking into it",
    }
    ping = {
        "event": {
            "id": "01PING",
            "event_type": "pagey.ping",
            "resource_type": "pagey",
            "data": {"type": "ping"},
        }
    }

    annotated = ingest_client.post("/webhook/pagerduty", note, format="json")
    pinged = ingest_client.post("/webhook/pagerduty", ping, format="json")

    assert annotated.status_code == pinged.status_code == 200
    assert annotated.json()["local_incident_id"] == created["local_incident_id"]
    assert (pinged.json()["action_taken"], pinged.json()["local_incident_id"]) == ("ignored", None)
    incident = Incident.objects.get(pk=created["local_incident_id"])
    assert incident.status == "open"
    assert incident.events.filter(event_type="external_update").count() == 1
