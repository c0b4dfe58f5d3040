"""AI-SRE incident views: list, detail, timeline, group, metrics, actions; grouping and resolution."""

from datetime import timedelta

from django.utils import timezone

from analyses.models import Incident
from tests.conftest import GENERIC_ALERT


def test_list_shows_the_documented_fields_and_filters_by_state(post_alert, reader, org):
    created = post_alert(GENERIC_ALERT).json()["incident_id"]
    other = post_alert({**GENERIC_ALERT, "title": "Disk full", "service": "db"}).json()["incident_id"]
    Incident.objects.filter(pk=other).update(status="resolved")

    everything = reader.get("/incidents").json()
    open_only = reader.get("/incidents?state=open").json()

    assert everything["count"] == 2
    assert [i["id"] for i in open_only["incidents"]] == [created]
    item = open_only["incidents"][0]
    assert {
        k: item[k]
        for k in (
            "title",
            "severity",
            "source",
            "state",
            "namespace",
            "pod",
            "deployment",
            "resolved_at",
            "workspace_id",
        )
    } == {
        "title": "High CPU on payments-api",
        "severity": "critical",
        "source": "webhook",
        "state": "open",
        "namespace": "production",
        "pod": "payments-api-7d8f9c6b5-x2k4m",
        "deployment": "payments-api",
        "resolved_at": None,
        "workspace_id": "acme",
    }


def test_list_limit_is_bounded_with_422_like_all_aisre_validation(reader, db):
    too_many = reader.get("/incidents?limit=101")

    assert too_many.status_code == reader.get("/incidents?limit=0").status_code == 422
    assert too_many.json() == {
        "error": "Invalid input.",
        "code": "invalid",
        "fields": {"limit": ["Ensure this value is less than or equal to 100."]},
    }


def test_workspace_id_of_another_tenant_is_404(reader, other_org):
    response = reader.get("/incidents?workspace_id=globex")

    assert response.status_code == 404


def test_detail_has_incident_metrics_and_actions(post_alert, reader):
    incident_id = post_alert(GENERIC_ALERT).json()["incident_id"]

    body = reader.get(f"/incidents/{incident_id}").json()

    assert set(body) == {"incident", "metrics", "actions"}
    assert body["incident"]["id"] == incident_id
    assert body["metrics"] == {
        "time_to_first_response_minutes": None,
        "resolution_time_minutes": None,
        "actions_taken": 0,
    }
    assert body["actions"] == []


def test_timeline_lists_every_event_in_order(post_alert, reader, operator_client):
    incident_id = post_alert(GENERIC_ALERT).json()["incident_id"]
    post_alert(GENERIC_ALERT)
    operator_client.patch(f"/api/alerts/incidents/{incident_id}", {"status": "acknowledged"})
    operator_client.post(f"/api/alerts/incidents/{incident_id}/notes", {"content": "looking"})

    body = reader.get(f"/incidents/{incident_id}/timeline").json()

    assert [e["event_type"] for e in body["events"]] == [
        "alert_received",
        "incident_created",
        "deduplicated",
        "status_changed",
        "note_added",
    ]
    assert body["count"] == 5
    assert body["events"][0]["actor"] == "webhook:webhook"
    assert body["events"][3]["payload"] == {"from": "open", "to": "acknowledged"}


def test_metrics_measure_first_response_and_resolution(post_alert, reader, operator_client):
    incident_id = post_alert(GENERIC_ALERT).json()["incident_id"]
    Incident.objects.filter(pk=incident_id).update(created_at=timezone.now() - timedelta(minutes=30))
    operator_client.patch(f"/api/alerts/incidents/{incident_id}", {"status": "acknowledged"})
    operator_client.patch(f"/api/alerts/incidents/{incident_id}", {"status": "resolved"})

    body = reader.get(f"/incidents/{incident_id}/metrics").json()

    assert 29.9 < body["summary"]["time_to_first_response_minutes"] < 30.5
    assert 29.9 < body["summary"]["resolution_time_minutes"] < 30.5
    assert [p["metric_name"] for p in body["timeline"]] == [
        "time_to_first_response_minutes",
        "resolution_time_minutes",
    ]


def test_a_new_incident_of_the_same_service_within_the_window_joins_the_group(post_alert, reader):
    parent = post_alert(GENERIC_ALERT).json()
    child = post_alert({**GENERIC_ALERT, "title": "Latency high on payments-api", "severity": "high"}).json()

    group = reader.get(f"/incidents/{parent['incident_id']}/group").json()
    child_group = reader.get(f"/incidents/{child['incident_id']}/group").json()

    assert child["group_id"] == parent["incident_id"]
    assert (child["deduplicated"], child["incident_id"] != parent["incident_id"]) == (False, True)
    assert group == {
        "incident_id": parent["incident_id"],
        "parent_id": None,
        "correlation_reason": None,
        "children": [
            {"incident_id": child["incident_id"], "correlation_reason": "same_service_within_window"}
        ],
        "is_parent": True,
    }
    assert (child_group["parent_id"], child_group["is_parent"]) == (parent["incident_id"], False)


def test_outside_the_window_there_is_no_group(post_alert, settings):
    parent = post_alert(GENERIC_ALERT).json()["incident_id"]
    Incident.objects.filter(pk=parent).update(created_at=timezone.now() - timedelta(minutes=11))

    child = post_alert({**GENERIC_ALERT, "title": "Latency high on payments-api"}).json()

    assert child["group_id"] is None


def test_same_title_and_service_with_another_fingerprint_is_deduplicated_by_title_service(post_alert):
    first = post_alert({**GENERIC_ALERT, "fingerprint": "a"}).json()

    second = post_alert({**GENERIC_ALERT, "fingerprint": "b"}).json()

    assert (second["incident_id"], second["dedup_strategy"]) == (first["incident_id"], "title_service")


def test_a_resolved_alert_resolves_its_incident_and_says_so_on_the_timeline(post_alert, reader):
    incident_id = post_alert(GENERIC_ALERT).json()["incident_id"]

    resolved = post_alert({**GENERIC_ALERT, "status": "resolved"}).json()

    assert resolved["incident_id"] == incident_id
    assert resolved["incidents"][0]["resolved"] is True
    incident = Incident.objects.get(pk=incident_id)
    assert (incident.status, incident.resolved_at is not None) == ("resolved", True)
    events = reader.get(f"/incidents/{incident_id}/timeline").json()["events"]
    assert [e["event_type"] for e in events][-2:] == ["alert_resolved", "status_changed"]
    assert events[-1]["actor"] == "system:webhook:webhook"


def test_after_resolution_the_same_alert_opens_a_new_incident(post_alert):
    first = post_alert(GENERIC_ALERT).json()["incident_id"]
    post_alert({**GENERIC_ALERT, "status": "resolved"})

    again = post_alert(GENERIC_ALERT).json()

    assert again["incident_id"] != first and again["deduplicated"] is False


def test_a_worse_repeat_raises_the_severity(post_alert):
    first = post_alert({**GENERIC_ALERT, "severity": "warning"}).json()["incident_id"]

    post_alert({**GENERIC_ALERT, "severity": "critical"})

    assert Incident.objects.get(pk=first).severity == "critical"


def test_actions_are_listed_empty_until_remediation_runs(post_alert, reader):
    incident_id = post_alert(GENERIC_ALERT).json()["incident_id"]

    assert reader.get(f"/incidents/{incident_id}/actions").json() == {
        "incident_id": incident_id,
        "actions": [],
        "count": 0,
    }
