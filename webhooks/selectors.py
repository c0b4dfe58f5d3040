"""Reads for ingestion: webhook configs, the dead letter, deploys."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet

from statux.errors import NotFound
from statux.models import Organization, hash_secret
from webhooks.models import InboundEvent, InboundStatus, WebhookConfig


def dead_letter_list(*, organization: Organization) -> QuerySet[InboundEvent]:
    return (
        InboundEvent.objects.for_org(organization)
        .filter(status=InboundStatus.DEAD)
        .order_by("-dead_lettered_at", "-created_at")
    )


def dead_letter_get(*, organization: Organization, event_id: str) -> InboundEvent:
    try:
        return dead_letter_list(organization=organization).get(pk=uuid.UUID(str(event_id)))
    except (InboundEvent.DoesNotExist, ValueError):
        raise NotFound(f"Dead-letter entry {event_id} not found.") from None


def webhook_config_list(*, organization: Organization) -> QuerySet[WebhookConfig]:
    return WebhookConfig.objects.for_org(organization).order_by("-created_at")


def webhook_config_get(*, organization: Organization, config_id: str) -> WebhookConfig:
    try:
        return webhook_config_list(organization=organization).get(pk=uuid.UUID(str(config_id)))
    except (WebhookConfig.DoesNotExist, ValueError):
        raise NotFound(f"Webhook config {config_id} not found.") from None


def webhook_config_by_key(*, raw_key: str) -> WebhookConfig | None:
    """Public ingest: the key in the path names the config (and so the organization)."""
    return WebhookConfig.objects.select_related("organization").filter(key_hash=hash_secret(raw_key)).first()
