"""GET /api/v1/rca/correlations over the learned table; the periodic task and its debounced refresh."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
import time_machine
from celery import signals
from django.db import transaction
from django.utils import timezone

from analyses.correlations import service_correlations_learn, service_correlations_refresh_soon
from analyses.models import ServiceCorrelation
from analyses.services import incident_record_alert
from analyses.tasks import service_correlations_learn_task
from tests.conftest import make_key_client
from tests.correlations.test_learner import following
from webhooks.normalizers.base import NormalizedAlert

pytestmark = pytest.mark.django_db


def edge(organization, service: str, related: str, score: float, lag: int) -> None:
    """Both rows of a pair, as the learner stores them."""
    now = timezone.now()
    for origin, other, minutes in ((service, related, lag), (related, service, -lag)):
        direction = "downstream" if minutes > 0 else "upstream" if minutes < 0 else "concurrent"
        ServiceCorrelation.objects.create(
            organization=organization,
            service=origin,
            related_service=other,
            correlation_score=score,
            lag_minutes=minutes,
            support=5,
            direction=direction,
            computed_at=now,
        )


@pytest.fixture
def graph(org):
    """payment-api -> user-service -> email (a chain), database -> payment-api, and a shortcut
    payment-api -> email that is weaker but shorter; cache is concurrent with database."""
    edge(org, "payment-api", "user-service", 0.87, 2)
    edge(org, "database", "payment-api", 0.91, 3)
    edge(org, "user-service", "email", 0.95, 1)
    edge(org, "payment-api", "email", 0.4, 5)
    edge(org, "database", "cache", 0.6, 0)
    edge(org, "cache", "sessions", 0.7, 4)


def related(body: dict) -> list[tuple]:
    return [(c["related_service"], c["depth"], c["via"]) for c in body["correlations"]]


def test_depth_one_answers_the_documented_shape(reader, graph):
    body = reader.get("/api/v1/rca/correlations", {"service_id": "payment-api", "depth": 1}).json()

    assert body["service_id"] == "payment-api"
    assert [
        {k: c[k] for k in ("related_service", "correlation_score", "lag_minutes", "direction")}
        for c in body["correlations"]
    ] == [
        {
            "related_service": "database",
            "correlation_score": 0.91,
            "lag_minutes": -3,
            "direction": "upstream",
        },
        {
            "related_service": "user-service",
            "correlation_score": 0.87,
            "lag_minutes": 2,
            "direction": "downstream",
        },
        {"related_service": "email", "correlation_score": 0.4, "lag_minutes": 5, "direction": "downstream"},
    ]
    assert {c["depth"] for c in body["correlations"]} == {1} and all(
        c["computed_at"] for c in body["correlations"]
    )


def test_breadth_first_reaches_each_service_once_by_its_shortest_path(reader, graph):
    body = reader.get("/api/v1/rca/correlations", {"service_id": "payment-api"}).json()  # depth 3

    # email is one hop away directly: the stronger two-hop path through user-service does not win.
    assert related(body) == [
        ("database", 1, "payment-api"),
        ("user-service", 1, "payment-api"),
        ("email", 1, "payment-api"),
        ("cache", 2, "database"),
        ("sessions", 3, "cache"),
    ]
    assert body["correlations"][3]["direction"] == "concurrent"


def test_depth_bounds_the_walk(reader, graph):
    two = reader.get("/api/v1/rca/correlations", {"service_id": "payment-api", "depth": 2}).json()
    five = reader.get("/api/v1/rca/correlations", {"service_id": "sessions", "depth": 5}).json()

    assert [name for name, _, _ in related(two)] == ["database", "user-service", "email", "cache"]
    assert related(five) == [
        ("cache", 1, "sessions"),
        ("database", 2, "cache"),
        ("payment-api", 3, "database"),
        ("user-service", 4, "payment-api"),
        ("email", 4, "payment-api"),
    ]


def test_an_unknown_service_has_an_empty_graph(reader, graph):
    response = reader.get("/api/v1/rca/correlations", {"service_id": "nope"})

    assert (response.status_code, response.json()) == (200, {"service_id": "nope", "correlations": []})


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({}, "service_id"),
        ({"service_id": ""}, "service_id"),
        ({"service_id": "a", "depth": "0"}, "depth"),
        ({"service_id": "a", "depth": "6"}, "depth"),
        ({"service_id": "a", "depth": "deep"}, "depth"),
    ],
)
def test_bad_input_answers_400_naming_the_field(reader, query, field):
    response = reader.get("/api/v1/rca/correlations", query)

    assert (response.status_code, list(response.json()["fields"])) == (400, [field])


def test_another_organizations_graph_is_invisible(org, other_org, viewer_client, graph):
    edge(other_org, "payment-api", "billing", 0.99, 1)

    ours = viewer_client.get("/api/v1/rca/correlations", {"service_id": "payment-api", "depth": 1}).json()
    theirs = (
        make_key_client(other_org, "read").get("/api/v1/rca/correlations", {"service_id": "database"}).json()
    )

    assert "billing" not in [c["related_service"] for c in ours["correlations"]]
    assert theirs["correlations"] == []


# --- Learning: the task end to end, replacement, the debounced refresh ------------------------------------


def test_the_periodic_task_learns_every_organization_and_the_api_answers(
    org, other_org, reader, make_incidents
):
    rng = random.Random(6)
    now = timezone.now()
    database = [now - timedelta(days=25) + timedelta(seconds=rng.uniform(0, 24 * 86400)) for _ in range(30)]
    make_incidents(org, "database", database)
    make_incidents(org, "payment-api", following(database, rng, 2))
    make_incidents(org, "noise", [now - timedelta(seconds=rng.uniform(3600, 24 * 86400)) for _ in range(30)])
    make_incidents(other_org, "database", database)  # theirs alone: no pair, no edge

    service_correlations_learn_task.delay()  # as beat sends it: fans out per organization

    body = reader.get("/api/v1/rca/correlations", {"service_id": "database"}).json()
    reverse = reader.get("/api/v1/rca/correlations", {"service_id": "payment-api"}).json()
    assert [(c["related_service"], c["lag_minutes"], c["direction"]) for c in body["correlations"]] == [
        ("payment-api", 2, "downstream")
    ]
    assert [(c["related_service"], c["lag_minutes"], c["direction"]) for c in reverse["correlations"]] == [
        ("database", -2, "upstream")
    ]
    assert body["correlations"][0]["correlation_score"] >= 0.9
    assert not ServiceCorrelation.objects.filter(organization=other_org).exists()


def test_relearning_replaces_the_organizations_rows_and_leaves_others_alone(org, other_org, make_incidents):
    edge(org, "stale-a", "stale-b", 0.5, 1)
    edge(other_org, "theirs-a", "theirs-b", 0.5, 1)
    rng = random.Random(3)
    now = timezone.now()
    a = [now - timedelta(seconds=rng.uniform(3600, 20 * 86400)) for _ in range(20)]
    make_incidents(org, "a", a)
    make_incidents(org, "b", following(a, rng, 5))

    service_correlations_learn(organization_id=org.pk)
    service_correlations_learn(organization_id=org.pk)  # twice: the same answer

    assert sorted(
        ServiceCorrelation.objects.filter(organization=org).values_list(
            "service", "related_service", "lag_minutes"
        )
    ) == [
        ("a", "b", 5),
        ("b", "a", -5),
    ]
    assert ServiceCorrelation.objects.filter(organization=other_org).count() == 2


def test_incidents_older_than_the_window_are_forgotten(org, make_incidents):
    rng = random.Random(4)
    long_ago = [timezone.now() - timedelta(days=40, seconds=rng.uniform(0, 5 * 86400)) for _ in range(20)]
    make_incidents(org, "a", long_ago)
    make_incidents(org, "b", following(long_ago, rng, 2))

    assert service_correlations_learn(organization_id=org.pk) == []


@pytest.fixture
def learn_runs():
    """Names of tasks that ran (eagerly, in these tests), from Celery's own signal."""
    runs: list[tuple] = []

    def record(sender=None, args=None, **_):
        if sender.name == "analyses.learn_service_correlations":
            runs.append(tuple(args or ()))

    signals.task_prerun.connect(record, weak=False)
    yield runs
    signals.task_prerun.disconnect(record)


def alert(name: str, service: str = "checkout") -> NormalizedAlert:
    return NormalizedAlert(source="webhook", title=name, fingerprint=name, service=service)


def test_new_incidents_queue_one_refresh_per_debounce_window(
    org, learn_runs, django_capture_on_commit_callbacks
):
    incidents = [incident_record_alert(organization=org, alert=alert(name)).incident for name in "abc"]
    start = timezone.now().replace(minute=0, second=10, microsecond=0)  # early in a debounce window

    with time_machine.travel(start, tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            for incident in incidents:  # a storm: the first wins, the others ride along
                service_correlations_refresh_soon(incident=incident)
        with django_capture_on_commit_callbacks(execute=True):
            service_correlations_refresh_soon(incident=incidents[0])  # a later commit, same window
    assert learn_runs == [(str(org.pk),)]

    with (
        time_machine.travel(start + timedelta(minutes=6), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        service_correlations_refresh_soon(incident=incidents[0])
    assert learn_runs == [(str(org.pk),), (str(org.pk),)]


def test_the_debounce_is_per_organization_and_skips_incidents_without_a_service(
    org, other_org, learn_runs, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        service_correlations_refresh_soon(
            incident=incident_record_alert(organization=org, alert=alert("a")).incident
        )
        service_correlations_refresh_soon(
            incident=incident_record_alert(organization=other_org, alert=alert("b")).incident
        )
        service_correlations_refresh_soon(
            incident=incident_record_alert(organization=org, alert=alert("c", service="")).incident
        )

    assert sorted(learn_runs) == sorted([(str(org.pk),), (str(other_org.pk),)])


def test_a_rolled_back_incident_neither_queues_nor_holds_the_window(
    org, learn_runs, django_capture_on_commit_callbacks
):
    incident = incident_record_alert(organization=org, alert=alert("a")).incident

    with pytest.raises(RuntimeError), transaction.atomic():
        service_correlations_refresh_soon(incident=incident)
        raise RuntimeError("the ingest failed")
    assert learn_runs == []
    with django_capture_on_commit_callbacks(execute=True):
        service_correlations_refresh_soon(incident=incident)

    assert learn_runs == [(str(org.pk),)]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_learners_of_one_organization_take_turns(org, make_incidents):
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    rng = random.Random(5)
    now = timezone.now()
    a = [now - timedelta(seconds=rng.uniform(3600, 20 * 86400)) for _ in range(20)]
    make_incidents(org, "a", a)
    make_incidents(org, "b", following(a, rng, 2))

    def learn(_: int) -> int:
        try:
            return len(service_correlations_learn(organization_id=org.pk))
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        counts = list(pool.map(learn, range(8)))

    assert counts == [2] * 8 and ServiceCorrelation.objects.filter(organization=org).count() == 2
