"""GET /incidents/{incident_id}/similar (AI-SRE): the documented shape, tenancy, limit validation."""

from __future__ import annotations

import pytest

from analyses.models import KnowledgeBaseEntry


@pytest.fixture
def pair(org, make_incident):
    old = make_incident(org, "OOMKilled on payments-api", service="payments-api", alertname="OOMKilled")
    KnowledgeBaseEntry.objects.create(
        organization=org, incident=old, service_id="payments-api", resolution="Increased memory limit to 1Gi"
    )
    make_incident(org, "Disk usage above 90% on ip-10-0-1-11", alertname="DiskPressure")
    new = make_incident(
        org, "payments-api pod OOMKilled", service="payments-api", alertname="OOMKilled", status="open"
    )
    return old, new


def test_answers_the_documented_shape_with_the_resolution(reader, pair):
    old, new = pair

    response = reader.get(f"/incidents/{new.pk}/similar")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"incident_id", "similar_incidents", "count"}
    assert (body["incident_id"], body["count"]) == (new.pk, len(body["similar_incidents"]))
    first = body["similar_incidents"][0]
    assert set(first) == {"id", "title", "similarity_score", "severity", "state", "created_at", "resolution"}
    assert {k: first[k] for k in ("id", "title", "severity", "state", "resolution")} == {
        "id": old.pk,
        "title": "OOMKilled on payments-api",
        "severity": "warning",
        "state": "resolved",
        "resolution": "Increased memory limit to 1Gi",
    }
    assert 0.5 <= first["similarity_score"] <= 1


def test_limit_caps_the_list_and_both_slashes_answer(reader, pair, make_incident, org):
    _, new = pair
    for number in range(4):
        make_incident(org, f"OOMKilled on payments-api again {number}", service="payments-api")

    response = reader.get(f"/incidents/{new.pk}/similar/?limit=2")

    assert response.status_code == 200
    assert response.json()["count"] == 2


@pytest.mark.parametrize("limit", ["0", "51", "ten", "-1"])
def test_a_limit_outside_1_to_50_is_422(reader, pair, limit):
    _, new = pair

    response = reader.get(f"/incidents/{new.pk}/similar?limit={limit}")

    assert response.status_code == 422
    assert response.json()["code"] == "invalid"
    assert set(response.json()["fields"]) == {"limit"}


def test_another_organizations_incident_is_404(other_admin_client, pair):
    _, new = pair

    response = other_admin_client.get(f"/incidents/{new.pk}/similar")

    assert response.status_code == 404
    assert new.pk in response.json()["error"]


def test_a_missing_incident_is_404_and_anonymous_is_401(reader, api_client, pair):
    _, new = pair

    assert reader.get("/incidents/inc-000000000000/similar").status_code == 404
    assert api_client.get(f"/incidents/{new.pk}/similar").status_code == 401


def test_the_request_runs_a_bounded_number_of_queries(
    reader, pair, make_incident, org, django_assert_max_num_queries
):
    _, new = pair
    for number in range(40):
        make_incident(
            org, f"payments-api pod OOMKilled {number}", service="payments-api", alertname="OOMKilled"
        )

    with django_assert_max_num_queries(8):  # key and tenant, the incident, then at most four searching
        response = reader.get(f"/incidents/{new.pk}/similar?limit=50")

    assert response.json()["count"] > 40
