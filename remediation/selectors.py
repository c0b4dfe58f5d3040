"""Reads for remediation: guardrail policies."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet

from remediation.models import GuardrailPolicy
from statux.errors import NotFound
from statux.models import Organization


def guardrail_policy_list(*, organization: Organization) -> QuerySet[GuardrailPolicy]:
    return (
        GuardrailPolicy.objects.for_org(organization)
        .select_related("updated_by")
        .order_by("-enabled", "name")
    )


def guardrail_policy_get(*, organization: Organization, policy_id: str) -> GuardrailPolicy:
    try:
        return guardrail_policy_list(organization=organization).get(pk=uuid.UUID(str(policy_id)))
    except (GuardrailPolicy.DoesNotExist, ValueError):
        raise NotFound(f"Guardrail policy {policy_id} not found.") from None


def guardrail_policy_active(*, organization: Organization) -> GuardrailPolicy | None:
    """The enabled policy, or None when the built-in default applies. One query, on a unique index."""
    return GuardrailPolicy.objects.for_org(organization).filter(enabled=True).first()
