"""Statux RCA incident search, incident links and action items."""

from __future__ import annotations

from datetime import date

import pytest

from rca.models import RcaActionItem, RcaIncidentLink
from rca.services import rca_action_item_create, rca_link_incident
from statux.audit import Actor
from statux.models import AuditLog
from tests.factories import UserFactory
from tests.rca.conftest import make_incident
from tests.rca.factories import RcaActionItemFactory, RcaFactory

pytestmark = pytest.mark.django_db


# --- search-incidents ------------------------------------------------------------------------------------


@pytest.fixture
def incidents(org, other_org):
    payments = make_incident(org, title="High CPU on payments-api", service="payments-api")
    checkout = make_incident(org, title="OOMKilled: checkout-api", service="checkout-api")
    make_incident(other_org, title="High CPU on payments-api (theirs)", service="payments-api")
    return payments, checkout


def test_search_finds_local_incidents_by_title_service_or_id(viewer_client, rcas_url, incidents):
    payments, checkout = incidents

    by_title = viewer_client.get(f"{rcas_url}/search-incidents", {"q": "cpu"}).json()
    by_service = viewer_client.get(f"{rcas_url}/search-incidents", {"q": "checkout"}).json()
    by_id = viewer_client.get(f"{rcas_url}/search-incidents", {"q": payments.pk}).json()

    assert by_title["count"] == 1
    assert by_title["results"][0] == {
        "product": "statux",
        "incidentId": payments.pk,
        "externalId": payments.pk,
        "title": "High CPU on payments-api",
        "service": "payments-api",
        "severity": "critical",
        "status": "open",
        "createdAt": by_title["results"][0]["createdAt"],
        "url": "",
    }
    assert [r["incidentId"] for r in by_service["results"]] == [checkout.pk]
    assert [r["incidentId"] for r in by_id["results"]] == [payments.pk]


def test_search_without_q_lists_recent_incidents_of_this_organization_only(
    viewer_client, rcas_url, incidents
):
    body = viewer_client.get(f"{rcas_url}/search-incidents").json()

    assert [r["title"] for r in body["results"]] == ["OOMKilled: checkout-api", "High CPU on payments-api"]


def test_search_offers_another_products_incident_by_reference(viewer_client, rcas_url, incidents):
    body = viewer_client.get(f"{rcas_url}/search-incidents", {"q": "Alerting:INC-42"}).json()

    assert body["results"] == [
        {
            "product": "alerting",
            "incidentId": None,
            "externalId": "INC-42",
            "title": "",
            "service": "",
            "severity": None,
            "status": None,
            "createdAt": None,
            "url": "",
        }
    ]


def test_search_limit_out_of_range_is_400(viewer_client, rcas_url):
    response = viewer_client.get(f"{rcas_url}/search-incidents", {"limit": 500})

    assert (response.status_code, list(response.json()["fields"])) == (400, ["limit"])


# --- Incident links --------------------------------------------------------------------------------------


def test_an_operator_links_a_local_incident(operator_client, rcas_url, rca, incident, operator):
    response = operator_client.post(f"{rcas_url}/{rca.pk}/incidents", {"incidentId": incident.pk})

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["product"], body["incidentId"], body["externalId"], body["title"]) == (
        "statux",
        incident.pk,
        incident.pk,
        incident.title,
    )
    assert body["incident"]["service"] == "checkout-api"
    assert (body["linkedBy"], body["linkedById"]) == (operator.email, str(operator.pk))
    assert AuditLog.objects.filter(action="rca.incident_linked", target_id=str(rca.pk)).count() == 1


def test_an_operator_links_another_products_incident(operator_client, rcas_url, rca):
    response = operator_client.post(
        f"{rcas_url}/{rca.pk}/incidents",
        {
            "product": "statuspages",
            "externalId": "SP-7",
            "title": "Degraded checkout",
            "url": "https://status.example/i/7",
        },
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["product"], body["incidentId"], body["externalId"], body["incident"], body["url"]) == (
        "statuspages",
        None,
        "SP-7",
        None,
        "https://status.example/i/7",
    )


def test_linking_the_same_incident_twice_is_409(operator_client, rcas_url, linked_rca, incident):
    response = operator_client.post(f"{rcas_url}/{linked_rca.pk}/incidents", {"incidentId": incident.pk})

    assert response.status_code == 409
    assert response.json() == {
        "error": f"statux:{incident.pk} is already linked to RCA {linked_rca.pk}.",
        "code": "conflict",
    }
    assert RcaIncidentLink.objects.filter(rca=linked_rca).count() == 1


def test_linking_the_same_external_incident_twice_is_409(operator_client, rcas_url, rca):
    payload = {"product": "alerting", "externalId": "INC-42"}
    first = operator_client.post(f"{rcas_url}/{rca.pk}/incidents", payload)

    second = operator_client.post(f"{rcas_url}/{rca.pk}/incidents", payload)

    assert (first.status_code, second.status_code) == (201, 409)


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({}, {"product", "externalId"}),
        ({"product": "alerting"}, {"externalId"}),
        ({"product": "statux", "externalId": "x"}, {"product"}),
        ({"incidentId": "inc-1", "product": "alerting"}, {"incidentId"}),
        ({"product": "alerting", "externalId": "A-1", "url": "javascript:alert(1)"}, {"url"}),
    ],
)
def test_a_malformed_link_is_400(operator_client, rcas_url, rca, payload, fields):
    response = operator_client.post(f"{rcas_url}/{rca.pk}/incidents", payload)

    assert response.status_code == 400
    assert set(response.json()["fields"]) == fields


def test_linking_another_organizations_incident_is_404(operator_client, rcas_url, rca, other_org):
    theirs = make_incident(other_org)

    response = operator_client.post(f"{rcas_url}/{rca.pk}/incidents", {"incidentId": theirs.pk})

    assert response.status_code == 404
    assert response.json() == {"error": f"Incident {theirs.pk} not found.", "code": "not_found"}


def test_a_viewer_lists_links_but_cannot_link(viewer_client, rcas_url, linked_rca, incident):
    listing = viewer_client.get(f"{rcas_url}/{linked_rca.pk}/incidents")
    linking = viewer_client.post(
        f"{rcas_url}/{linked_rca.pk}/incidents", {"product": "alerting", "externalId": "1"}
    )

    assert [link["incidentId"] for link in listing.json()["results"]] == [incident.pk]
    assert (linking.status_code, linking.json()["code"]) == (403, "permission_denied")


def test_unlink_removes_the_link(operator_client, rcas_url, linked_rca):
    link = RcaIncidentLink.objects.get(rca=linked_rca)

    response = operator_client.delete(f"{rcas_url}/{linked_rca.pk}/incidents/{link.pk}")

    assert response.status_code == 204
    assert not RcaIncidentLink.objects.filter(pk=link.pk).exists()
    assert AuditLog.objects.filter(action="rca.incident_unlinked").count() == 1


def test_a_link_of_another_rca_is_404_through_this_one(
    operator_client, rcas_url, linked_rca, rca, org, operator
):
    other = RcaFactory(organization=org)
    link = rca_link_incident(rca=other, product="alerting", external_id="A-9", actor=Actor(user=operator))

    response = operator_client.delete(f"{rcas_url}/{linked_rca.pk}/incidents/{link.pk}")

    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert RcaIncidentLink.objects.filter(pk=link.pk).exists()


def test_the_link_list_runs_a_fixed_number_of_queries(
    viewer_client, rcas_url, rca, org, operator, django_assert_max_num_queries
):
    for n in range(6):
        rca_link_incident(
            rca=rca, incident=make_incident(org, title=f"Incident {n}"), actor=Actor(user=operator)
        )

    with django_assert_max_num_queries(8):
        response = viewer_client.get(f"{rcas_url}/{rca.pk}/incidents")

    assert response.json()["count"] == 6


# --- Action items ----------------------------------------------------------------------------------------


def test_an_operator_adds_an_action_item_for_a_member(operator_client, rcas_url, rca, viewer, operator):
    response = operator_client.post(
        f"{rcas_url}/{rca.pk}/action-items",
        {
            "title": "Raise the memory limit",
            "assigneeId": str(viewer.pk),
            "priority": "high",
            "dueDate": "2030-01-31",
        },
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert {
        k: body[k]
        for k in ("title", "assigneeId", "status", "priority", "dueDate", "completedAt", "createdBy")
    } == {
        "title": "Raise the memory limit",
        "assigneeId": str(viewer.pk),
        "status": "open",
        "priority": "high",
        "dueDate": "2030-01-31",
        "completedAt": None,
        "createdBy": operator.email,
    }
    assert body["assignee"] == {"id": str(viewer.pk), "email": viewer.email, "name": viewer.name}


def test_an_assignee_outside_the_organization_is_400(operator_client, rcas_url, rca, other_admin):
    response = operator_client.post(
        f"{rcas_url}/{rca.pk}/action-items", {"title": "x", "assigneeId": str(other_admin.pk)}
    )

    assert response.status_code == 400
    assert response.json() == {
        "error": f"User {other_admin.pk} is not a member of this organization.",
        "code": "invalid_assignee",
        "fields": {"assigneeId": ["must be a member of the organization"]},
    }
    assert not RcaActionItem.objects.exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "title"),
        ({"title": "x", "status": "later"}, "status"),
        ({"title": "x", "priority": "p0"}, "priority"),
        ({"title": "x", "dueDate": "tomorrow"}, "dueDate"),
        ({"title": "x", "assigneeId": "bob"}, "assigneeId"),
    ],
)
def test_a_malformed_action_item_is_400(operator_client, rcas_url, rca, payload, field):
    response = operator_client.post(f"{rcas_url}/{rca.pk}/action-items", payload)

    assert (response.status_code, list(response.json()["fields"])) == (400, [field])


def test_done_sets_completed_at_and_reopening_clears_it(operator_client, rcas_url, rca, operator):
    item = rca_action_item_create(rca=rca, title="Add an alert", actor=Actor(user=operator))
    url = f"{rcas_url}/{rca.pk}/action-items/{item.pk}"

    done = operator_client.patch(url, {"status": "done"}).json()
    renamed = operator_client.patch(url, {"title": "Add a better alert"}).json()
    reopened = operator_client.patch(url, {"status": "in_progress"}).json()

    assert done["status"] == "done" and done["completedAt"] is not None
    assert renamed["completedAt"] == done["completedAt"]  # other edits leave it alone
    assert (reopened["status"], reopened["completedAt"]) == ("in_progress", None)


def test_patch_reassigns_and_unassigns(operator_client, rcas_url, rca, operator, viewer):
    item = rca_action_item_create(
        rca=rca, title="Add an alert", assignee_id=operator.pk, actor=Actor(user=operator)
    )
    url = f"{rcas_url}/{rca.pk}/action-items/{item.pk}"

    reassigned = operator_client.patch(url, {"assigneeId": str(viewer.pk), "dueDate": "2031-05-01"}).json()
    unassigned = operator_client.patch(url, {"assigneeId": None}).json()

    assert (reassigned["assigneeId"], reassigned["dueDate"]) == (str(viewer.pk), "2031-05-01")
    assert (unassigned["assigneeId"], unassigned["assignee"]) == (None, None)


def test_patch_to_a_non_member_is_400_and_changes_nothing(operator_client, rcas_url, rca, operator):
    item = rca_action_item_create(
        rca=rca, title="Add an alert", assignee_id=operator.pk, actor=Actor(user=operator)
    )
    stranger = UserFactory()

    response = operator_client.patch(
        f"{rcas_url}/{rca.pk}/action-items/{item.pk}", {"assigneeId": str(stranger.pk), "title": "changed"}
    )

    assert (response.status_code, response.json()["code"]) == (400, "invalid_assignee")
    item.refresh_from_db()
    assert (item.assignee_id, item.title) == (operator.pk, "Add an alert")


def test_delete_removes_the_action_item(operator_client, rcas_url, rca, operator):
    item = rca_action_item_create(rca=rca, title="Add an alert", actor=Actor(user=operator))

    response = operator_client.delete(f"{rcas_url}/{rca.pk}/action-items/{item.pk}")

    assert response.status_code == 204
    assert not RcaActionItem.objects.filter(pk=item.pk).exists()
    assert AuditLog.objects.filter(action="rca.action_item_deleted", target_id=str(item.pk)).count() == 1


def test_a_viewer_lists_action_items_but_cannot_change_them(viewer_client, rcas_url, rca, operator):
    item = rca_action_item_create(rca=rca, title="Add an alert", actor=Actor(user=operator))
    url = f"{rcas_url}/{rca.pk}/action-items"

    listing = viewer_client.get(url)
    created = viewer_client.post(url, {"title": "y"})
    patched = viewer_client.patch(f"{url}/{item.pk}", {"status": "done"})
    deleted = viewer_client.delete(f"{url}/{item.pk}")

    assert [i["title"] for i in listing.json()["results"]] == ["Add an alert"]
    assert [r.status_code for r in (created, patched, deleted)] == [403, 403, 403]


def test_another_organizations_action_item_is_404(operator_client, rcas_url, rca, other_org):
    theirs = RcaActionItemFactory(rca=RcaFactory(organization=other_org))

    through_ours = operator_client.patch(f"{rcas_url}/{rca.pk}/action-items/{theirs.pk}", {"status": "done"})
    through_theirs = operator_client.delete(f"{rcas_url}/{theirs.rca_id}/action-items/{theirs.pk}")

    assert (through_ours.status_code, through_theirs.status_code) == (404, 404)
    assert RcaActionItem.objects.get(pk=theirs.pk).status == "open"


def test_the_action_item_list_runs_a_fixed_number_of_queries(
    viewer_client, rcas_url, rca, operator, viewer, django_assert_max_num_queries
):
    for n in range(6):
        rca_action_item_create(
            rca=rca,
            title=f"Item {n}",
            assignee_id=(operator, viewer)[n % 2].pk,
            due_date=date(2030, 1, n + 1),
            actor=Actor(user=operator),
        )

    with django_assert_max_num_queries(8):
        response = viewer_client.get(f"{rcas_url}/{rca.pk}/action-items")

    assert response.json()["count"] == 6
