"""similar_incidents(): ranking, tenancy, resolutions and bounds, on SQLite and (in CI) PostgreSQL."""

from __future__ import annotations

import pytest

from analyses.models import KnowledgeBaseEntry
from analyses.similarity import similar_incidents

UNRELATED = [
    ("High CPU on checkout-api", "checkout-api", "HighCPUUsage"),
    ("Disk usage above 90% on ip-10-0-1-11", "", "DiskPressure"),
    ("TLS certificate for auth-service expires in 7 days", "auth-service", "CertificateExpiry"),
    ("Replication lag on postgres-main above 30s", "postgres-main", "ReplicationLag"),
    ("p99 latency above 2s on search-api", "search-api", "HighLatency"),
]


@pytest.fixture
def history(org, make_incident):
    for number in range(30):  # enough history that every backend has to choose
        title, service, alertname = UNRELATED[number % len(UNRELATED)]
        make_incident(org, title, service=service, alertname=alertname, days_ago=2 + number)
    return {
        "oom": make_incident(
            org,
            "OOMKilled on payments-api",
            service="payments-api",
            alertname="OOMKilled",
            description="Container payments-api was OOMKilled; memory limit 512Mi.",
            days_ago=40,
        ),
        "crash": make_incident(
            org, "KubePodCrashLooping: orders-api", service="orders-api", alertname="KubePodCrashLooping"
        ),
    }


def test_the_same_problem_ranks_above_unrelated_incidents(org, history, make_incident):
    new = make_incident(
        org,
        "payments-api pod OOMKilled",
        service="payments-api",
        alertname="OOMKilled",
        description="Pod payments-api-7d8f9c6b5-x2k4m OOMKilled 3 times.",
        status="open",
        days_ago=0,
    )

    found = similar_incidents(incident=new)

    assert found[0].id == history["oom"].pk
    assert found[0].similarity_score >= 0.5
    assert all(item.similarity_score < found[0].similarity_score for item in found[1:])
    assert new.pk not in [item.id for item in found]
    assert (found[0].title, found[0].service, found[0].state, found[0].severity) == (
        "OOMKilled on payments-api",
        "payments-api",
        "resolved",
        "warning",
    )


def test_a_shared_alertname_ranks_a_differently_worded_title(org, history, make_incident):
    new = make_incident(
        org, "orders-api pod crash looping", service="orders-api", alertname="KubePodCrashLooping"
    )

    found = similar_incidents(incident=new)

    assert found[0].id == history["crash"].pk


def test_another_organizations_identical_incident_never_appears(org, other_org, history, make_incident):
    theirs = make_incident(
        other_org, "OOMKilled on payments-api", service="payments-api", alertname="OOMKilled"
    )
    KnowledgeBaseEntry.objects.create(
        organization=other_org, incident=theirs, service_id="payments-api", resolution="Their secret fix"
    )

    found = similar_incidents(incident=history["oom"], min_score=0)

    assert theirs.pk not in {item.id for item in found}
    assert "Their secret fix" not in {item.resolution for item in found}
    assert similar_incidents(incident=theirs) == []


def test_the_resolution_comes_from_the_incidents_own_latest_entry(org, history, make_incident):
    old = history["oom"]
    KnowledgeBaseEntry.objects.create(
        organization=org, incident=old, service_id="payments-api", resolution="Restarted the pod"
    )
    KnowledgeBaseEntry.objects.create(
        organization=org, incident=old, service_id="payments-api", resolution="Increased memory limit to 1Gi"
    )
    new = make_incident(org, "payments-api pod OOMKilled", service="payments-api", alertname="OOMKilled")

    found = similar_incidents(incident=new)

    assert (found[0].id, found[0].resolution) == (old.pk, "Increased memory limit to 1Gi")


def test_without_its_own_entry_the_services_matching_resolution_is_shown(org, history, make_incident):
    KnowledgeBaseEntry.objects.create(  # same service, names the alert: shown
        organization=org, service_id="payments-api", resolution="OOMKilled again: raised the limit to 2Gi"
    )
    KnowledgeBaseEntry.objects.create(  # later, same service, about something else: not shown
        organization=org, service_id="payments-api", resolution="Renewed the TLS certificate"
    )
    KnowledgeBaseEntry.objects.create(  # names the alert, another service: not shown
        organization=org, service_id="orders-api", resolution="OOMKilled: fixed the leak"
    )
    new = make_incident(org, "payments-api pod OOMKilled", service="payments-api", alertname="OOMKilled")

    found = similar_incidents(incident=new)

    assert (found[0].id, found[0].resolution) == (
        history["oom"].pk,
        "OOMKilled again: raised the limit to 2Gi",
    )
    unrelated = [item for item in found if item.service != "payments-api"]
    assert all(item.resolution == "" for item in unrelated)


def test_limit_and_min_score_bound_the_answer(org, history, make_incident):
    new = make_incident(org, "High CPU on checkout-api", service="checkout-api", alertname="HighCPUUsage")

    everything = similar_incidents(incident=new, limit=50, min_score=0)
    three = similar_incidents(incident=new, limit=3, min_score=0)
    strong = similar_incidents(incident=new, limit=50, min_score=0.9)

    assert len(everything) >= 6  # the other CPU incidents; on SQLite more, PostgreSQL reads text matches
    assert three == everything[:3]
    assert strong and all(item.similarity_score >= 0.9 for item in strong)
    assert {item.title for item in strong} == {"High CPU on checkout-api"}
    assert all(0 <= item.similarity_score <= 1 for item in everything)
    assert all(round(item.similarity_score, 2) == item.similarity_score for item in everything)


def test_an_incident_alone_in_its_organization_has_no_similar_ones(org, make_incident):
    only = make_incident(org, "OOMKilled on payments-api", service="payments-api")

    assert similar_incidents(incident=only) == []


def test_titles_with_tsquery_syntax_are_searched_as_plain_words(org, history, make_incident):
    new = make_incident(org, "OOMKilled: payments-api & (orders-api) | !'memory':* <-> \\", service="x")

    found = similar_incidents(incident=new)

    assert found[0].id == history["oom"].pk


def test_the_query_count_does_not_grow_with_the_history(
    org, history, make_incident, django_assert_max_num_queries
):
    for number in range(15):
        earlier = make_incident(org, f"OOMKilled on payments-api ({number})", service="payments-api")
        KnowledgeBaseEntry.objects.create(organization=org, incident=earlier, resolution=f"fix {number}")
    new = make_incident(org, "payments-api pod OOMKilled", service="payments-api", alertname="OOMKilled")

    with django_assert_max_num_queries(4):  # candidates (two when widened), own and service resolutions
        found = similar_incidents(incident=new, limit=50, min_score=0.3)

    assert len(found) == 16
    assert sum(item.resolution.startswith("fix ") for item in found) == 15
