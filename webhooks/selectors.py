"""Reads for ingestion: webhook configs, the dead letter, deploys."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.db.models import QuerySet

from analyses.models import Incident
from statux.errors import NotFound
from statux.models import Organization, hash_secret
from webhooks.models import DeployEvent, InboundEvent, InboundStatus, WebhookConfig


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


def deploy_recent(*, organization: Organization, service: str = "") -> QuerySet[DeployEvent]:
    deploys = DeployEvent.objects.for_org(organization)
    if service:
        deploys = deploys.filter(service=service)
    return deploys.order_by("-deployed_at")


@dataclass(frozen=True)
class DeployCorrelation:
    deploy: DeployEvent | None
    minutes_before_incident: float | None
    lookback_minutes: int
    message: str


def deploy_correlation(*, incident: Incident, lookback_minutes: int) -> DeployCorrelation:
    """The nearest deploy of the incident's service before it started, inside the lookback window."""
    started = incident.started_at or incident.created_at
    deploy = None
    if incident.service:
        deploy = (
            deploy_recent(organization=incident.organization, service=incident.service)
            .filter(deployed_at__lte=started, deployed_at__gte=started - timedelta(minutes=lookback_minutes))
            .first()
        )
    if deploy is None:
        what = incident.service or "the incident's service (unknown)"
        return DeployCorrelation(
            None,
            None,
            lookback_minutes,
            f"No deploy of {what} in the {lookback_minutes} min before this incident",
        )
    minutes = round((started - deploy.deployed_at).total_seconds() / 60, 1)
    shown = int(minutes) if minutes == int(minutes) else minutes
    who = deploy.actor or "an unknown actor"
    return DeployCorrelation(
        deploy,
        minutes,
        lookback_minutes,
        f"Deploy by {who} ({deploy.service}) was {shown} min before this incident",
    )
