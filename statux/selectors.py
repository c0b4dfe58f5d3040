"""Reads for the core: members, keys, audit log, tenants."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from django.db.models import Q, QuerySet
from django.utils import timezone

from statux.errors import NotFound
from statux.models import ApiKey, AuditLog, Invitation, Membership, Organization, User


def membership_list(*, organization: Organization) -> QuerySet[Membership]:
    return Membership.objects.for_org(organization).select_related("user").order_by("created_at", "pk")


def membership_get(*, organization: Organization, user_id: str) -> Membership:
    try:
        return membership_list(organization=organization).get(user_id=uuid.UUID(str(user_id)))
    except (Membership.DoesNotExist, ValueError):  # a malformed id is just "not found"
        raise NotFound(f"User {user_id} is not a member of this organization.") from None


def invitation_list_pending(*, organization: Organization) -> list[Invitation]:
    invitations = Invitation.objects.for_org(organization).filter(accepted_at=None, revoked_at=None)
    return [
        i for i in invitations.select_related("invited_by").order_by("-created_at") if i.state == "pending"
    ]


def invitation_get_pending(*, organization: Organization, invitation_id: uuid.UUID) -> Invitation:
    invitation = next(
        (i for i in invitation_list_pending(organization=organization) if i.id == invitation_id), None
    )
    if invitation is None:
        raise NotFound("That invitation is no longer pending; it was accepted, revoked or expired.")
    return invitation


def api_key_list(*, organization: Organization) -> QuerySet[ApiKey]:
    return ApiKey.objects.for_org(organization).select_related("created_by").order_by("-created_at")


def api_key_list_active(*, organization: Organization) -> QuerySet[ApiKey]:
    now = timezone.now()
    return api_key_list(organization=organization).filter(
        Q(expires_at=None) | Q(expires_at__gt=now), revoked_at=None
    )


def api_key_get(*, organization: Organization, key_id: str) -> ApiKey:
    key = api_key_list(organization=organization).filter(key_id=key_id).first()
    if key is None:
        raise NotFound(f"API key {key_id} not found.")
    return key


def audit_log_list(
    *, organization: Organization, filters: Mapping[str, str] | None = None
) -> QuerySet[AuditLog]:
    rows = AuditLog.objects.for_org(organization).select_related("actor_user")
    filters = filters or {}
    if action := filters.get("action"):
        rows = rows.filter(action__startswith=action)
    if actor := filters.get("actor"):
        rows = rows.filter(actor__icontains=actor)
    return rows.order_by("-created_at", "-id")


def organization_list() -> QuerySet[Organization]:
    return Organization.objects.order_by("created_at")


def user_organizations(*, user: User) -> QuerySet[Membership]:
    return Membership.objects.filter(user=user).select_related("organization").order_by("created_at")


def user_exists(*, email: str) -> bool:
    return User.objects.filter(email__iexact=email).exists()
