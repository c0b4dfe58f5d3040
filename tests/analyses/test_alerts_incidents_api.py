"""Incidents API (003): list with filters and openCount, detail, the status workflow, notes."""

import pytest

from analyses.models import Incident
from analyses.services import incident_record_alert
from webhooks.normalizers.base import NormalizedAlert


def record(org, title="High Error Rate", fingerprint=None, **fields):
    alert = NormalizedAlert(source="webhook", title=title, fingerprint=fingerprint or f"fp-{title}", **fields)
    return incident_record_alert(organization=org, alert=alert).incident


@pytest.fixture
def incident(org):
    return record(
        org,
        rule_id="rule_xyz",
        rule_name="High Error Rate",
        metric="model_usage_error_rate",
        threshold=5,
        actual_value=12.3,
        severity="",
    )


def test_severity_is_computed_from_how_far_the_value_exceeds_the_threshold(org):
    critical = record(org, title="a", threshold=5, actual_value=12.3, severity="")
    warning = record(org, title="b", threshold=100, actual_value=130, severity="")
    info = record(org, title="c", threshold=100, actual_value=110, severity="")

    assert (critical.severity, warning.severity, info.severity) == ("critical", "warning", "info")


def test_get_returns_the_documented_shape(viewer_client, incident):
    response = viewer_client.get(f"/api/alerts/incidents/{incident.pk}")

    assert response.status_code == 200
    body = response.json()["incident"]
    assert {
        k: body[k]
        for k in (
            "_id",
            "ruleId",
            "ruleName",
            "metric",
            "threshold",
            "actualValue",
            "severity",
            "status",
            "notes",
        )
    } == {
        "_id": incident.pk,
        "ruleId": "rule_xyz",
        "ruleName": "High Error Rate",
        "metric": "model_usage_error_rate",
        "threshold": 5.0,
        "actualValue": 12.3,
        "severity": "critical",
        "status": "open",
        "notes": [],
    }
    assert [(h["status"], h["changedBy"]) for h in body["statusHistory"]] == [("open", "system")]
    assert {"createdAt", "updatedAt"} <= set(body)


def test_patch_acknowledges_an_open_incident_and_records_who(operator_client, incident, operator):
    response = operator_client.patch(f"/api/alerts/incidents/{incident.pk}", {"status": "acknowledged"})

    assert response.status_code == 200
    body = response.json()["incident"]
    assert (body["_id"], body["status"]) == (incident.pk, "acknowledged")
    assert [(h["status"], h["changedBy"]) for h in body["statusHistory"]] == [
        ("open", "system"),
        ("acknowledged", operator.email),
    ]
    assert Incident.objects.get(pk=incident.pk).acknowledged_at is not None


def test_forward_moves_may_skip_steps_and_resolved_may_reopen(operator_client, incident):
    path = f"/api/alerts/incidents/{incident.pk}"

    codes = [operator_client.patch(path, {"status": s}).status_code for s in ("resolved", "open", "closed")]

    assert codes == [200, 200, 200]
    history = operator_client.get(path).json()["incident"]["statusHistory"]
    assert [h["status"] for h in history] == ["open", "resolved", "open", "closed"]


def test_closed_is_final(operator_client, incident):
    operator_client.patch(f"/api/alerts/incidents/{incident.pk}", {"status": "closed"})

    response = operator_client.patch(f"/api/alerts/incidents/{incident.pk}", {"status": "open"})

    assert response.status_code == 400
    assert response.json() == {
        "error": f"Incident {incident.pk} cannot move from closed to open.",
        "code": "invalid_transition",
    }


def test_backwards_moves_are_refused(operator_client, incident):
    operator_client.patch(f"/api/alerts/incidents/{incident.pk}", {"status": "investigating"})

    response = operator_client.patch(f"/api/alerts/incidents/{incident.pk}", {"status": "acknowledged"})

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_transition"


def test_an_unknown_status_is_a_field_error(operator_client, incident):
    response = operator_client.patch(f"/api/alerts/incidents/{incident.pk}", {"status": "done"})

    assert response.status_code == 400
    assert response.json()["fields"] == {"status": ['"done" is not a valid choice.']}


def test_a_viewer_cannot_change_status(viewer_client, incident):
    response = viewer_client.patch(f"/api/alerts/incidents/{incident.pk}", {"status": "acknowledged"})

    assert response.status_code == 403
    assert Incident.objects.get(pk=incident.pk).status == "open"


def test_notes_are_appended_and_returned_with_the_incident(operator_client, incident, operator):
    response = operator_client.post(
        f"/api/alerts/incidents/{incident.pk}/notes", {"content": "Investigating upstream provider issues"}
    )

    assert response.status_code == 201
    (note,) = response.json()["incident"]["notes"]
    assert (note["userId"], note["userEmail"], note["content"]) == (
        str(operator.pk),
        operator.email,
        "Investigating upstream provider issues",
    )


@pytest.mark.parametrize("content", ["", "   ", None])
def test_an_empty_note_is_refused(operator_client, incident, content):
    response = operator_client.post(f"/api/alerts/incidents/{incident.pk}/notes", {"content": content})

    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["content"]


def test_list_filters_and_counts_open_incidents(viewer_client, org):
    record(org, title="one", rule_id="r1", severity="critical")
    record(org, title="two", rule_id="r2", severity="warning")
    resolved = record(org, title="three", rule_id="r1", severity="info")
    Incident.objects.filter(pk=resolved.pk).update(status="resolved")

    by_rule = viewer_client.get("/api/alerts/incidents?ruleId=r1").json()
    by_status = viewer_client.get("/api/alerts/incidents?status=resolved").json()
    by_severity = viewer_client.get("/api/alerts/incidents?severity=warning").json()

    assert sorted(i["ruleId"] for i in by_rule["incidents"]) == ["r1", "r1"]
    assert [i["_id"] for i in by_status["incidents"]] == [resolved.pk]
    assert [i["title"] for i in by_severity["incidents"]] == ["two"]
    assert by_rule["openCount"] == 2


def test_list_pages_with_limit_and_skip_newest_first(viewer_client, org):
    ids = [record(org, title=f"t{n}").pk for n in range(5)]

    page = viewer_client.get("/api/alerts/incidents?limit=2&skip=1").json()

    assert [i["_id"] for i in page["incidents"]] == list(reversed(ids))[1:3]
    assert page["total"] == 5


@pytest.mark.parametrize("query", ["status=done", "severity=apocalyptic", "limit=0", "limit=x", "skip=-1"])
def test_bad_list_parameters_are_400(viewer_client, query):
    response = viewer_client.get(f"/api/alerts/incidents?{query}")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_the_list_runs_a_fixed_number_of_queries(viewer_client, org, django_assert_max_num_queries):
    for n in range(15):
        record(org, title=f"q{n}")

    with django_assert_max_num_queries(8):
        response = viewer_client.get("/api/alerts/incidents")

    assert len(response.json()["incidents"]) == 15


def test_an_unknown_incident_is_404(viewer_client, db):
    response = viewer_client.get("/api/alerts/incidents/inc-nothere")

    assert response.json() == {"error": "Incident inc-nothere not found.", "code": "not_found"}
