import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from rest_framework.test import APIClient

from statux.models import AuditLog, Invitation, Membership, User
from tests.factories import PASSWORD, UserFactory


@pytest.fixture
def invite(admin_client, org, django_capture_on_commit_callbacks):
    def invite(email="new.person@acme.test", role="operator"):
        with django_capture_on_commit_callbacks(execute=True):
            response = admin_client.post(
                f"/api/v1/organizations/{org.slug}/users/invite", {"email": email, "role": role}
            )
        return response

    return invite


def test_invite_returns_token_and_link_and_sends_an_email(invite, org, admin_user):
    response = invite()

    assert response.status_code == 201
    body = response.json()
    assert set(body) == {
        "id",
        "organizationId",
        "email",
        "role",
        "status",
        "invitedBy",
        "expiresAt",
        "createdAt",
        "token",
        "inviteUrl",
    }
    assert (body["email"], body["role"], body["status"], body["invitedBy"]) == (
        "new.person@acme.test",
        "operator",
        "pending",
        admin_user.email,
    )
    assert body["inviteUrl"].endswith(f"/console/invitations/{body['token']}/")
    (message,) = mail.outbox
    assert message.to == ["new.person@acme.test"]
    assert body["inviteUrl"] in message.body and org.name in message.subject
    assert Invitation.objects.get(pk=body["id"]).token_hash != body["token"]


def test_accept_creates_the_user_and_membership_and_returns_tokens(invite, org):
    token = invite().json()["token"]

    response = APIClient().post(
        f"/api/v1/invitations/{token}/accept", {"password": "a-Long-enough-pass-42", "name": "New Person"}
    )

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access", "refresh", "user"}
    assert (body["user"]["email"], body["user"]["name"]) == ("new.person@acme.test", "New Person")
    assert body["user"]["organizations"] == [
        {"id": str(org.pk), "slug": "acme", "name": "Acme Corporation", "role": "operator"}
    ]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {body['access']}")
    assert client.get("/api/v1/rbac/permissions").json()["role"] == "operator"
    assert AuditLog.objects.filter(action="invitation.accepted", actor="new.person@acme.test").exists()


def test_an_invitation_is_accepted_once(invite):
    token = invite().json()["token"]
    APIClient().post(f"/api/v1/invitations/{token}/accept", {"password": "a-Long-enough-pass-42"})

    again = APIClient().post(f"/api/v1/invitations/{token}/accept", {"password": "a-Long-enough-pass-42"})

    assert again.status_code == 404
    assert again.json() == {"error": "This invitation is accepted.", "code": "not_found"}


def test_an_expired_invitation_is_refused(invite):
    body = invite().json()
    Invitation.objects.filter(pk=body["id"]).update(expires_at=timezone.now() - timedelta(minutes=1))

    response = APIClient().post(
        f"/api/v1/invitations/{body['token']}/accept", {"password": "a-Long-enough-pass-42"}
    )

    assert response.json() == {"error": "This invitation is expired.", "code": "not_found"}
    assert not User.objects.filter(email="new.person@acme.test").exists()


def test_an_unknown_token_is_refused(db):
    response = APIClient().post("/api/v1/invitations/nope/accept", {"password": "a-Long-enough-pass-42"})

    assert response.json() == {"error": "This invitation is not valid.", "code": "not_found"}


def test_a_weak_password_is_refused_with_reasons(invite):
    token = invite().json()["token"]

    response = APIClient().post(f"/api/v1/invitations/{token}/accept", {"password": "123"})

    assert response.status_code == 400
    assert (
        "This password is too short. It must contain at least 8 characters."
        in response.json()["fields"]["password"]
    )
    assert not User.objects.filter(email="new.person@acme.test").exists()


def test_an_existing_account_joins_only_with_its_own_password(invite, other_org, org):
    existing = UserFactory(email="known@globex.test")
    token = invite(email="known@globex.test").json()["token"]

    wrong = APIClient().post(f"/api/v1/invitations/{token}/accept", {"password": "guessing-wrong-1"})
    right = APIClient().post(f"/api/v1/invitations/{token}/accept", {"password": PASSWORD})

    assert wrong.status_code == 400
    assert wrong.json()["fields"] == {"password": ["does not match the existing account"]}
    assert right.status_code == 200
    assert Membership.objects.get(user=existing, organization=org).role == "operator"


def test_inviting_a_member_again_is_a_conflict(invite, operator):
    response = invite(email=operator.email.upper())

    assert response.status_code == 409
    assert response.json()["error"] == "operator@acme.test is already a member of Acme Corporation."


def test_an_admin_cannot_invite_an_owner(invite):
    response = invite(role="owner")

    assert response.status_code == 403
    assert response.json() == {
        "error": "Your role 'admin' cannot grant the role 'owner'.",
        "code": "permission_denied",
    }


def test_an_operator_cannot_invite(operator_client, org):
    response = operator_client.post(f"/api/v1/organizations/{org.slug}/users/invite", {"email": "x@y.test"})

    assert response.status_code == 403
    assert Invitation.objects.count() == 0


def test_invalid_email_is_a_field_error(invite):
    response = invite(email="not-an-email")

    assert response.status_code == 400
    assert response.json()["fields"] == {"email": ["Enter a valid email address."]}


def test_invitation_link_in_email_matches_the_token(invite):
    token = invite().json()["token"]

    assert re.search(rf"/console/invitations/{re.escape(token)}/", mail.outbox[0].body)
