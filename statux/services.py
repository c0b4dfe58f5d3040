"""Writes for the core: organizations, members, invitations, API keys, profiles."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from statux.audit import Actor, audit_record
from statux.errors import Conflict, Forbidden, NotFound, StatuxError
from statux.models import (
    ROLE_LEVELS,
    SCOPE_LEVELS,
    ApiKey,
    Heartbeat,
    Invitation,
    Membership,
    NotificationPreferences,
    Organization,
    Role,
    User,
    hash_secret,
)
from statux.tenancy import Access


def organization_default() -> Organization:
    """The organization that static AI-SRE keys, dev mode and keyless Alertmanager posts land in."""
    organization, _ = Organization.objects.get_or_create(
        slug=settings.DEFAULT_ORGANIZATION, defaults={"name": settings.DEFAULT_ORGANIZATION.title()}
    )
    return organization


@transaction.atomic
def organization_create(
    *, slug: str, name: str, plan: str = "free", contact_email: str = "", actor: Actor
) -> Organization:
    if Organization.objects.filter(slug=slug).exists():
        raise Conflict(f"A tenant with tenant_id '{slug}' exists already.", fields={"tenant_id": ["taken"]})
    try:
        with transaction.atomic():
            organization = Organization.objects.create(
                slug=slug, name=name, plan=plan, contact_email=contact_email
            )
    except IntegrityError:  # a concurrent create of the same slug won
        raise Conflict(f"A tenant with tenant_id '{slug}' exists already.") from None
    audit_record(
        actor=actor,
        action="organization.created",
        organization=organization,
        target=organization,
        metadata={"plan": plan},
    )
    return organization


@transaction.atomic
def membership_add(*, organization: Organization, user: User, role: str, actor: Actor) -> Membership:
    membership, created = Membership.objects.get_or_create(
        organization=organization, user=user, defaults={"role": role}
    )
    if not created:
        raise Conflict(f"{user.email} is already a member of {organization.name}.")
    audit_record(
        actor=actor,
        action="membership.added",
        organization=organization,
        target=membership,
        metadata={"email": user.email, "role": role},
    )
    return membership


def _ensure_may_grant(*, access: Access, role: str) -> None:
    if access.level < ROLE_LEVELS[role]:
        raise Forbidden(f"Your role '{access.role}' cannot grant the role '{role}'.")


def _ensure_an_owner_remains(*, membership: Membership) -> None:
    if membership.role != Role.OWNER:
        return
    others = (
        Membership.objects.for_org(membership.organization).filter(role=Role.OWNER).exclude(pk=membership.pk)
    )
    if not others.exists():
        raise Conflict("An organization keeps at least one owner; make someone else owner first.")


@transaction.atomic
def membership_change_role(*, membership: Membership, role: str, access: Access, actor: Actor) -> Membership:
    membership = (
        Membership.objects.select_for_update(of=("self",)).select_related("user").get(pk=membership.pk)
    )
    _ensure_may_grant(access=access, role=role)
    _ensure_may_grant(access=access, role=membership.role)
    if role != Role.OWNER:
        _ensure_an_owner_remains(membership=membership)
    previous, membership.role = membership.role, role
    membership.save(update_fields=["role", "updated_at"])
    audit_record(
        actor=actor,
        action="membership.role_changed",
        organization=membership.organization,
        target=membership,
        metadata={"email": membership.user.email, "from": previous, "to": role},
    )
    return membership


@transaction.atomic
def membership_remove(*, membership: Membership, access: Access, actor: Actor) -> None:
    membership = (
        Membership.objects.select_for_update(of=("self",)).select_related("user").get(pk=membership.pk)
    )
    _ensure_may_grant(access=access, role=membership.role)
    _ensure_an_owner_remains(membership=membership)
    audit_record(
        actor=actor,
        action="membership.removed",
        organization=membership.organization,
        target=membership,
        metadata={"email": membership.user.email, "role": membership.role},
    )
    membership.delete()


def invitation_url(token: str) -> str:
    return f"{settings.SITE_URL}/console/invitations/{token}/"


@transaction.atomic
def invitation_create(
    *, organization: Organization, email: str, role: str, access: Access, actor: Actor
) -> tuple[Invitation, str]:
    """Return the invitation and its raw token (stored only hashed; shown to the inviter once)."""
    email = email.strip().lower()
    _ensure_may_grant(access=access, role=role)
    if Membership.objects.for_org(organization).filter(user__email__iexact=email).exists():
        raise Conflict(
            f"{email} is already a member of {organization.name}.", fields={"email": ["already a member"]}
        )
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        organization=organization,
        email=email,
        role=role,
        token_hash=hash_secret(token),
        invited_by=actor.user,
        expires_at=timezone.now() + timedelta(days=settings.INVITATION_TTL_DAYS),
    )
    audit_record(
        actor=actor,
        action="invitation.created",
        organization=organization,
        target=invitation,
        metadata={"email": email, "role": role},
    )
    context = {
        "organization": organization,
        "invitation": invitation,
        "url": invitation_url(token),
        "inviter": actor.label,
    }
    transaction.on_commit(
        lambda: send_mail(
            subject=f"You are invited to {organization.name} on Statux Insights",
            message=render_to_string("emails/invitation.txt", context),
            from_email=None,
            recipient_list=[email],
        )
    )
    return invitation, token


def invitation_get_pending(*, token: str) -> Invitation:
    invitation = (
        Invitation.objects.select_related("organization").filter(token_hash=hash_secret(token)).first()
    )
    if invitation is None or invitation.state != "pending":
        state = invitation.state if invitation else "unknown"
        raise NotFound(f"This invitation is {state if state != 'unknown' else 'not valid'}.")
    return invitation


@transaction.atomic
def invitation_accept(*, token: str, password: str, name: str = "", ip_address: str | None = None) -> User:
    """Create the invited user, or add the membership to an existing account whose password matches."""
    invitation = invitation_get_pending(token=token)
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.state != "pending":  # accepted concurrently
        raise NotFound(f"This invitation is {invitation.state}.")
    user = User.objects.filter(email__iexact=invitation.email).first()
    if user is None:
        candidate = User(email=invitation.email, name=name)
        try:
            validate_password(password, user=candidate)
        except DjangoValidationError as exc:
            raise StatuxError("The password is too weak.", fields={"password": list(exc.messages)}) from None
        user = User.objects.create_user(email=invitation.email, password=password, name=name)
    elif not user.check_password(password):
        # The link alone must not open an existing account: whoever holds it proves the account's password.
        raise StatuxError(
            "An account with this email exists; enter its password to accept.",
            fields={"password": ["does not match the existing account"]},
        )
    actor = Actor(user=user, ip_address=ip_address)
    Membership.objects.create(organization=invitation.organization, user=user, role=invitation.role)
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at", "updated_at"])
    audit_record(
        actor=actor,
        action="invitation.accepted",
        organization=invitation.organization,
        target=invitation,
        metadata={"email": user.email, "role": invitation.role},
    )
    return user


@transaction.atomic
def invitation_revoke(*, invitation: Invitation, actor: Actor) -> Invitation:
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.state == "pending":
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at", "updated_at"])
        audit_record(
            actor=actor,
            action="invitation.revoked",
            organization=invitation.organization,
            target=invitation,
            metadata={"email": invitation.email},
        )
    return invitation


@transaction.atomic
def api_key_create(
    *,
    organization: Organization,
    name: str,
    scope: str,
    rate_limit_rps: int | None = None,
    expires_at: datetime | None = None,
    access: Access,
    actor: Actor,
) -> tuple[ApiKey, str]:
    """Return the key and its full secret, which is stored only as a SHA-256 and never shown again."""
    if SCOPE_LEVELS[scope] > access.level:
        raise Forbidden(f"Your role '{access.role}' cannot create a key of scope '{scope}'.")
    if expires_at is not None and expires_at <= timezone.now():
        raise StatuxError(
            "expires_at must be in the future.", fields={"expires_at": ["must be in the future"]}
        )
    raw = f"isage_{secrets.token_urlsafe(32)}"
    key = ApiKey.objects.create(
        organization=organization,
        key_id=f"isage_key_{secrets.token_hex(8)}",
        name=name,
        prefix=raw[:12],
        key_hash=hash_secret(raw),
        scope=scope,
        rate_limit_rps=rate_limit_rps,
        expires_at=expires_at,
        created_by=actor.user,
    )
    audit_record(
        actor=actor,
        action="apikey.created",
        organization=organization,
        target=key,
        metadata={"scope": scope, "name": name},
    )
    return key, raw


@transaction.atomic
def api_key_revoke(*, key: ApiKey, actor: Actor) -> ApiKey:
    """Idempotent: revoking a revoked key changes nothing and writes no second audit row."""
    key = ApiKey.objects.select_for_update().get(pk=key.pk)
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at", "updated_at"])
        audit_record(
            actor=actor,
            action="apikey.revoked",
            organization=key.organization,
            target=key,
            metadata={"name": key.name},
        )
    return key


@transaction.atomic
def user_update(*, user: User, actor: Actor, **changes: Any) -> User:
    fields = [field for field in ("name", "timezone") if field in changes]
    for field in fields:
        setattr(user, field, changes[field])
    if fields:
        user.save(update_fields=fields)
        audit_record(
            actor=actor,
            action="user.updated",
            organization=None,
            target=user,
            metadata={field: changes[field] for field in fields},
        )
    return user


def notification_preferences_get(*, user: User) -> NotificationPreferences:
    preferences, _ = NotificationPreferences.objects.get_or_create(user=user)
    return preferences


@transaction.atomic
def notification_preferences_update(*, user: User, actor: Actor, **changes: Any) -> NotificationPreferences:
    preferences = notification_preferences_get(user=user)
    for field, value in changes.items():
        setattr(preferences, field, value)
    if changes:
        preferences.save()
        audit_record(
            actor=actor,
            action="user.notifications_updated",
            organization=None,
            target=user,
            metadata={key: value for key, value in changes.items()},
        )
    return preferences


def heartbeat_record(*, name: str, details: dict[str, Any] | None = None) -> Heartbeat:
    heartbeat, _ = Heartbeat.objects.update_or_create(
        name=name, defaults={"last_seen_at": timezone.now(), "details": details or {}}
    )
    return heartbeat
