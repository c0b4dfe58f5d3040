"""Statux insights (000) and the AI-SRE diagnosis (002) over HTTP."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from analyses.models import Analysis, Incident
from tests.analyses.test_analysis_pipeline import OOM_ALERT

pytestmark = pytest.mark.django_db


@pytest.fixture
def incident(org, post_alert, settings) -> Incident:
    settings.ANALYSIS_AUTO_MIN_SEVERITY = "off"
    return Incident.objects.get(pk=post_alert(OOM_ALERT).json()["incident_id"])


def request_insight(client, org, incident_id, capture):
    with capture(execute=True):
        path = f"/api/v1/organizations/{org.pk}/insights"
        return client.post(path, {"incidentId": incident_id}, format="json")


def test_post_queues_an_analysis_and_answers_202_with_it(
    operator_client, operator, org, incident, django_capture_on_commit_callbacks
):
    response = request_insight(operator_client, org, incident.pk, django_capture_on_commit_callbacks)

    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["incidentId"], body["organizationId"]) == (incident.pk, str(org.pk))
    assert (body["trigger"], body["requestedBy"]) == ("manual", operator.email)
    assert body["status"] == "pending"  # the task runs after the commit
    assert body["incident"] == {
        "id": incident.pk,
        "title": incident.title,
        "service": "payments-api",
        "severity": "critical",
        "status": "open",
    }
    body = operator_client.get(f"/api/v1/organizations/{org.pk}/insights/{body['id']}").json()
    assert body["status"] == "completed"
    assert body["provider"] == "deterministic" and body["rootCause"]
    assert body["recommendations"] == "\n".join(f"- {step}" for step in body["recommendationList"])
    assert body["sourceProduct"] == "alerting"


def test_post_validates_the_incident(operator_client, org, other_org):
    foreign = Incident.objects.create(organization=other_org, title="theirs", fingerprint="f")

    missing = operator_client.post(f"/api/v1/organizations/{org.pk}/insights", {}, format="json")
    unknown = operator_client.post(
        f"/api/v1/organizations/{org.pk}/insights", {"incidentId": "inc-nope"}, format="json"
    )
    other = operator_client.post(
        f"/api/v1/organizations/{org.pk}/insights", {"incidentId": foreign.pk}, format="json"
    )

    assert missing.status_code == 400
    assert missing.json()["fields"] == {"incidentId": ["This field is required."]}
    assert (unknown.status_code, unknown.json()["code"]) == (404, "not_found")
    assert (other.status_code, other.json()["code"]) == (404, "not_found")
    assert not Analysis.objects.exists()


def test_a_viewer_reads_insights_but_cannot_request_one(viewer_client, org, incident):
    response = viewer_client.post(f"/api/v1/organizations/{org.pk}/insights", {"incidentId": incident.pk})

    assert (response.status_code, response.json()["code"]) == (403, "permission_denied")
    assert viewer_client.get(f"/api/v1/organizations/{org.pk}/insights").json()["count"] == 0


def test_list_filters_and_pages(
    operator_client, org, incident, post_alert, django_capture_on_commit_callbacks
):
    request_insight(operator_client, org, incident.pk, django_capture_on_commit_callbacks)
    disk = {**OOM_ALERT, "title": "disk nearly full", "severity": "info", "service": "db"}
    info_id = post_alert(disk).json()["incident_id"]
    request_insight(operator_client, org, info_id, django_capture_on_commit_callbacks)
    base = f"/api/v1/organizations/{org.pk}/insights"

    everything = operator_client.get(base).json()
    by_incident = operator_client.get(base, {"incidentId": info_id}).json()
    completed = operator_client.get(base, {"status": "completed", "pageSize": 1}).json()
    bad = operator_client.get(base, {"status": "sleeping"})

    assert everything["count"] == 2
    assert [row["incidentId"] for row in everything["results"]] == [info_id, incident.pk]  # newest first
    assert [row["incidentId"] for row in by_incident["results"]] == [info_id]
    assert (completed["count"], len(completed["results"]), completed["next"] is not None) == (2, 1, True)
    assert bad.status_code == 400 and "status" in bad.json()["fields"]


def test_detail_and_events_of_an_insight(operator_client, org, incident, django_capture_on_commit_callbacks):
    queued = request_insight(operator_client, org, incident.pk, django_capture_on_commit_callbacks)
    insight_id = queued.json()["id"]

    detail = operator_client.get(f"/api/v1/organizations/{org.pk}/insights/{insight_id}")
    events = operator_client.get(f"/api/v1/organizations/{org.pk}/insights/{insight_id}/events").json()

    assert detail.status_code == 200 and detail.json()["id"] == insight_id
    assert events["insightId"] == insight_id
    assert [event["eventType"] for event in events["events"]][0] == "queued"
    assert events["events"][-1]["eventType"] == "completed"
    assert events["count"] == len(events["events"])
    assert operator_client.get(f"/api/v1/organizations/{org.pk}/insights/not-a-uuid").status_code == 404


def test_stats_count_by_status_severity_product_and_cache(
    operator_client, org, incident, django_capture_on_commit_callbacks
):
    request_insight(operator_client, org, incident.pk, django_capture_on_commit_callbacks)
    request_insight(operator_client, org, incident.pk, django_capture_on_commit_callbacks)  # a cache hit
    Analysis.objects.create(organization=org, incident=incident)  # one waiting

    stats = operator_client.get(f"/api/v1/organizations/{org.pk}/insights/stats").json()

    assert stats["total"] == 3
    assert stats["byStatus"] == {"pending": 1, "processing": 0, "completed": 2, "failed": 0}
    assert stats["bySeverity"]["critical"] == 2
    assert stats["bySourceProduct"] == {"alerting": 3}
    assert (stats["cacheHits"], stats["cacheHitRate"]) == (1, 0.5)
    assert stats["averageProcessingTimeMs"] is not None
    assert stats["tokens"] == {"input": 0, "output": 0, "total": 0}


def test_diagnosis_queues_then_answers_with_every_documented_field(
    reader, org, incident, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        queued = reader.get(f"/incidents/{incident.pk}/diagnosis", {"log_limit": 5})
    response = reader.get(f"/incidents/{incident.pk}/diagnosis", {"log_limit": 5})

    assert (queued.status_code, queued.json()["status"]) == (202, "pending")
    assert response.status_code == 200, response.content
    body = response.json()
    documented = {
        "incident_id",
        "summary",
        "root_cause",
        "confidence",
        "k8s_context",
        "log_excerpt",
        "matched_playbooks",
        "similar_incidents",
        "deploy_correlation",
        "suggested_actions",
    }
    assert documented <= set(body)
    assert body["incident_id"] == incident.pk and body["status"] == "completed"
    for action in body["suggested_actions"]:
        assert {
            "name",
            "arguments",
            "executable",
            "auto_executable",
            "allowed",
            "approval_required",
            "dry_run",
            "blast_radius",
            "policy_name",
            "policy_reason",
        } <= set(action)
    assert Analysis.objects.filter(incident=incident).count() == 1
    again = reader.get(f"/incidents/{incident.pk}/diagnosis")
    assert again.status_code == 200 and again.json()["analysis_id"] == body["analysis_id"]


def test_diagnosis_without_a_worker_answers_202_pending(reader, incident):
    response = reader.get(f"/incidents/{incident.pk}/diagnosis")  # on_commit never runs in this test

    assert response.status_code == 202
    assert (response.json()["status"], response.json()["summary"]) == ("pending", "")
    again = reader.get(f"/incidents/{incident.pk}/diagnosis").json()
    assert again["analysis_id"] == response.json()["analysis_id"]


@pytest.mark.parametrize("log_limit", ["0", "201", "x"])
def test_diagnosis_rejects_a_bad_log_limit(reader, incident, log_limit):
    response = reader.get(f"/incidents/{incident.pk}/diagnosis", {"log_limit": log_limit})

    assert response.status_code == 422
    assert "log_limit" in response.json()["fields"]


def test_the_list_costs_the_same_queries_for_one_insight_or_many(
    operator_client, org, incident, django_assert_num_queries
):
    base = f"/api/v1/organizations/{org.pk}/insights"
    Analysis.objects.create(organization=org, incident=incident)
    operator_client.get(base)  # warm the credential and tenant lookups
    with CaptureQueriesContext(connection) as one:
        operator_client.get(base)
    Analysis.objects.bulk_create(Analysis(organization=org, incident=incident) for _ in range(20))

    with django_assert_num_queries(len(one.captured_queries)):
        response = operator_client.get(base)

    assert response.json()["count"] == 21
