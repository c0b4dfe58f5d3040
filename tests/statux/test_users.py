import pytest

from statux.models import AuditLog, Membership
from tests.factories import MembershipFactory, UserFactory


def test_me_returns_the_profile_with_memberships(owner_client, owner, org):
    response = owner_client.get("/api/v1/users/me")

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"id", "email", "name", "timezone", "isSuperAdmin", "createdAt", "organizations"}
    assert (body["id"], body["email"], body["isSuperAdmin"]) == (str(owner.pk), owner.email, False)
    assert body["organizations"] == [
        {"id": str(org.pk), "slug": "acme", "name": "Acme Corporation", "role": "owner"}
    ]


def test_patch_me_updates_name_and_timezone_and_audits(owner_client, owner):
    response = owner_client.patch("/api/v1/users/me/", {"name": "Night Owl", "timezone": "Europe/Berlin"})

    assert response.status_code == 200
    assert (response.json()["name"], response.json()["timezone"]) == ("Night Owl", "Europe/Berlin")
    owner.refresh_from_db()
    assert (owner.name, owner.timezone) == ("Night Owl", "Europe/Berlin")
    assert AuditLog.objects.get(action="user.updated").metadata == {
        "name": "Night Owl",
        "timezone": "Europe/Berlin",
    }


def test_patch_me_rejects_an_unknown_timezone(owner_client):
    response = owner_client.patch("/api/v1/users/me", {"timezone": "Mars/Olympus"})

    assert response.status_code == 400
    assert response.json()["fields"] == {
        "timezone": ["'Mars/Olympus' is not an IANA time zone such as Europe/Berlin."]
    }


def test_me_with_an_api_key_is_forbidden_with_a_reason(admin_client):
    from rest_framework.test import APIClient

    raw = admin_client.post("/api/v1/apikeys", {"name": "k"}).json()["api_key"]
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=raw)

    response = client.get("/api/v1/users/me")

    assert response.status_code == 403
    assert response.json()["error"] == "This endpoint is about a person; API keys have no profile."


def test_notification_preferences_have_defaults_and_can_be_patched(viewer_client):
    before = viewer_client.get("/api/v1/users/me/notifications").json()

    response = viewer_client.patch(
        "/api/v1/users/me/notifications", {"minSeverity": "critical", "digestFrequency": "weekly"}
    )

    assert before | {"updatedAt": None} == {
        "emailEnabled": True,
        "minSeverity": "high",
        "incidentAssigned": True,
        "rcaPublished": True,
        "usageAlerts": True,
        "digestFrequency": "daily",
        "updatedAt": None,
    }
    assert response.status_code == 200
    assert (
        response.json()["minSeverity"],
        response.json()["digestFrequency"],
        response.json()["emailEnabled"],
    ) == ("critical", "weekly", True)
    assert viewer_client.get("/api/v1/users/me/notifications").json()["minSeverity"] == "critical"


def test_notification_preferences_reject_unknown_choices(viewer_client):
    response = viewer_client.patch("/api/v1/users/me/notifications", {"minSeverity": "apocalyptic"})

    assert response.status_code == 400
    assert response.json()["fields"] == {"minSeverity": ['"apocalyptic" is not a valid choice.']}


def test_members_list_is_paginated_in_the_statux_envelope(viewer_client, org, viewer):
    for n in range(3):
        MembershipFactory(organization=org, user=UserFactory(email=f"m{n}@acme.test"))

    first = viewer_client.get(f"/api/v1/organizations/{org.slug}/users?pageSize=2").json()
    second = viewer_client.get(f"/api/v1/organizations/{org.slug}/users?pageSize=2&page=2").json()

    assert set(first) == {"count", "next", "previous", "results"}
    assert first["count"] == 4 and len(first["results"]) == 2 and first["previous"] is None
    assert "page=2" in first["next"]
    emails = [m["email"] for m in first["results"] + second["results"]]
    assert emails == ["viewer@acme.test", "m0@acme.test", "m1@acme.test", "m2@acme.test"]
    assert set(first["results"][0]) == {"id", "email", "name", "role", "organizationId", "joinedAt"}


def test_members_list_runs_a_fixed_number_of_queries(viewer_client, org, django_assert_max_num_queries):
    for n in range(20):
        MembershipFactory(organization=org, user=UserFactory(email=f"q{n}@acme.test"))

    with django_assert_max_num_queries(5):
        response = viewer_client.get(f"/api/v1/organizations/{org.slug}/users?pageSize=50")

    assert len(response.json()["results"]) == 21


def test_a_page_past_the_end_is_404(viewer_client, org):
    response = viewer_client.get(f"/api/v1/organizations/{org.slug}/users?page=9")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_owner_changes_a_role_and_it_is_audited(owner_client, org, viewer):
    response = owner_client.patch(f"/api/v1/organizations/{org.slug}/users/{viewer.pk}", {"role": "admin"})

    assert (response.status_code, response.json()["role"]) == (200, "admin")
    assert Membership.objects.get(user=viewer).role == "admin"
    assert AuditLog.objects.get(action="membership.role_changed").metadata == {
        "email": viewer.email,
        "from": "viewer",
        "to": "admin",
    }


def test_the_last_owner_cannot_step_down_or_leave(owner_client, org, owner):
    demote = owner_client.patch(f"/api/v1/organizations/{org.slug}/users/{owner.pk}", {"role": "viewer"})
    remove = owner_client.delete(f"/api/v1/organizations/{org.slug}/users/{owner.pk}")

    assert demote.status_code == remove.status_code == 409
    assert (
        demote.json()["error"] == "An organization keeps at least one owner; make someone else owner first."
    )
    assert Membership.objects.get(user=owner).role == "owner"


def test_an_admin_cannot_touch_an_owner(admin_client, org, owner):
    response = admin_client.delete(f"/api/v1/organizations/{org.slug}/users/{owner.pk}")

    assert response.status_code == 403
    assert Membership.objects.filter(user=owner).exists()


def test_removing_a_member_answers_204_and_revokes_access(admin_client, org, viewer, viewer_client):
    response = admin_client.delete(f"/api/v1/organizations/{org.slug}/users/{viewer.pk}")

    assert response.status_code == 204
    assert viewer_client.get(f"/api/v1/organizations/{org.slug}/users").status_code == 404


@pytest.mark.parametrize("user_id", ["not-a-uuid", "00000000-0000-0000-0000-000000000000"])
def test_an_unknown_member_is_404(admin_client, org, user_id):
    response = admin_client.patch(f"/api/v1/organizations/{org.slug}/users/{user_id}", {"role": "viewer"})

    assert response.status_code == 404
    assert response.json() == {
        "error": f"User {user_id} is not a member of this organization.",
        "code": "not_found",
    }


def test_an_authenticated_list_costs_two_queries(viewer_client, org, django_assert_num_queries):
    """User and membership in one query (from the token's organization), then the page; a first page
    that is not full counts itself, so no COUNT(*)."""
    with django_assert_num_queries(2):
        response = viewer_client.get(f"/api/v1/organizations/{org.slug}/users")

    assert response.json()["count"] == 1
