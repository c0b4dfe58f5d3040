"""Statux RCA documents: create, read, list with filters, update, the status workflow, delete, stats."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from rca.models import Rca, RcaRevision
from rca.services import rca_action_item_create, rca_create, rca_update
from statux.audit import Actor
from statux.models import AuditLog
from tests.factories import UserFactory
from tests.rca.factories import RcaActionItemFactory, RcaFactory

pytestmark = pytest.mark.django_db

RCA_KEYS = {
    "id",
    "organizationId",
    "title",
    "status",
    "summary",
    "rootCause",
    "impact",
    "timeline",
    "createdBy",
    "createdById",
    "publishedAt",
    "editedFields",
    "generation",
    "createdAt",
    "updatedAt",
}


def test_an_operator_creates_a_draft_and_is_its_author(operator_client, rcas_url, org, operator):
    response = operator_client.post(
        rcas_url, {"title": "Checkout outage", "rootCause": "A bad deploy", "summary": ""}
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == RCA_KEYS
    assert (body["title"], body["status"], body["rootCause"], body["summary"]) == (
        "Checkout outage",
        "draft",
        "A bad deploy",
        "",
    )
    assert (body["createdBy"], body["createdById"], body["organizationId"]) == (
        operator.email,
        str(operator.pk),
        str(org.pk),
    )
    assert body["editedFields"] == ["rootCause"]
    assert body["generation"] == {
        "status": "idle",
        "error": "",
        "requestedAt": None,
        "startedAt": None,
        "completedAt": None,
        "provider": "",
        "model": "",
        "inputTokens": 0,
        "outputTokens": 0,
        "skippedFields": [],
    }
    assert AuditLog.objects.filter(action="rca.created", target_id=body["id"]).count() == 1


def test_create_without_a_title_is_400_with_the_field(operator_client, rcas_url):
    response = operator_client.post(rcas_url, {"summary": "no title"})

    assert response.status_code == 400
    assert response.json()["fields"] == {"title": ["This field is required."]}


def test_a_viewer_reads_but_cannot_write(viewer_client, rcas_url, rca):
    listing = viewer_client.get(rcas_url)
    created = viewer_client.post(rcas_url, {"title": "Mine"})
    patched = viewer_client.patch(f"{rcas_url}/{rca.pk}", {"title": "Theirs"})
    deleted = viewer_client.delete(f"{rcas_url}/{rca.pk}")

    assert (listing.status_code, listing.json()["count"]) == (200, 1)
    assert [r.status_code for r in (created, patched, deleted)] == [403, 403, 403]
    assert {r.json()["code"] for r in (created, patched, deleted)} == {"permission_denied"}
    assert Rca.objects.get(pk=rca.pk).title == "Checkout outage"


def test_get_answers_the_rca_with_and_without_a_trailing_slash(viewer_client, rcas_url, rca):
    plain = viewer_client.get(f"{rcas_url}/{rca.pk}")
    slashed = viewer_client.get(f"{rcas_url}/{rca.pk}/")

    assert plain.status_code == slashed.status_code == 200
    assert plain.json()["id"] == slashed.json()["id"] == str(rca.pk)


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_another_organizations_rca_is_404(operator_client, rcas_url, other_org, method):
    theirs = RcaFactory(organization=other_org)

    response = getattr(operator_client, method)(f"{rcas_url}/{theirs.pk}", {})

    assert response.status_code == 404
    assert response.json() == {"error": f"RCA {theirs.pk} not found.", "code": "not_found"}
    assert Rca.objects.filter(pk=theirs.pk).exists()


def test_a_malformed_rca_id_is_404_not_500(viewer_client, rcas_url):
    response = viewer_client.get(f"{rcas_url}/not-a-uuid")

    assert (response.status_code, response.json()["code"]) == (404, "not_found")


def test_another_organizations_list_is_not_served(operator_client, other_org):
    RcaFactory(organization=other_org)

    response = operator_client.get(f"/api/v1/organizations/{other_org.slug}/rcas")

    assert (response.status_code, response.json()["code"]) == (404, "not_found")


# --- List: filters, search, ordering ---------------------------------------------------------------------


@pytest.fixture
def three_rcas(org, operator, owner):
    with time_machine.travel(timezone.now() - timedelta(days=10), tick=False):
        old = rca_create(organization=org, title="Alpha DNS failure", actor=Actor(user=owner))
    middle = rca_create(
        organization=org,
        title="Beta outage",
        root_cause="Connection pool exhausted",
        actor=Actor(user=operator),
    )
    new = rca_create(organization=org, title="Gamma latency", summary="Slow DNS", actor=Actor(user=operator))
    rca_update(rca=new, status="in_review", actor=Actor(user=operator))
    return old, middle, new


def _titles(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [rca["title"] for rca in response.json()["results"]]


def test_the_list_is_newest_first_in_the_statux_envelope(viewer_client, rcas_url, three_rcas):
    response = viewer_client.get(rcas_url)

    assert set(response.json()) == {"count", "next", "previous", "results"}
    assert response.json()["count"] == 3
    assert _titles(response) == ["Gamma latency", "Beta outage", "Alpha DNS failure"]


def test_the_list_filters_by_status(viewer_client, rcas_url, three_rcas):
    assert _titles(viewer_client.get(rcas_url, {"status": "in_review"})) == ["Gamma latency"]


def test_the_list_filters_by_creator_id_or_email(viewer_client, rcas_url, three_rcas, owner):
    by_id = viewer_client.get(rcas_url, {"createdBy": str(owner.pk)})
    by_email = viewer_client.get(rcas_url, {"createdBy": "OWNER@acme.test"})

    assert _titles(by_id) == _titles(by_email) == ["Alpha DNS failure"]


def test_q_searches_title_summary_and_root_cause(viewer_client, rcas_url, three_rcas):
    assert _titles(viewer_client.get(rcas_url, {"q": "dns"})) == ["Gamma latency", "Alpha DNS failure"]
    assert _titles(viewer_client.get(rcas_url, {"q": "pool"})) == ["Beta outage"]


def test_the_list_filters_by_creation_dates(viewer_client, rcas_url, three_rcas):
    cutoff = (timezone.now() - timedelta(days=5)).isoformat()

    assert _titles(viewer_client.get(rcas_url, {"createdBefore": cutoff})) == ["Alpha DNS failure"]
    assert len(_titles(viewer_client.get(rcas_url, {"createdAfter": cutoff}))) == 2


def test_the_list_orders_by_title(viewer_client, rcas_url, three_rcas):
    assert _titles(viewer_client.get(rcas_url, {"ordering": "-title"})) == [
        "Gamma latency",
        "Beta outage",
        "Alpha DNS failure",
    ]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "closed"}, "status"),
        ({"ordering": "severity"}, "ordering"),
        ({"createdAfter": "x"}, "createdAfter"),
    ],
)
def test_an_unknown_filter_value_is_400_naming_it(viewer_client, rcas_url, params, field):
    response = viewer_client.get(rcas_url, params)

    assert response.status_code == 400
    assert list(response.json()["fields"]) == [field]


def test_the_list_runs_a_fixed_number_of_queries(viewer_client, rcas_url, org, django_assert_max_num_queries):
    creators = [UserFactory() for _ in range(5)]
    for user in creators:
        rca_create(organization=org, title=f"By {user.email}", actor=Actor(user=user))

    with django_assert_max_num_queries(8):  # auth + membership + page (+ count), whatever the page holds
        response = viewer_client.get(rcas_url)

    assert response.json()["count"] == 5


# --- Update and workflow ---------------------------------------------------------------------------------


def test_patch_changes_text_and_keeps_the_previous_in_history(operator_client, rcas_url, rca, operator):
    rca_update(rca=rca, summary="First words", actor=Actor(user=operator))

    response = operator_client.patch(f"{rcas_url}/{rca.pk}", {"summary": "Better words", "title": "Renamed"})

    assert response.status_code == 200, response.content
    assert (response.json()["summary"], response.json()["title"]) == ("Better words", "Renamed")
    assert response.json()["editedFields"] == ["summary"]
    assert list(
        RcaRevision.objects.filter(rca=rca).values_list(
            "field", "previous_text", "new_text", "source", "actor"
        )
    ) == [
        ("summary", "", "First words", "person", operator.email),
        ("summary", "First words", "Better words", "person", operator.email),
    ]


def test_the_revisions_endpoint_lists_the_history(viewer_client, rcas_url, rca, operator):
    rca_update(rca=rca, root_cause="Pool exhausted", actor=Actor(user=operator))

    response = viewer_client.get(f"{rcas_url}/{rca.pk}/revisions")

    assert response.status_code == 200
    (revision,) = response.json()["results"]
    assert {k: revision[k] for k in ("field", "previousText", "newText", "source", "applied", "actor")} == {
        "field": "rootCause",
        "previousText": "",
        "newText": "Pool exhausted",
        "source": "person",
        "applied": True,
        "actor": operator.email,
    }


def test_the_workflow_goes_through_review_to_published(operator_client, rcas_url, rca):
    in_review = operator_client.patch(f"{rcas_url}/{rca.pk}", {"status": "in_review"})
    published = operator_client.patch(f"{rcas_url}/{rca.pk}", {"status": "published"})

    assert (in_review.status_code, in_review.json()["status"], in_review.json()["publishedAt"]) == (
        200,
        "in_review",
        None,
    )
    assert (published.status_code, published.json()["status"]) == (200, "published")
    assert published.json()["publishedAt"] is not None
    assert AuditLog.objects.filter(action="rca.published", target_id=str(rca.pk)).count() == 1


def test_a_published_rca_goes_back_to_draft_to_be_revised(operator_client, rcas_url, rca, operator):
    rca_update(rca=rca, status="in_review", actor=Actor(user=operator))
    rca_update(rca=rca, status="published", actor=Actor(user=operator))

    response = operator_client.patch(f"{rcas_url}/{rca.pk}", {"status": "draft"})

    assert (response.status_code, response.json()["status"]) == (200, "draft")


def test_a_draft_cannot_skip_review(operator_client, rcas_url, rca):
    response = operator_client.patch(f"{rcas_url}/{rca.pk}", {"status": "published"})

    assert response.status_code == 400
    assert response.json() == {
        "error": f"RCA {rca.pk} cannot move from draft to published; allowed: in_review.",
        "code": "invalid_transition",
    }
    assert Rca.objects.get(pk=rca.pk).status == "draft"


def test_an_unknown_status_is_400(operator_client, rcas_url, rca):
    response = operator_client.patch(f"{rcas_url}/{rca.pk}", {"status": "archived"})

    assert (response.status_code, list(response.json()["fields"])) == (400, ["status"])


def test_delete_removes_the_rca_and_is_audited(operator_client, rcas_url, rca):
    response = operator_client.delete(f"{rcas_url}/{rca.pk}")

    assert response.status_code == 204
    assert not Rca.objects.filter(pk=rca.pk).exists()
    assert AuditLog.objects.filter(action="rca.deleted", target_id=str(rca.pk)).count() == 1


# --- Stats -----------------------------------------------------------------------------------------------


def test_stats_count_statuses_action_items_time_to_publish_and_months(
    viewer_client, rcas_url, org, operator, other_org
):
    actor = Actor(user=operator)
    now = timezone.now()
    with time_machine.travel(now - timedelta(days=40), tick=False):
        slow = rca_create(organization=org, title="Slow to publish", actor=actor)
    rca_update(rca=slow, status="in_review", actor=actor)
    with time_machine.travel(slow.created_at + timedelta(hours=10), tick=False):
        rca_update(rca=slow, status="published", actor=actor)
    with time_machine.travel(now - timedelta(hours=2), tick=False):
        quick = rca_create(organization=org, title="Quick", actor=actor)
        rca_update(rca=quick, status="in_review", actor=actor)
    with time_machine.travel(now, tick=False):
        rca_update(rca=quick, status="published", actor=actor)
    draft = rca_create(organization=org, title="Draft", actor=actor)
    yesterday = timezone.localdate() - timedelta(days=1)
    for status, due in [("open", yesterday), ("open", None), ("in_progress", yesterday), ("done", yesterday)]:
        rca_action_item_create(rca=draft, title=status, status=status, due_date=due, actor=actor)
    rca_action_item_create(rca=draft, title="dropped", status="cancelled", actor=actor)
    RcaActionItemFactory(rca=RcaFactory(organization=other_org), due_date=yesterday)  # not counted

    response = viewer_client.get(f"{rcas_url}/stats")

    assert response.status_code == 200
    body = response.json()
    assert body["byStatus"] == {"draft": 1, "in_review": 0, "published": 2}
    assert body["total"] == 3
    assert body["actionItems"] == {"open": 2, "inProgress": 1, "done": 1, "cancelled": 1, "overdue": 2}
    assert body["meanTimeToPublishHours"] == 6.0  # (10 h + 2 h) / 2
    assert len(body["perMonth"]) == 12
    assert body["perMonth"][-1]["month"] == now.strftime("%Y-%m")
    assert sum(month["count"] for month in body["perMonth"]) == 3
    slow_month = slow.created_at.strftime("%Y-%m")
    assert {m["month"]: m["count"] for m in body["perMonth"]}[slow_month] >= 1


def test_stats_of_an_empty_organization_are_zeros(viewer_client, rcas_url):
    body = viewer_client.get(f"{rcas_url}/stats").json()

    assert body["byStatus"] == {"draft": 0, "in_review": 0, "published": 0}
    assert body["meanTimeToPublishHours"] is None
    assert body["actionItems"]["overdue"] == 0
