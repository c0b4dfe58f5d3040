"""Writes for ingestion: store every request first, then normalize, dedup and group; dead-letter failures."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import logging
import secrets
import time
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from analyses.models import Incident
from analyses.services import anomaly_record, incident_change_status, incident_record_alert, timeline_record
from statux.audit import Actor, audit_record
from statux.errors import InvalidTransition, StatuxError
from statux.metrics import ALERTS_INGESTED
from statux.models import Organization, hash_secret
from statux.registry import UnknownIntegration
from usage.services import usage_record_events
from webhooks.models import DeployEvent, InboundChannel, InboundEvent, InboundStatus, WebhookConfig
from webhooks.normalizers.base import InvalidPayload, NormalizedAlert, normalizers, require_dict

logger = logging.getLogger(__name__)


class InvalidJson(InvalidPayload):
    code = "invalid_json"


class UnknownSource(InvalidPayload):
    code = "unknown_source"


class UnsupportedEvent(InvalidPayload):
    code = "unsupported_event"


class SignatureRejected(StatuxError):
    status, code = 401, "invalid_signature"


def _reject_constant(name: str) -> None:
    raise InvalidJson(f"{name} is not valid JSON.")


def parse_json_body(text: str) -> Any:
    """Decode a stored request body; anything that is not JSON is InvalidPayload, never a crash."""
    if not text.strip():
        raise InvalidJson("The body is empty; send a JSON object.")
    # PostgreSQL text cannot hold NUL characters; an escaped \u0000 becomes U+FFFD instead of an error later.
    text = text.replace("\\u0000", "\\ufffd")
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise InvalidJson(
            f"The body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}."
        ) from None
    except RecursionError:
        raise InvalidJson("The JSON is nested too deeply.") from None


def storable_text(body: bytes) -> str:
    # Text columns hold neither undecodable bytes nor NUL characters; both become U+FFFD.
    return body.decode("utf-8", "replace").replace("\x00", "\ufffd")


def inbound_event_store(
    *,
    organization: Organization,
    channel: str,
    source: str,
    body: bytes,
    webhook_config: WebhookConfig | None = None,
) -> InboundEvent:
    """Persist the raw request, pending, before anything can fail; committed on its own."""
    return InboundEvent.objects.create(**_event_fields(organization, channel, source, body, webhook_config))


def _event_fields(
    organization: Organization, channel: str, source: str, body: bytes, webhook_config: WebhookConfig | None
) -> dict[str, Any]:
    return {
        "organization": organization,
        "channel": channel,
        "source": source[:64],
        "body": storable_text(body),
        "webhook_config": webhook_config,
        "attempts": 1,  # the inline try that follows at once
    }


def inbound_event_process(*, event_id: Any) -> dict[str, Any]:
    """Process the stored event by its channel. Safe to run twice: a processed event is skipped.

    Raises InvalidPayload when the payload can never be processed; any other error is transient.
    """
    InboundEvent.objects.filter(pk=event_id, status=InboundStatus.PENDING).update(attempts=F("attempts") + 1)
    with transaction.atomic():
        event = (
            InboundEvent.objects.select_for_update(of=("self",))
            .select_related("organization")
            .get(pk=event_id)
        )
        if event.status != InboundStatus.PENDING:
            return event.result
        alert_count = _process(event)
    ALERTS_INGESTED.labels(event.source, "processed").inc(alert_count)
    return event.result


def _process(event: InboundEvent) -> int:
    """Run the channel's handler and mark the event processed; returns how many alerts it held.

    An event not saved yet (the inline try) is inserted here, already processed, in the caller's transaction.
    """
    handler = CHANNEL_HANDLERS.get(event.channel, _record_alerts)
    event.result, alert_count = handler(event)
    event.status, event.processed_at, event.error = InboundStatus.PROCESSED, timezone.now(), ""
    if event._state.adding:
        event.save(force_insert=True)
    else:
        event.save(update_fields=["status", "processed_at", "error", "result", "updated_at"])
    usage_record_events(organization=event.organization, count=alert_count)
    return alert_count


def _normalize(event: InboundEvent) -> list[NormalizedAlert]:
    try:
        normalizer = normalizers.get(event.source)
    except UnknownIntegration:
        known = ", ".join(normalizers.names()) or "none"
        raise UnknownSource(f"Unknown X-Source '{event.source}'; known: {known}.") from None
    # An empty list is a valid answer: provider pings and notes carry no alert, and a sender that sees
    # errors for them retries and may switch the integration off.
    return normalizer().normalize(parse_json_body(event.body))


def _record_alerts(event: InboundEvent) -> tuple[dict[str, Any], int]:
    alerts = _normalize(event)
    outcomes = [incident_record_alert(organization=event.organization, alert=alert) for alert in alerts]
    return {"alerts": [outcome.as_dict() for outcome in outcomes]}, len(alerts)


def _record_alerts_and_anomalies(event: InboundEvent) -> tuple[dict[str, Any], int]:
    """AIops Alertmanager webhook: incidents as usual, plus an anomaly for each firing alert."""
    alerts = _normalize(event)
    results = []
    for alert in alerts:
        outcome = incident_record_alert(organization=event.organization, alert=alert)
        item = outcome.as_dict()
        if alert.status == "firing" and outcome.incident is not None:
            metric = alert.metric or alert.labels.get("alertname", "") or alert.title
            item["anomaly_id"] = anomaly_record(
                organization=event.organization, incident=outcome.incident, metric_name=metric
            ).pk
        results.append(item)
    return {"alerts": results}, len(alerts)


PAGERDUTY_EVENT_TYPES = {
    "pagey.ping",
    "incident.triggered",
    "incident.acknowledged",
    "incident.unacknowledged",
    "incident.resolved",
    "incident.reopened",
    "incident.reassigned",
    "incident.escalated",
    "incident.delegated",
    "incident.priority_updated",
    "incident.annotated",
    "incident.responder.added",
    "incident.responder.replied",
    "incident.status_update_published",
    "incident.custom_field_values.updated",
    "incident.service_updated",
    "incident.incident_type.changed",
    "incident.conference_bridge.updated",
    "incident.workflow.started",
    "incident.workflow.completed",
}


def _pagerduty_sync(event: InboundEvent) -> tuple[dict[str, Any], int]:
    """PagerDuty v3 webhook: create or update the linked local incident (bidirectional sync, inbound half)."""
    payload = require_dict(parse_json_body(event.body))
    pd_event = require_dict(payload.get("event"), "'event'")
    event_type = pd_event.get("event_type")
    if event_type not in PAGERDUTY_EVENT_TYPES:
        raise UnsupportedEvent(
            f"Unsupported PagerDuty event type {event_type!r}; "
            f"supported: {', '.join(sorted(PAGERDUTY_EVENT_TYPES))}."
        )
    organization = event.organization
    data = pd_event.get("data") if isinstance(pd_event.get("data"), dict) else {}
    reference = data.get("incident") if isinstance(data.get("incident"), dict) else data  # notes point at it
    pd_id = str(reference.get("id") or "")
    alerts = normalizers.get("pagerduty")().normalize(payload)
    incident = (
        Incident.objects.for_org(organization)
        .filter(fingerprint=alerts[0].fingerprint if alerts else f"pagerduty:{pd_id}")
        .order_by("-created_at")
        .first()
    )
    if not alerts:  # pings, notes and other events that carry no incident state
        if incident is not None:
            timeline_record(
                incident=incident,
                event_type="external_update",
                actor="pagerduty",
                payload={"event_type": event_type, "pd_incident_id": pd_id},
            )
        action = "updated" if incident is not None else "ignored"
        result = {
            "event_type": event_type,
            "pd_incident_id": pd_id,
            "local_incident_id": incident.pk if incident else None,
            "action_taken": action,
        }
        return result, 0
    alert = alerts[0]
    firing = dataclasses.replace(alert, status="firing")
    actor = Actor(system="pagerduty")
    if incident is None or event_type == "incident.triggered":
        outcome = incident_record_alert(organization=organization, alert=firing)
        incident, action = outcome.incident, "created" if outcome.created else "updated"
    else:
        action = "updated"
    moves = {
        "incident.acknowledged": ("acknowledged", "acknowledged"),
        "incident.resolved": ("resolved", "resolved"),
        "incident.unacknowledged": ("open", "reopened"),
        "incident.reopened": ("open", "reopened"),
    }
    if event_type in moves:
        target, verb = moves[event_type]
        try:
            incident = incident_change_status(incident=incident, status=target, actor=actor)
            action = verb
        except InvalidTransition as exc:
            action = "ignored"
            timeline_record(
                incident=incident,
                event_type="external_update",
                actor="pagerduty",
                payload={"event_type": event_type, "ignored": exc.message},
            )
    elif event_type != "incident.triggered":
        timeline_record(
            incident=incident,
            event_type="external_update",
            actor="pagerduty",
            payload={"event_type": event_type, "pd_incident_id": alert.external_id},
        )
    result = {
        "event_type": event_type,
        "pd_incident_id": alert.external_id,
        "local_incident_id": incident.pk,
        "action_taken": action,
    }
    return result, 1


CHANNEL_HANDLERS = {
    InboundChannel.AIOPS_ALERTS: _record_alerts_and_anomalies,
    InboundChannel.PAGERDUTY: _pagerduty_sync,
}


def inbound_event_receive(
    *,
    organization: Organization,
    channel: str,
    source: str,
    body: bytes,
    webhook_config: WebhookConfig | None = None,
) -> tuple[InboundEvent, dict[str, Any] | None]:
    """Process inline, storing the raw event in the same transaction. Returns (event, result); result is
    None when processing was queued.

    One transaction both processes the alerts and inserts the event already processed, so a request
    commits once. When processing fails, that transaction rolls back and the event is stored on its own,
    before any answer: dead-lettered (InvalidPayload, re-raised for the caller to answer) or pending for
    the retrying task. If even that store fails the request fails, and the sender, not acknowledged,
    sends again; so nothing accepted is lost.
    """
    from webhooks.tasks import inbound_event_process_task  # tasks import this module

    fields = _event_fields(organization, channel, source, body, webhook_config)
    event = InboundEvent(**fields)
    fields |= {"id": event.pk, "created_at": event.created_at}  # a failure stores this very event
    try:
        # No lock needed: nobody else knows this event until it commits (the task is queued only below).
        with transaction.atomic():
            alert_count = _process(event)
        ALERTS_INGESTED.labels(event.source, "processed").inc(alert_count)
        return event, event.result
    except InvalidPayload as exc:
        event = InboundEvent.objects.create(
            **fields, status=InboundStatus.DEAD, error=str(exc)[:5000], dead_lettered_at=timezone.now()
        )
        ALERTS_INGESTED.labels(event.source, "dead_lettered").inc()
        raise
    except Exception:  # the task retries with backoff, then dead-letters
        logger.exception("Inbound event %s failed inline; storing it and queuing a retry", event.pk)
        # A failure after the commit (an on_commit enqueue to a broker that went away) finds it processed.
        event, created = InboundEvent.objects.get_or_create(id=event.pk, defaults=fields)
        if not created and event.status == InboundStatus.PROCESSED:
            return event, event.result
        inbound_event_process_task.apply_async(args=[str(event.pk)], countdown=1)
        return event, None


def inbound_event_dead_letter(*, event_id: Any, reason: str) -> InboundEvent | None:
    """Park an event that cannot be processed, keeping its body for inspection and replay."""
    updated = InboundEvent.objects.filter(pk=event_id, status=InboundStatus.PENDING).update(
        status=InboundStatus.DEAD,
        error=reason[:5000],
        dead_lettered_at=timezone.now(),
        updated_at=timezone.now(),
    )
    event = InboundEvent.objects.filter(pk=event_id).first()
    if updated and event is not None:
        ALERTS_INGESTED.labels(event.source, "dead_lettered").inc()
    return event


@transaction.atomic
def inbound_event_replay(*, event: InboundEvent, actor: Actor) -> InboundEvent:
    """Put a dead-lettered event back in line; the caller then processes it (task or inline)."""
    updated = InboundEvent.objects.filter(pk=event.pk, status=InboundStatus.DEAD).update(
        status=InboundStatus.PENDING, error="", dead_lettered_at=None, updated_at=timezone.now()
    )
    if updated:
        audit_record(
            actor=actor,
            action="inbound_event.replayed",
            organization=event.organization,
            target=event,
            metadata={"source": event.source},
        )
    event.refresh_from_db()
    return event


def inbound_event_replay_now(*, event: InboundEvent, actor: Actor) -> InboundEvent:
    """Replay one dead-lettered event inline; it ends processed, or dead-lettered again with the new error."""
    event = inbound_event_replay(event=event, actor=actor)
    try:
        inbound_event_process(event_id=event.pk)
    except InvalidPayload as exc:
        inbound_event_dead_letter(event_id=event.pk, reason=str(exc))
    except Exception as exc:  # still broken: back to the dead letter with today's reason
        logger.exception("Replay of inbound event %s failed", event.pk)
        inbound_event_dead_letter(event_id=event.pk, reason=f"replay failed: {exc!r}")
    event.refresh_from_db()
    return event


# --- Webhook configs (Statux ingest keys) ---------------------------------------------------------------

INGEST_KEY_PREFIX = "ins_"


def _new_ingest_key() -> str:
    return f"{INGEST_KEY_PREFIX}{secrets.token_urlsafe(32)}"


def _check_normalizer(name: str) -> None:
    if name not in normalizers.names():
        known = ", ".join(normalizers.names()) or "none"
        raise StatuxError(f"Unknown normalizer '{name}'; known: {known}.", fields={"normalizer": ["unknown"]})


@transaction.atomic
def webhook_config_create(
    *,
    organization: Organization,
    name: str,
    source_product: str,
    normalizer: str = "webhook",
    secret: str = "",
    enabled: bool = True,
    actor: Actor,
) -> tuple[WebhookConfig, str]:
    """Return the config and its full `ins_…` key, which is stored only hashed and shown once."""
    _check_normalizer(normalizer)
    raw = _new_ingest_key()
    config = WebhookConfig.objects.create(
        organization=organization,
        name=name,
        source_product=source_product,
        normalizer=normalizer,
        key_prefix=raw[:12],
        key_hash=hash_secret(raw),
        secret=secret,
        enabled=enabled,
        created_by=actor.user,
    )
    audit_record(
        actor=actor,
        action="webhook_config.created",
        organization=organization,
        target=config,
        metadata={"normalizer": normalizer, "signed": bool(secret)},
    )
    return config, raw


@transaction.atomic
def webhook_config_update(*, config: WebhookConfig, actor: Actor, **changes: Any) -> WebhookConfig:
    if "normalizer" in changes:
        _check_normalizer(changes["normalizer"])
    config = WebhookConfig.objects.select_for_update().get(pk=config.pk)
    for field, value in changes.items():
        setattr(config, field, value)
    if changes:
        config.save(update_fields=[*changes, "updated_at"])
        shown = {key: (bool(value) if key == "secret" else value) for key, value in changes.items()}
        audit_record(
            actor=actor,
            action="webhook_config.updated",
            organization=config.organization,
            target=config,
            metadata=shown,
        )
    return config


@transaction.atomic
def webhook_config_regenerate_key(*, config: WebhookConfig, actor: Actor) -> tuple[WebhookConfig, str]:
    """A new key works at once and the old one stops at once."""
    config = WebhookConfig.objects.select_for_update().get(pk=config.pk)
    raw = _new_ingest_key()
    config.key_prefix, config.key_hash = raw[:12], hash_secret(raw)
    config.save(update_fields=["key_prefix", "key_hash", "updated_at"])
    audit_record(
        actor=actor, action="webhook_config.key_regenerated", organization=config.organization, target=config
    )
    return config, raw


@transaction.atomic
def webhook_config_delete(*, config: WebhookConfig, actor: Actor) -> None:
    audit_record(
        actor=actor,
        action="webhook_config.deleted",
        organization=config.organization,
        target=config,
        metadata={"name": config.name},
    )
    config.delete()


def webhook_config_verify_signature(
    *, config: WebhookConfig, body: bytes, signature: str, timestamp: str = ""
) -> None:
    """HMAC-SHA256 of the raw body (hex, optional `sha256=` prefix). With `x-webhook-timestamp`, the signed
    string is "<timestamp>.<body>" and a timestamp older than the tolerance is refused, so a captured
    request cannot be replayed later."""
    if not config.secret:
        return
    if not signature:
        raise SignatureRejected("This webhook requires an x-webhook-signature header.")
    received = signature.strip().removeprefix("sha256=").lower()
    message = body
    if timestamp:
        try:
            sent_at = int(timestamp)
        except ValueError:
            raise SignatureRejected("x-webhook-timestamp must be Unix seconds.") from None
        if abs(time.time() - sent_at) > settings.WEBHOOK_SIGNATURE_TOLERANCE_SECONDS:
            raise SignatureRejected(
                "x-webhook-timestamp is too old or too far in the future; replay refused."
            )
        message = f"{sent_at}.".encode() + body
    expected = hmac.new(config.secret.encode(), message, hashlib.sha256).hexdigest()
    # Constant-time compare: a plain == leaks how many leading characters matched.
    if not hmac.compare_digest(expected, received):
        raise SignatureRejected("x-webhook-signature does not match the request body.")


def webhook_config_record_receipt(*, config: WebhookConfig, accepted: bool) -> None:
    counter = "received_count" if accepted else "rejected_count"
    WebhookConfig.objects.filter(pk=config.pk).update(
        **{counter: F(counter) + 1}, **({"last_received_at": timezone.now()} if accepted else {})
    )


# --- Deploy events -------------------------------------------------------------------------------------


@transaction.atomic
def deploy_event_record(
    *,
    organization: Organization,
    service: str,
    namespace: str = "",
    environment: str = "",
    image: str = "",
    actor_name: str = "",
    commit_sha: str = "",
    deployed_at: Any = None,
    actor: Actor,
) -> DeployEvent:
    deploy = DeployEvent.objects.create(
        organization=organization,
        service=service,
        namespace=namespace,
        environment=environment,
        image=image,
        actor=actor_name,
        commit_sha=commit_sha,
        deployed_at=deployed_at or timezone.now(),
    )
    audit_record(
        actor=actor,
        action="deploy.recorded",
        organization=organization,
        target=deploy,
        metadata={"service": service, "image": image},
    )
    return deploy
