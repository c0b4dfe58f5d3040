"""Console pages through the URL with a real session: page content and database state, not just codes."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from statux import services
from statux.audit import Actor
from statux.models import ApiKey, AuditLog, Invitation, Membership, Role, User, hash_secret
from tests.console.conftest import access_of, logged_in
from tests.factories import PASSWORD, MembershipFactory, OrganizationFactory, UserFactory

INVITE_LINK = re.compile(r'id="invite-link"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*id="invite-link"')
NEW_KEY = re.compile(r'id="new-key"[^>]*value="(isage_[^"]+)"')


def text(response) -> str:
    """The page as a reader sees it: entities decoded (Django escapes quotes in messages)."""
    return html.unescape(response.content.decode())


def invite(organization, inviter, email="new@acme.test", role=Role.OPERATOR) -> tuple[Invitation, str]:
    return services.invitation_create(
        organization=organization,
        email=email,
        role=role,
        access=access_of(inviter, organization),
        actor=Actor(user=inviter),
    )


def create_key(organization, creator, name="grafana", scope="ingestion", **extra) -> tuple[ApiKey, str]:
    return services.api_key_create(
        organization=organization,
        name=name,
        scope=scope,
        access=access_of(creator, organization),
        actor=Actor(user=creator),
        **extra,
    )


# --- Log-in, log-out -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/console/", "/console/members/", "/console/keys/", "/console/audit/"])
def test_console_pages_send_anonymous_visitors_to_the_login_page(client, db, path):
    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"] == f"/console/login/?next={path}"


def test_login_with_email_and_password_opens_the_dashboard(client, owner, org):
    page = client.get("/console/login/")
    assert (
        'type="email"' in page.content.decode() and 'for="id_username">Email</label>' in page.content.decode()
    )

    response = client.post(
        "/console/login/", {"username": "OWNER@acme.test", "password": PASSWORD}, follow=True
    )

    assert response.redirect_chain == [("/console/", 302)]
    assert "<h1>Acme Corporation</h1>" in response.content.decode()
    assert response.context["user"] == owner


def test_login_with_a_wrong_password_says_so_and_stays_anonymous(client, owner):
    response = client.post("/console/login/", {"username": owner.email, "password": "nope"})

    assert response.status_code == 200
    assert "Please enter a correct email and password" in text(response)
    assert "_auth_user_id" not in client.session


def test_login_follows_a_local_next_url(client, owner):
    response = client.post(
        "/console/login/?next=/console/audit/",
        {"username": owner.email, "password": PASSWORD, "next": "/console/audit/"},
    )

    assert (response.status_code, response["Location"]) == (302, "/console/audit/")


def test_logout_is_a_post_that_ends_the_session(owner_console):
    assert owner_console.get("/console/logout/").status_code == 405

    response = owner_console.post("/console/logout/")

    assert (response.status_code, response["Location"]) == (302, "/console/login/")
    assert owner_console.get("/console/").status_code == 302


# --- Dashboard -------------------------------------------------------------------------------------


def test_dashboard_shows_the_organization_role_counts_and_latest_activity(owner_console, owner, org, viewer):
    create_key(org, owner, name="grafana")
    revoked, _ = create_key(org, owner, name="old")
    services.api_key_revoke(key=revoked, actor=Actor(user=owner))

    response = owner_console.get("/console/")

    page = text(response)
    assert response.status_code == 200
    assert "<h1>Acme Corporation</h1>" in page
    assert re.search(r"your role <span[^>]*>owner</span>", page)
    assert re.search(r'stat-value">2</span> <span class="stat-label">members<', page)
    assert re.search(r'stat-value">1</span> <span class="stat-label">active API key<', page)
    assert [entry.action for entry in response.context["audit_entries"]] == [
        "apikey.revoked",
        "apikey.created",
        "apikey.created",
    ]
    assert "<code>apikey.revoked</code>" in page


def test_dashboard_of_a_person_without_organization_explains_what_to_do(db):
    loner = UserFactory(email="loner@nowhere.test")

    response = logged_in(loner).get("/console/")

    assert response.status_code == 200
    assert "You do not belong to any organization yet" in text(response)


def test_dashboard_does_not_show_another_organizations_activity(owner_console, org, other_org, other_admin):
    create_key(other_org, other_admin, name="globex-secret-key")

    response = owner_console.get("/console/")

    assert "globex-secret-key" not in text(response)
    assert re.search(r'stat-value">0</span> <span class="stat-label">active API keys<', text(response))


def test_the_nav_offers_api_keys_only_to_who_may_manage_them(viewer_console, admin_console):
    viewer_page = viewer_console.get("/console/").content.decode()
    admin_page = admin_console.get("/console/").content.decode()

    assert 'href="/console/keys/"' not in viewer_page and 'href="/console/members/"' in viewer_page
    assert 'href="/console/keys/"' in admin_page


# --- Organization switcher -------------------------------------------------------------------------


def test_switching_to_an_organization_you_belong_to_changes_every_page(owner_console, owner, other_org):
    MembershipFactory(organization=other_org, user=owner, role=Role.VIEWER)

    response = owner_console.post(
        "/console/organization/",
        {"organization_id": str(other_org.id), "next": "/console/members/"},
        follow=True,
    )

    assert response.redirect_chain == [("/console/members/", 302)]
    assert owner_console.session["organization_id"] == str(other_org.id)
    assert "Switched to Globex." in text(response)
    assert "People in Globex" in text(response)
    assert "<h1>Globex</h1>" in owner_console.get("/console/").content.decode()


def test_switching_to_an_organization_you_do_not_belong_to_is_refused(
    owner_console, org, other_org, other_admin
):
    response = owner_console.post("/console/organization/", {"organization_id": str(other_org.id)})

    assert response.status_code == 403
    assert "You are not a member of that organization" in text(response)
    assert "organization_id" not in owner_console.session
    assert "<h1>Acme Corporation</h1>" in owner_console.get("/console/").content.decode()


def test_switching_with_a_malformed_id_is_refused(owner_console):
    response = owner_console.post("/console/organization/", {"organization_id": "acme' OR 1=1"})

    assert response.status_code == 403
    assert "organization_id" not in owner_console.session


def test_a_superuser_may_switch_to_any_organization(superuser, other_org):
    console = logged_in(superuser)

    response = console.post("/console/organization/", {"organization_id": str(other_org.id)}, follow=True)

    assert response.redirect_chain == [("/console/", 302)]
    assert "<h1>Globex</h1>" in response.content.decode()
    assert "(super admin)" in text(response)


def test_switching_never_redirects_off_site(owner_console, owner, other_org):
    MembershipFactory(organization=other_org, user=owner, role=Role.VIEWER)

    response = owner_console.post(
        "/console/organization/", {"organization_id": str(other_org.id), "next": "https://evil.example/"}
    )

    assert response["Location"] == "/console/"


def test_the_switcher_lists_only_your_organizations(owner_console, owner, org, other_org):
    OrganizationFactory(slug="initech", name="Initech")
    MembershipFactory(organization=other_org, user=owner, role=Role.VIEWER)

    page = owner_console.get("/console/").content.decode()

    assert "Acme Corporation (owner)" in page and "Globex (viewer)" in page
    assert "Initech" not in page


# --- Members and invitations -----------------------------------------------------------------------


def test_members_page_lists_members_with_their_roles(viewer_console, owner, admin_user, viewer):
    response = viewer_console.get("/console/members/")

    page = text(response)
    assert response.status_code == 200
    rows = re.findall(r"<td>([^<]+@acme\.test)</td>\s*<td><span class=\"badge[^\"]*\">(\w+)</span>", page)
    assert sorted(rows) == [
        ("admin@acme.test", "admin"),
        ("owner@acme.test", "owner"),
        ("viewer@acme.test", "viewer"),
    ]
    assert "Send invitation" not in page and "Change role" not in page
    assert "can see the members; admins and owners invite people" in page


def test_invite_creates_an_invitation_and_shows_its_link_once(admin_console, admin_user, org):
    response = admin_console.post(
        "/console/members/invite/", {"email": "New.Person@acme.test", "role": "operator"}
    )

    page = text(response)
    assert response.status_code == 200
    match = INVITE_LINK.search(response.content.decode())
    link = match.group(1) or match.group(2)
    token = link.rstrip("/").rsplit("/", 1)[1]
    assert link.endswith(f"/console/invitations/{token}/")
    invitation = Invitation.objects.get(organization=org)
    assert (invitation.email, invitation.role, invitation.invited_by) == (
        "new.person@acme.test",
        "operator",
        admin_user,
    )
    assert invitation.token_hash == hash_secret(token)
    assert "It is shown only this once." in page and 'data-copy="#invite-link"' in page
    assert response["Cache-Control"].startswith("max-age=0") and "no-store" in response["Cache-Control"]
    again = admin_console.get("/console/members/").content.decode()
    assert token not in again
    assert "new.person@acme.test" in again  # now in the pending list, without its link


def test_invite_sends_the_link_by_email(admin_console, org, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_console.post(
            "/console/members/invite/", {"email": "mail@acme.test", "role": "viewer"}
        )

    match = INVITE_LINK.search(response.content.decode())
    assert [message.to for message in mailoutbox] == [["mail@acme.test"]]
    assert (match.group(1) or match.group(2)) in mailoutbox[0].body


def test_a_viewer_cannot_invite(viewer_console, org):
    response = viewer_console.post(
        "/console/members/invite/", {"email": "sneaky@acme.test", "role": "viewer"}
    )

    assert response.status_code == 403
    assert "Your role 'viewer' in Acme Corporation cannot manage members and invitations" in text(response)
    assert not Invitation.objects.exists()


def test_an_operator_cannot_invite_either(operator_console, org):
    response = operator_console.post("/console/members/invite/", {"email": "x@acme.test", "role": "viewer"})

    assert response.status_code == 403
    assert not Invitation.objects.exists()


def test_an_admin_cannot_invite_an_owner(admin_console, org):
    response = admin_console.post("/console/members/invite/", {"email": "boss@acme.test", "role": "owner"})

    assert response.status_code == 400
    assert "Select a valid choice. owner is not one of the available choices." in text(response)
    assert '<option value="owner"' not in response.content.decode()
    assert not Invitation.objects.exists()


def test_inviting_an_existing_member_shows_the_service_message(admin_console, org, viewer):
    response = admin_console.post("/console/members/invite/", {"email": viewer.email, "role": "viewer"})

    assert response.status_code == 409
    assert "viewer@acme.test is already a member of Acme Corporation." in text(response)
    assert 'value="viewer@acme.test"' in response.content.decode()  # the form keeps what was typed
    assert not Invitation.objects.exists()


def test_changing_a_role_goes_through_the_service_and_is_audited(admin_console, admin_user, org, viewer):
    response = admin_console.post(f"/console/members/{viewer.id}/role/", {"role": "operator"}, follow=True)

    assert response.redirect_chain == [("/console/members/", 302)]
    assert "viewer@acme.test is now operator." in text(response)
    assert Membership.objects.get(user=viewer, organization=org).role == "operator"
    entry = AuditLog.objects.get(action="membership.role_changed")
    assert (entry.actor_user, entry.metadata) == (
        admin_user,
        {"email": viewer.email, "from": "viewer", "to": "operator"},
    )


def test_an_admin_cannot_change_an_owners_role(admin_console, org, owner):
    response = admin_console.post(f"/console/members/{owner.id}/role/", {"role": "viewer"}, follow=True)

    assert "Your role 'admin' cannot grant the role 'owner'." in text(response)
    assert Membership.objects.get(user=owner, organization=org).role == "owner"


def test_a_viewer_cannot_change_roles(viewer_console, org, operator):
    response = viewer_console.post(f"/console/members/{operator.id}/role/", {"role": "admin"})

    assert response.status_code == 403
    assert Membership.objects.get(user=operator, organization=org).role == "operator"


def test_removing_a_member_asks_first_then_removes_through_the_service(owner_console, owner, org, operator):
    confirm = owner_console.get(f"/console/members/{operator.id}/remove/")
    assert "Remove operator@acme.test?" in text(confirm)
    assert Membership.objects.filter(user=operator).exists()

    response = owner_console.post(f"/console/members/{operator.id}/remove/", follow=True)

    assert "operator@acme.test was removed from Acme Corporation." in text(response)
    assert not Membership.objects.filter(user=operator, organization=org).exists()
    assert User.objects.filter(pk=operator.pk).exists()
    assert AuditLog.objects.filter(action="membership.removed", actor_user=owner).count() == 1


def test_the_last_owner_cannot_be_removed(owner_console, owner, org):
    response = owner_console.post(f"/console/members/{owner.id}/remove/", follow=True)

    assert "An organization keeps at least one owner" in text(response)
    assert Membership.objects.filter(user=owner, organization=org).exists()


def test_a_member_of_another_organization_is_not_found(owner_console, other_admin, other_org):
    response = owner_console.post(f"/console/members/{other_admin.id}/remove/")

    assert response.status_code == 404
    assert "That person is not a member of this organization." in text(response)
    assert Membership.objects.filter(user=other_admin, organization=other_org).exists()


def test_revoking_a_pending_invitation(admin_console, admin_user, org):
    invitation, token = invite(org, admin_user)

    response = admin_console.post(f"/console/members/invitations/{invitation.id}/revoke/", follow=True)

    assert "Invitation for new@acme.test revoked" in text(response)
    invitation.refresh_from_db()
    assert invitation.state == "revoked"
    assert "No invitations are waiting for an answer." in text(response)
    assert Client().get(f"/console/invitations/{token}/").status_code == 404


def test_another_organizations_invitation_cannot_be_revoked(admin_console, other_org, other_admin):
    invitation, _ = invite(other_org, other_admin)

    response = admin_console.post(f"/console/members/invitations/{invitation.id}/revoke/", follow=True)

    assert "That invitation is no longer pending" in text(response)
    invitation.refresh_from_db()
    assert invitation.state == "pending"


# --- API keys --------------------------------------------------------------------------------------


def test_creating_a_key_shows_the_full_key_once_and_then_only_its_prefix(admin_console, admin_user, org):
    response = admin_console.post("/console/keys/create/", {"name": "grafana", "scope": "ingestion"})

    raw = NEW_KEY.search(response.content.decode()).group(1)
    key = ApiKey.objects.get(organization=org)
    assert response.status_code == 200
    assert (key.name, key.scope, key.key_hash, key.prefix) == (
        "grafana",
        "ingestion",
        hash_secret(raw),
        raw[:12],
    )
    assert "Copy this key now: it is shown only this once." in text(response)
    assert "no-store" in response["Cache-Control"]
    listing = admin_console.get("/console/keys/").content.decode()
    assert raw not in listing
    assert f"<code>{key.prefix}…</code>" in listing
    assert re.search(r"badge--active\"><span aria-hidden=\"true\" class=\"dot\"></span>active<", listing)


def test_a_key_can_have_a_rate_limit_and_an_expiry(admin_console, org):
    expires_at = (timezone.now() + timedelta(days=30)).replace(second=0, microsecond=0)

    response = admin_console.post(
        "/console/keys/create/",
        {
            "name": "ci",
            "scope": "read",
            "rate_limit_rps": "5",
            "expires_at": expires_at.strftime("%Y-%m-%dT%H:%M"),
        },
    )

    key = ApiKey.objects.get(organization=org)
    assert (key.rate_limit_rps, key.expires_at) == (5, expires_at)
    assert "5 req/s" in text(response)


def test_a_key_that_expires_in_the_past_is_refused_with_the_services_message(admin_console, org):
    response = admin_console.post(
        "/console/keys/create/", {"name": "ci", "scope": "read", "expires_at": "2001-01-01T00:00"}
    )

    assert response.status_code == 400
    assert "expires_at must be in the future." in text(response)
    assert not ApiKey.objects.exists()


def test_a_key_without_a_name_is_refused(admin_console, org):
    response = admin_console.post("/console/keys/create/", {"name": "", "scope": "read"})

    assert response.status_code == 400
    assert "This field is required." in text(response)
    assert not ApiKey.objects.exists()


@pytest.mark.parametrize("path", ["/console/keys/", "/console/keys/create/"])
def test_an_operator_cannot_see_or_create_keys(operator_console, org, path):
    response = operator_console.post(path, {"name": "x", "scope": "read"})

    assert response.status_code == 403
    assert "Your role 'operator' in Acme Corporation cannot manage API keys" in text(response)
    assert not ApiKey.objects.exists()


def test_revoking_a_key_asks_first_then_marks_it_revoked(admin_console, admin_user, org):
    key, _ = create_key(org, admin_user, name="grafana")
    confirm = admin_console.get(f"/console/keys/{key.key_id}/revoke/")
    assert "Revoke API key “grafana”?" in text(confirm)
    key.refresh_from_db()
    assert key.revoked_at is None

    response = admin_console.post(f"/console/keys/{key.key_id}/revoke/", follow=True)

    key.refresh_from_db()
    assert key.state == "revoked"
    assert "API key “grafana” revoked" in text(response)
    assert re.search(
        r"badge--revoked\"><span aria-hidden=\"true\" class=\"dot\"></span>revoked<", text(response)
    )
    assert AuditLog.objects.filter(action="apikey.revoked", actor_user=admin_user).count() == 1


def test_another_organizations_key_is_not_found(admin_console, other_org, other_admin):
    key, _ = create_key(other_org, other_admin)

    response = admin_console.post(f"/console/keys/{key.key_id}/revoke/")

    assert response.status_code == 404
    key.refresh_from_db()
    assert key.revoked_at is None


def test_keys_list_shows_only_this_organizations_keys(admin_console, admin_user, org, other_org, other_admin):
    create_key(org, admin_user, name="acme-key")
    create_key(other_org, other_admin, name="globex-key")

    page = admin_console.get("/console/keys/").content.decode()

    assert "acme-key" in page and "globex-key" not in page


# --- Audit log -------------------------------------------------------------------------------------


@pytest.fixture
def audit_history(org, owner, admin_user, viewer, other_org, other_admin):
    create_key(org, admin_user, name="grafana")
    invite(org, owner, email="someone@acme.test")
    services.membership_change_role(
        membership=Membership.objects.get(user=viewer),
        role="operator",
        access=access_of(owner, org),
        actor=Actor(user=owner),
    )
    create_key(other_org, other_admin, name="globex-key")


def test_audit_page_lists_this_organizations_entries_newest_first(viewer_console, audit_history):
    response = viewer_console.get("/console/audit/")

    assert response.status_code == 200
    assert [entry.action for entry in response.context["page"]] == [
        "membership.role_changed",
        "invitation.created",
        "apikey.created",
    ]
    assert "3 entries." in text(response) and "globex-key" not in text(response)


def test_audit_page_filters_by_action_prefix_and_actor(viewer_console, audit_history):
    by_action = viewer_console.get("/console/audit/", {"action": "invitation."})
    by_actor = viewer_console.get("/console/audit/", {"actor": "admin@"})

    assert [entry.action for entry in by_action.context["page"]] == ["invitation.created"]
    assert "1 entry match the filter." in text(by_action)
    assert 'value="invitation."' in by_action.content.decode()
    assert [entry.actor for entry in by_actor.context["page"]] == ["admin@acme.test"]


def test_audit_page_paginates_and_keeps_the_filter(owner_console, owner, org):
    for number in range(55):
        create_key(org, owner, name=f"key-{number}")

    first = owner_console.get("/console/audit/", {"action": "apikey"})
    second = owner_console.get("/console/audit/", {"action": "apikey", "page": 2})

    assert len(first.context["page"]) == 50 and len(second.context["page"]) == 5
    assert 'href="?action=apikey&amp;page=2"' in first.content.decode()
    assert "Page 2 of 2" in text(second)


# --- Invitation acceptance -------------------------------------------------------------------------


def test_accepting_an_invitation_creates_the_account_and_logs_in(client, org, owner):
    _, token = invite(org, owner, email="newbie@acme.test", role=Role.OPERATOR)
    form = client.get(f"/console/invitations/{token}/")
    assert "Join Acme Corporation" in text(form) and 'name="password_confirm"' in form.content.decode()

    response = client.post(
        f"/console/invitations/{token}/",
        {
            "name": "New Bie",
            "password": "a-long-enough-passphrase",
            "password_confirm": "a-long-enough-passphrase",
        },
        follow=True,
    )

    user = User.objects.get(email="newbie@acme.test")
    assert response.redirect_chain == [("/console/", 302)]
    assert client.session["_auth_user_id"] == str(user.pk)
    assert (user.name, user.check_password("a-long-enough-passphrase")) == ("New Bie", True)
    assert Membership.objects.get(user=user, organization=org).role == "operator"
    assert "Welcome to Acme Corporation; you joined as operator." in text(response)
    assert "<h1>Acme Corporation</h1>" in response.content.decode()


def test_accepting_with_a_weak_password_shows_why(client, org, owner):
    _, token = invite(org, owner, email="newbie@acme.test")

    response = client.post(
        f"/console/invitations/{token}/", {"name": "New", "password": "123", "password_confirm": "123"}
    )

    assert response.status_code == 400
    assert "The password is too weak." in text(response) and "This password is too short." in text(response)
    assert not User.objects.filter(email="newbie@acme.test").exists()


def test_accepting_with_two_different_passwords_is_refused(client, org, owner):
    _, token = invite(org, owner, email="newbie@acme.test")

    response = client.post(
        f"/console/invitations/{token}/",
        {"name": "New", "password": "a-long-enough-passphrase", "password_confirm": "another-passphrase"},
    )

    assert response.status_code == 400
    assert "The two passwords differ." in text(response)
    assert not User.objects.filter(email="newbie@acme.test").exists()


def test_an_existing_account_accepts_with_its_own_password(client, other_org, other_admin, owner, org):
    _, token = invite(other_org, other_admin, email=owner.email, role=Role.VIEWER)
    page = client.get(f"/console/invitations/{token}/")
    assert "Password of your existing account" in text(page) and 'name="name"' not in page.content.decode()

    refused = client.post(f"/console/invitations/{token}/", {"password": "not-the-password"})
    assert refused.status_code == 400
    assert "An account with this email exists; enter its password to accept." in text(refused)
    assert not Membership.objects.filter(user=owner, organization=other_org).exists()

    response = client.post(f"/console/invitations/{token}/", {"password": PASSWORD}, follow=True)

    assert Membership.objects.get(user=owner, organization=other_org).role == "viewer"
    assert client.session["organization_id"] == str(other_org.id)
    assert "<h1>Globex</h1>" in response.content.decode()


@pytest.mark.parametrize("state", ["unknown", "revoked", "accepted"])
def test_an_unusable_invitation_says_why(client, org, owner, state):
    token = "not-a-real-token"
    if state != "unknown":
        invitation, token = invite(org, owner)
    if state == "revoked":
        services.invitation_revoke(invitation=invitation, actor=Actor(user=owner))
    if state == "accepted":
        services.invitation_accept(token=token, password="a-long-enough-passphrase", name="Early Bird")

    response = client.get(f"/console/invitations/{token}/")

    assert response.status_code == 404
    expected = "not valid" if state == "unknown" else state
    assert f"This invitation is {expected}." in text(response)
