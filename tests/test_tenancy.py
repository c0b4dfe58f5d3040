"""Tenant isolation catalogue: every object endpoint answers 404 for another organization's objects.

Each new object endpoint adds a line. Placeholders: {org} the caller's organization, {foreign_org}
another one, and ids of objects that belong to that other organization.
"""

import pytest
from rest_framework.test import APIClient

from analyses.models import Analysis
from analyses.services import incident_record_alert
from rca.services import rca_action_item_create, rca_create, rca_link_incident
from statux.audit import Actor
from statux.services import api_key_create
from statux.tenancy import Access
from tests.factories import MembershipFactory
from webhooks.normalizers.base import NormalizedAlert
from webhooks.services import webhook_config_create

OBJECT_ENDPOINTS = [
    ("delete", "/api/v1/apikeys/{key}"),
    ("patch", "/api/v1/organizations/{org}/users/{user}"),
    ("delete", "/api/v1/organizations/{org}/users/{user}"),
    ("get", "/api/v1/organizations/{foreign_org}/users"),
    ("post", "/api/v1/organizations/{foreign_org}/users/invite"),
    ("patch", "/api/v1/organizations/{foreign_org}/users/{user}"),
    ("get", "/api/alerts/incidents/{inc}"),
    ("patch", "/api/alerts/incidents/{inc}"),
    ("post", "/api/alerts/incidents/{inc}/notes"),
    ("get", "/incidents/{inc}"),
    ("get", "/incidents/{inc}/timeline"),
    ("get", "/incidents/{inc}/group"),
    ("get", "/incidents/{inc}/metrics"),
    ("get", "/incidents/{inc}/actions"),
    ("get", "/api/v1/organizations/{org}/webhook-configs/{cfg}"),
    ("patch", "/api/v1/organizations/{org}/webhook-configs/{cfg}"),
    ("delete", "/api/v1/organizations/{org}/webhook-configs/{cfg}"),
    ("post", "/api/v1/organizations/{org}/webhook-configs/{cfg}/regenerate-key"),
    ("get", "/api/v1/organizations/{foreign_org}/webhook-configs"),
    ("get", "/api/v1/organizations/{org}/insights/{insight}"),
    ("get", "/api/v1/organizations/{org}/insights/{insight}/events"),
    ("get", "/api/v1/organizations/{foreign_org}/insights"),
    ("post", "/api/v1/organizations/{foreign_org}/insights"),
    ("get", "/api/v1/organizations/{foreign_org}/insights/stats"),
    ("get", "/incidents/{inc}/diagnosis"),
    ("get", "/api/v1/organizations/{foreign_org}/usage"),
    ("patch", "/api/v1/organizations/{foreign_org}/usage"),
    ("get", "/api/v1/organizations/{org}/rcas/{rca}"),
    ("patch", "/api/v1/organizations/{org}/rcas/{rca}"),
    ("delete", "/api/v1/organizations/{org}/rcas/{rca}"),
    ("get", "/api/v1/organizations/{org}/rcas/{rca}/revisions"),
    ("get", "/api/v1/organizations/{org}/rcas/{rca}/incidents"),
    ("post", "/api/v1/organizations/{org}/rcas/{rca}/incidents"),
    ("delete", "/api/v1/organizations/{org}/rcas/{rca}/incidents/{rca_link}"),
    ("get", "/api/v1/organizations/{org}/rcas/{rca}/action-items"),
    ("post", "/api/v1/organizations/{org}/rcas/{rca}/action-items"),
    ("patch", "/api/v1/organizations/{org}/rcas/{rca}/action-items/{rca_item}"),
    ("delete", "/api/v1/organizations/{org}/rcas/{rca}/action-items/{rca_item}"),
    ("post", "/api/v1/organizations/{org}/rcas/{rca}/generate"),
    ("get", "/api/v1/organizations/{org}/rcas/{rca}/export"),
    ("get", "/api/v1/organizations/{foreign_org}/rcas"),
    ("post", "/api/v1/organizations/{foreign_org}/rcas"),
    ("get", "/api/v1/organizations/{foreign_org}/rcas/stats"),
    ("get", "/api/v1/organizations/{foreign_org}/rcas/search-incidents"),
    ("post", "/incidents/{inc}/postmortem"),
]


@pytest.fixture
def foreign(other_org, other_admin):
    access = Access(other_org, "admin", 3, ("read", "write", "manage_keys", "manage_users"))
    key, _ = api_key_create(
        organization=other_org, name="theirs", scope="admin", access=access, actor=Actor(system="test")
    )
    alert = NormalizedAlert(source="webhook", title="theirs", fingerprint="theirs")
    incident = incident_record_alert(organization=other_org, alert=alert).incident
    config, _ = webhook_config_create(
        organization=other_org, name="theirs", source_product="alerting", actor=Actor(system="test")
    )
    analysis = Analysis.objects.create(organization=other_org, incident=incident)
    rca = rca_create(organization=other_org, title="theirs", actor=Actor(system="test"))
    link = rca_link_incident(rca=rca, incident=incident, actor=Actor(system="test"))
    item = rca_action_item_create(rca=rca, title="theirs", actor=Actor(system="test"))
    return {
        "foreign_org": other_org.slug,
        "insight": analysis.pk,
        "rca": rca.pk,
        "rca_link": link.pk,
        "rca_item": item.pk,
        "key": key.key_id,
        "user": other_admin.pk,
        "inc": incident.pk,
        "cfg": config.pk,
    }


@pytest.fixture
def own_admin_key(org, owner):
    access = Access(org, "owner", 4, ("read", "write", "manage_keys", "manage_users"))
    _, raw = api_key_create(
        organization=org, name="ours", scope="admin", access=access, actor=Actor(system="test")
    )
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=raw)
    return client


BODY = {"role": "viewer", "email": "x@example.com", "status": "acknowledged", "name": "x", "content": "x"}


@pytest.mark.parametrize(("method", "path"), OBJECT_ENDPOINTS)
def test_another_organizations_object_answers_404_by_jwt(method, path, org, foreign, owner_client):
    response = getattr(owner_client, method)(path.format(org=org.slug, **foreign), BODY)

    assert (response.status_code, response.json()["code"]) == (404, "not_found")


@pytest.mark.parametrize(("method", "path"), OBJECT_ENDPOINTS)
def test_another_organizations_object_answers_404_by_api_key(method, path, org, foreign, own_admin_key):
    response = getattr(own_admin_key, method)(path.format(org=org.slug, **foreign), BODY)

    assert (response.status_code, response.json()["code"]) == (404, "not_found")


def test_foreign_objects_are_untouched_after_the_attempts(org, foreign, owner_client, other_org):
    from analyses.models import Incident
    from statux.models import ApiKey, Membership
    from webhooks.models import WebhookConfig

    owner_client.delete(f"/api/v1/apikeys/{foreign['key']}")
    owner_client.delete(f"/api/v1/organizations/{org.slug}/users/{foreign['user']}")
    owner_client.patch(f"/api/alerts/incidents/{foreign['inc']}", {"status": "closed"})
    owner_client.delete(f"/api/v1/organizations/{org.slug}/webhook-configs/{foreign['cfg']}")

    assert Incident.objects.get(pk=foreign["inc"]).status == "open"
    assert WebhookConfig.objects.filter(pk=foreign["cfg"]).exists()
    assert ApiKey.objects.get(key_id=foreign["key"]).revoked_at is None
    assert Membership.objects.filter(organization=other_org, user_id=foreign["user"]).exists()


def test_an_organization_path_by_uuid_resolves_like_its_slug(org, owner_client):
    by_slug = owner_client.get(f"/api/v1/organizations/{org.slug}/users")
    by_uuid = owner_client.get(f"/api/v1/organizations/{org.pk}/users")

    assert by_slug.status_code == by_uuid.status_code == 200
    assert by_slug.json() == by_uuid.json()


def test_workspace_header_selects_another_organization_of_the_caller(org, other_org, owner, owner_client):
    MembershipFactory(organization=other_org, user=owner, role="viewer")

    response = owner_client.get("/api/v1/rbac/permissions", HTTP_X_WORKSPACE_ID="globex")

    assert response.json() | {"user_id": None} == {
        "tenant_id": "globex",
        "user_id": None,
        "role": "viewer",
        "level": 1,
        "permissions": ["read"],
    }


def test_workspace_header_naming_a_foreign_organization_answers_404(other_org, owner_client):
    response = owner_client.get("/api/v1/rbac/permissions", HTTP_X_WORKSPACE_ID="globex")

    assert response.status_code == 404
    assert response.json() == {"error": "Organization 'globex' not found.", "code": "not_found"}


def test_an_api_key_cannot_reach_into_another_organization_by_header(other_org, own_admin_key):
    response = own_admin_key.get("/api/v1/rbac/permissions", HTTP_X_WORKSPACE_ID="globex")

    assert response.status_code == 404


def test_superuser_may_act_in_any_organization(org, superuser_client):
    response = superuser_client.get(f"/api/v1/organizations/{org.slug}/users")

    assert response.status_code == 200
    perms = superuser_client.get("/api/v1/rbac/permissions", HTTP_X_WORKSPACE_ID=org.slug).json()
    assert (perms["tenant_id"], perms["role"], perms["level"]) == ("acme", "super_admin", 5)


def test_removed_member_token_falls_back_to_remaining_membership(org, other_org, owner):
    from statux.models import Membership
    from tests.conftest import jwt_client

    MembershipFactory(organization=other_org, user=owner, role="operator")
    client = jwt_client(owner, organization=other_org)
    Membership.objects.filter(organization=other_org, user=owner).delete()

    response = client.get("/api/v1/rbac/permissions")

    assert (response.json()["tenant_id"], response.json()["role"]) == ("acme", "owner")
