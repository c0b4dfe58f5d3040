"""The one tenancy helper: every tenant read starts at `for_org`, every request resolves its tenant here."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Self

from django.db import models
from django.utils import timezone

if TYPE_CHECKING:
    from statux.models import Organization


class TenantQuerySet(models.QuerySet):
    def for_org(self, organization: Organization | None) -> Self:
        if organization is None:  # never "every tenant" by accident
            raise LookupError(f"{self.model.__name__} queried without an organization")
        return self.filter(organization=organization)

    def for_org_id(self, organization_id: Any) -> Self:
        """For code that holds a row's `organization_id` (tasks, child rows) and no Organization object."""
        if organization_id is None:
            raise LookupError(f"{self.model.__name__} queried without an organization")
        return self.filter(organization_id=organization_id)


class TenantModel(models.Model):
    organization = models.ForeignKey("statux.Organization", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)  # tests and imports may set it
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        abstract = True


@dataclass(frozen=True)
class Access:
    """What the caller may do in the resolved organization."""

    organization: Organization
    role: str
    level: int
    permissions: tuple[str, ...]

    def allows(self, permission: str) -> bool:
        # Posting alerts ("ingest") is part of "write" for people; ingestion-scoped keys have only it.
        return permission in self.permissions or (permission == "ingest" and "write" in self.permissions)


SUPER_ADMIN_PERMISSIONS = ("read", "write", "ingest", "manage_keys", "manage_users", "billing")


def organization_lookup_filter(reference: str) -> dict[str, Any]:
    try:
        return {"id": uuid.UUID(str(reference))}
    except ValueError:
        return {"slug": str(reference).lower()}


def resolve_organization(request: Any, org_ref: str | None = None) -> Access:
    """Decide the request's tenant once: path `{orgId}`, API key, `X-Workspace-Id`, JWT claim, session.

    Raises NotFound for an organization that does not exist or that the caller cannot see (the same
    answer for both, so ids of other tenants leak nothing) and Forbidden when nothing can be resolved.
    """
    from statux.authentication import StaticKey
    from statux.errors import Forbidden, NotFound
    from statux.models import ROLE_LEVELS, SCOPE_LEVELS, ApiKey, Membership, Organization

    key = getattr(request, "auth", None)
    header_ref = request.META.get("HTTP_X_WORKSPACE_ID", "").strip() or None
    explicit = org_ref or header_ref
    if isinstance(key, ApiKey):
        organization = key.organization
        if explicit and organization_lookup_filter(explicit) not in (
            {"id": organization.id},
            {"slug": organization.slug},
        ):
            raise NotFound(f"Organization '{explicit}' not found.")
        return Access(organization, key.scope, SCOPE_LEVELS[key.scope], key.permissions)
    user = request.user
    if isinstance(key, StaticKey):
        from statux.services import organization_default

        organization = organization_default()
        if explicit and organization_lookup_filter(explicit) not in (
            {"id": organization.id},
            {"slug": organization.slug},
        ):
            raise NotFound(f"Organization '{explicit}' not found.")
        return Access(organization, "operator", ROLE_LEVELS["operator"], StaticKey.permissions)

    implicit = [] if explicit else [_token_claim(key), _session_org(request)]
    for reference, must_exist in [(explicit, True), *((ref, False) for ref in implicit)]:
        if not reference:
            continue
        lookup = organization_lookup_filter(reference)
        cached = getattr(user, "token_membership", None)  # fetched with the user by OrgJWTAuthentication
        if cached is not None and lookup in (
            {"id": cached.organization.id},
            {"slug": cached.organization.slug},
        ):
            return Access(cached.organization, cached.role, cached.level, cached.permissions)
        membership = (
            Membership.objects.select_related("organization")
            .filter(user=user, **{f"organization__{field}": value for field, value in lookup.items()})
            .first()
        )
        if membership is not None:
            return Access(membership.organization, membership.role, membership.level, membership.permissions)
        if user.is_superuser and (organization := Organization.objects.filter(**lookup).first()):
            return Access(organization, "super_admin", 5, SUPER_ADMIN_PERMISSIONS)
        if must_exist:
            raise NotFound(f"Organization '{reference}' not found.")
    membership = (
        Membership.objects.select_related("organization").filter(user=user).order_by("created_at").first()
    )
    if membership is not None:
        return Access(membership.organization, membership.role, membership.level, membership.permissions)
    if user.is_superuser:
        from statux.services import organization_default

        return Access(organization_default(), "super_admin", 5, SUPER_ADMIN_PERMISSIONS)
    raise Forbidden("You do not belong to any organization yet; ask an admin for an invitation.")


def _token_claim(token: Any) -> str | None:
    return token.get("org") if hasattr(token, "get") else None


def _session_org(request: Any) -> str | None:
    session = getattr(getattr(request, "_request", request), "session", None)
    return session.get("organization_id") if session is not None else None
