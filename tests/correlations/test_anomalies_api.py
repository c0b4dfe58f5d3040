"""GET /api/v1/anomalies: filters, limits, keyset paging through page_token, tenancy."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from analyses.models import Incident
from tests.conftest import make_key_client
from tests.correlations.conftest import START

pytestmark = pytest.mark.django_db


def ids(response) -> list[str]:
    return [item["anomaly_id"] for item in response.json()["anomalies"]]


def test_an_anomaly_answers_in_the_documented_shape(org, reader, make_anomaly):
    incident = Incident.objects.create(organization=org, title="CPU", service="payment-api", fingerprint="f")
    anomaly = make_anomaly(org, detected_at=START, anomaly_score=0.93, z_score=4.2, incident=incident)

    body = reader.get("/api/v1/anomalies").json()

    assert body == {
        "anomalies": [
            {
                "anomaly_id": anomaly.pk,
                "service_id": "payment-api",
                "metric_name": "HighCPU",
                "anomaly_score": 0.93,
                "z_score": 4.2,
                "detected_at": "2026-10-01T00:00:00Z",
                "rca_triggered": True,
                "resolved": False,
            }
        ],
        "total": 1,
        "page_token": None,
    }


def test_rca_triggered_and_resolved_follow_the_linked_incident(org, reader, make_anomaly):
    def incident(status: str) -> Incident:
        return Incident.objects.create(organization=org, title=status, status=status, fingerprint=status)

    unlinked = make_anomaly(org, detected_at=START)
    open_one = make_anomaly(org, detected_at=START + timedelta(minutes=1), incident=incident("investigating"))
    resolved = make_anomaly(org, detected_at=START + timedelta(minutes=2), incident=incident("resolved"))
    closed = make_anomaly(org, detected_at=START + timedelta(minutes=3), incident=incident("closed"))

    flags = {
        a["anomaly_id"]: (a["rca_triggered"], a["resolved"])
        for a in reader.get("/api/v1/anomalies").json()["anomalies"]
    }

    assert flags == {
        unlinked.pk: (False, False),
        open_one.pk: (True, False),
        resolved.pk: (True, True),
        closed.pk: (True, True),
    }


def test_an_anomaly_from_the_alerts_webhook_is_listed_and_resolves_with_its_incident(org, reader):
    ingest = make_key_client(org, "ingestion")
    alert = {
        "status": "firing",
        "labels": {"alertname": "HighCPU", "service_id": "payment-api", "severity": "critical"},
        "annotations": {"summary": "CPU usage above 85% for 5 minutes"},
        "startsAt": "2026-04-10T12:00:00Z",
    }
    posted = ingest.post("/api/v1/alerts/webhook", {"alerts": [alert]}, format="json").json()

    listed = reader.get("/api/v1/anomalies").json()["anomalies"]
    ingest.post("/api/v1/alerts/webhook", {"alerts": [alert | {"status": "resolved"}]}, format="json")
    after = reader.get("/api/v1/anomalies").json()["anomalies"]

    assert [(a["anomaly_id"], a["rca_triggered"], a["resolved"]) for a in listed] == [
        (posted["anomaly_id"], posted["rca_triggered"], False)
    ]
    assert after[0]["resolved"] is True


def test_filters_by_service_time_range_and_minimum_score(org, reader, make_anomaly):
    old = make_anomaly(org, detected_at=START, anomaly_score=0.9)
    other_service = make_anomaly(org, detected_at=START + timedelta(hours=1), service_id="checkout")
    low = make_anomaly(org, detected_at=START + timedelta(hours=2), anomaly_score=0.3)
    high = make_anomaly(org, detected_at=START + timedelta(hours=3), anomaly_score=0.8)
    late = make_anomaly(org, detected_at=START + timedelta(hours=5), anomaly_score=0.95)

    def listed(**query) -> tuple[list[str], int]:
        response = reader.get("/api/v1/anomalies", query)
        return ids(response), response.json()["total"]

    assert listed(service_id="checkout") == ([other_service.pk], 1)
    assert listed(since="2026-10-01T01:00:00Z", until="2026-10-01T03:00:00Z") == (
        [high.pk, low.pk, other_service.pk],
        3,
    )
    assert listed(min_score="0.8") == ([late.pk, high.pk, old.pk], 3)
    assert listed(service_id="payment-api", since="2026-10-01T02:30:00+00:00", min_score="0.9") == (
        [late.pk],
        1,
    )


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-13-01T00:00:00Z"}, "until"),
        ({"since": "2026-10-02T00:00:00Z", "until": "2026-10-01T00:00:00Z"}, "until"),
        ({"min_score": "1.5"}, "min_score"),
        ({"min_score": "-0.1"}, "min_score"),
        ({"min_score": "nan"}, "min_score"),
        ({"limit": "0"}, "limit"),
        ({"limit": "1001"}, "limit"),
        ({"limit": "ten"}, "limit"),
    ],
)
def test_bad_input_answers_400_naming_the_field(reader, query, field):
    response = reader.get("/api/v1/anomalies", query)

    assert response.status_code == 400
    assert (response.json()["code"], list(response.json()["fields"])) == ("invalid", [field])


def test_limit_defaults_to_50_and_allows_1000(org, reader, make_anomaly):
    for minute in range(60):
        make_anomaly(org, detected_at=START + timedelta(minutes=minute))

    default = reader.get("/api/v1/anomalies").json()
    largest = reader.get("/api/v1/anomalies", {"limit": 1000}).json()

    assert (len(default["anomalies"]), default["total"], default["page_token"] is not None) == (50, 60, True)
    assert (len(largest["anomalies"]), largest["total"], largest["page_token"]) == (60, 60, None)


def test_paging_walks_every_anomaly_once_newest_first_even_as_new_ones_arrive(org, reader, make_anomaly):
    # Ten anomalies share each timestamp: the id breaks the ties, so no page boundary loses or repeats one.
    made = [make_anomaly(org, detected_at=START + timedelta(minutes=index // 10)) for index in range(120)]
    expected = [a.pk for a in sorted(made, key=lambda a: (a.detected_at, a.pk), reverse=True)]
    seen, token, pages = [], None, 0

    while True:
        response = reader.get("/api/v1/anomalies", {"limit": 50, **({"page_token": token} if token else {})})
        body = response.json()
        seen += ids(response)
        pages += 1
        make_anomaly(org, detected_at=START + timedelta(days=1, minutes=pages))  # newer: never on later pages
        token = body["page_token"]
        if token is None:
            break

    assert pages == 3
    assert seen == expected
    assert body["total"] == 122  # counted as the last page was asked for


def test_a_page_token_that_was_tampered_with_or_made_up_answers_400(org, reader, make_anomaly):
    for minute in range(3):
        make_anomaly(org, detected_at=START + timedelta(minutes=minute))
    token = reader.get("/api/v1/anomalies", {"limit": 1}).json()["page_token"]
    body = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    edited = base64.urlsafe_b64encode(json.dumps(body | {"id": "anom-ffffffffffff"}).encode()).decode()
    unsigned = base64.urlsafe_b64encode(json.dumps({"offset": 50}).encode()).decode()

    for bad in (edited, unsigned, "not base64 at all!", token[:-3], "eyJ"):
        response = reader.get("/api/v1/anomalies", {"page_token": bad})
        assert (response.status_code, list(response.json()["fields"])) == (400, ["page_token"]), bad
    assert reader.get("/api/v1/anomalies", {"page_token": token}).status_code == 200


def test_another_organizations_anomalies_never_appear(org, other_org, reader, viewer_client, make_anomaly):
    ours = make_anomaly(org, detected_at=START)
    for minute in range(5):
        make_anomaly(other_org, detected_at=START + timedelta(minutes=minute), service_id="payment-api")

    by_key = reader.get("/api/v1/anomalies", {"service_id": "payment-api"}).json()
    by_jwt = viewer_client.get("/api/v1/anomalies", {"limit": 1000}).json()
    theirs = make_key_client(other_org, "read").get("/api/v1/anomalies").json()

    assert ([a["anomaly_id"] for a in by_key["anomalies"]], by_key["total"]) == ([ours.pk], 1)
    assert [a["anomaly_id"] for a in by_jwt["anomalies"]] == [ours.pk]
    assert ours.pk not in [a["anomaly_id"] for a in theirs["anomalies"]] and theirs["total"] == 5


def test_anomalies_need_credentials(org):
    response = APIClient().get("/api/v1/anomalies")

    assert response.status_code == 401


def test_the_trailing_slash_form_answers_too(org, reader, make_anomaly):
    make_anomaly(org, detected_at=START)

    assert reader.get("/api/v1/anomalies/").json()["total"] == 1
