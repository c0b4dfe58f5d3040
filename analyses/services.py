"""Writes for incidents: dedup and grouping of alerts, the status workflow, notes, the timeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from analyses.models import (
    ACTIVE_STATUSES,
    Anomaly,
    Incident,
    IncidentEvent,
    IncidentEventType,
    IncidentNote,
    KnowledgeBaseEntry,
)
from statux.audit import Actor, audit_record
from statux.errors import InvalidTransition
from statux.models import Organization
from webhooks.normalizers.base import SEVERITIES, NormalizedAlert

SEVERITY_RANK = {severity: rank for rank, severity in enumerate(reversed(SEVERITIES))}  # info 0 … critical 3


@dataclass(frozen=True)
class AlertOutcome:
    """What one alert did: created or joined an incident, or resolved one."""

    incident: Incident | None
    created: bool = False
    deduplicated: bool = False
    dedup_strategy: str | None = None
    group_id: str | None = None
    resolved: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "incident_id": self.incident.pk if self.incident else None,
            "created": self.created,
            "deduplicated": self.deduplicated,
            "dedup_strategy": self.dedup_strategy,
            "group_id": self.group_id,
            "resolved": self.resolved,
        }


def timeline_record(
    *, incident: Incident, event_type: str, actor: str, payload: dict | None = None
) -> IncidentEvent:
    return IncidentEvent.objects.create(
        organization_id=incident.organization_id,
        incident=incident,
        event_type=event_type,
        actor=actor,
        payload=payload or {},
    )


def _alert_summary(alert: NormalizedAlert) -> dict[str, Any]:
    return {
        "source": alert.source,
        "severity": alert.severity,
        "status": alert.status,
        "title": alert.title,
        "fingerprint": alert.fingerprint,
        **({"service": alert.service} if alert.service else {}),
        **({"external_id": alert.external_id} if alert.external_id else {}),
    }


def _incident_fields(alert: NormalizedAlert) -> dict[str, Any]:
    return {
        "title": alert.title,
        "description": alert.description,
        "severity": alert.severity,
        "source": alert.source,
        "service": alert.service[:200],
        "namespace": alert.namespace[:200],
        "pod": alert.pod[:300],
        "deployment": alert.deployment[:200],
        "fingerprint": alert.fingerprint[:128],
        "labels": alert.labels,
        "annotations": alert.annotations,
        "external_id": alert.external_id[:200],
        "rule_id": alert.rule_id[:200],
        "rule_name": alert.rule_name[:300],
        "metric": alert.metric[:300],
        "threshold": alert.threshold,
        "actual_value": alert.actual_value,
        "started_at": alert.starts_at,
    }


def _group_parent(*, organization: Organization, alert: NormalizedAlert) -> Incident | None:
    """The open incident of the same service that began within the grouping window, if any."""
    if not alert.service:
        return None
    since = timezone.now() - timedelta(minutes=settings.INCIDENT_GROUP_WINDOW_MINUTES)
    return (
        Incident.objects.for_org(organization)
        .filter(service=alert.service, status__in=ACTIVE_STATUSES, parent=None, created_at__gte=since)
        .exclude(fingerprint=alert.fingerprint)
        .order_by("created_at")
        .first()
    )


@transaction.atomic(savepoint=False)  # the caller's transaction decides; a savepoint costs two statements
def incident_record_alert(*, organization: Organization, alert: NormalizedAlert) -> AlertOutcome:
    """Create an incident for a new alert, or add a repeat to its open incident.

    Race-safe: concurrent posts of one new alert make exactly one incident. The partial unique
    constraint on (organization, fingerprint) among active incidents decides who creates it; the
    losers re-read and count themselves in.
    """
    if alert.status == "resolved":
        return _resolve_from_alert(organization=organization, alert=alert)
    active = Incident.objects.for_org(organization).select_for_update().filter(status__in=ACTIVE_STATUSES)
    incident, strategy = active.filter(fingerprint=alert.fingerprint[:128]).first(), "fingerprint"
    if incident is None and alert.service:
        since = timezone.now() - timedelta(minutes=settings.DEDUP_TITLE_SERVICE_WINDOW_MINUTES)
        incident, strategy = (
            active.filter(title=alert.title, service=alert.service, last_seen_at__gte=since)
            .order_by("-last_seen_at")
            .first(),
            "title_service",
        )
    if incident is None:
        parent = _group_parent(organization=organization, alert=alert)
        try:
            with transaction.atomic():  # savepoint: a lost race must not poison the outer transaction
                incident = Incident.objects.create(
                    organization=organization,
                    parent=parent,
                    correlation_reason="same_service_within_window" if parent else "",
                    **_incident_fields(alert),
                )
        except IntegrityError:  # another request inserted it first; the constraint decided
            incident, strategy = active.get(fingerprint=alert.fingerprint[:128]), "fingerprint"
        else:
            _record_new_incident(incident=incident, alert=alert, parent=parent)
            return AlertOutcome(incident=incident, created=True, group_id=parent.pk if parent else None)
    _count_repeat(incident=incident, alert=alert, strategy=strategy)
    return AlertOutcome(
        incident=incident, deduplicated=True, dedup_strategy=strategy, group_id=incident.parent_id
    )


def _record_new_incident(*, incident: Incident, alert: NormalizedAlert, parent: Incident | None) -> None:
    actor = f"webhook:{alert.source}"
    timeline_record(
        incident=incident,
        event_type=IncidentEventType.ALERT_RECEIVED,
        actor=actor,
        payload=_alert_summary(alert),
    )
    timeline_record(
        incident=incident,
        event_type=IncidentEventType.INCIDENT_CREATED,
        actor="system",
        payload={"title": incident.title, "severity": incident.severity},
    )
    if parent is not None:
        reason = {"parent_id": parent.pk, "correlation_reason": incident.correlation_reason}
        timeline_record(
            incident=incident, event_type=IncidentEventType.GROUPED, actor="system", payload=reason
        )
        timeline_record(
            incident=parent,
            event_type=IncidentEventType.GROUPED,
            actor="system",
            payload={"child_id": incident.pk, "correlation_reason": incident.correlation_reason},
        )


def _count_repeat(*, incident: Incident, alert: NormalizedAlert, strategy: str) -> None:
    changes: dict[str, Any] = {
        "alert_count": F("alert_count") + 1,
        "last_seen_at": timezone.now(),
        "updated_at": timezone.now(),
    }
    if SEVERITY_RANK[alert.severity] > SEVERITY_RANK[incident.severity]:
        changes["severity"] = alert.severity  # a repeat that is worse raises the incident
    if alert.actual_value is not None:
        changes["actual_value"] = alert.actual_value
    Incident.objects.filter(pk=incident.pk).update(**changes)  # F(): no lost counts
    timeline_record(
        incident=incident,
        event_type=IncidentEventType.DEDUPLICATED,
        actor=f"webhook:{alert.source}",
        payload={**_alert_summary(alert), "dedup_strategy": strategy},
    )


def _resolve_from_alert(*, organization: Organization, alert: NormalizedAlert) -> AlertOutcome:
    incidents = Incident.objects.for_org(organization).select_for_update()
    incident = incidents.filter(fingerprint=alert.fingerprint[:128], status__in=ACTIVE_STATUSES).first()
    if incident is None:  # nothing open: the resolve arrived late or twice
        latest = incidents.filter(fingerprint=alert.fingerprint[:128]).order_by("-created_at").first()
        return AlertOutcome(incident=latest, group_id=latest.parent_id if latest else None)
    actor = Actor(system=f"webhook:{alert.source}")
    timeline_record(
        incident=incident,
        event_type=IncidentEventType.ALERT_RESOLVED,
        actor=f"webhook:{alert.source}",
        payload=_alert_summary(alert),
    )
    incident = incident_change_status(incident=incident, status="resolved", actor=actor)
    return AlertOutcome(incident=incident, resolved=True, group_id=incident.parent_id)


STATUS_TIMESTAMPS = {"acknowledged": "acknowledged_at", "resolved": "resolved_at", "closed": "closed_at"}


@transaction.atomic
def incident_change_status(*, incident: Incident, status: str, actor: Actor) -> Incident:
    incident = Incident.objects.select_for_update().get(pk=incident.pk)  # decide on fresh state
    if status == incident.status:
        return incident
    if not incident.can_move_to(status):
        raise InvalidTransition(f"Incident {incident.pk} cannot move from {incident.status} to {status}.")
    previous, incident.status = incident.status, status
    fields = ["status", "updated_at"]
    if (stamp := STATUS_TIMESTAMPS.get(status)) and getattr(incident, stamp) is None:
        setattr(incident, stamp, timezone.now())
        fields.append(stamp)
    if status == "open":  # reopened: it is unresolved again
        incident.resolved_at = None
        fields.append("resolved_at")
    try:
        with transaction.atomic():
            incident.save(update_fields=fields)
    except IntegrityError:  # reopening while a newer incident of the same alert is open
        raise InvalidTransition(
            f"Incident {incident.pk} cannot be reopened: another open incident has the same fingerprint."
        ) from None
    timeline_record(
        incident=incident,
        event_type=IncidentEventType.STATUS_CHANGED,
        actor=actor.label,
        payload={"from": previous, "to": status},
    )
    audit_record(
        actor=actor,
        action="incident.status_changed",
        organization=incident.organization,
        target=incident,
        metadata={"from": previous, "to": status},
    )
    return incident


@transaction.atomic
def incident_add_note(*, incident: Incident, content: str, actor: Actor) -> IncidentNote:
    note = IncidentNote.objects.create(
        organization_id=incident.organization_id,
        incident=incident,
        user=actor.user,
        author=actor.label,
        content=content,
    )
    timeline_record(
        incident=incident,
        event_type=IncidentEventType.NOTE_ADDED,
        actor=actor.label,
        payload={"note_id": note.pk, "content": content[:200]},
    )
    Incident.objects.filter(pk=incident.pk).update(updated_at=timezone.now())
    audit_record(
        actor=actor, action="incident.note_added", organization=incident.organization, target=incident
    )
    return note


# --- Anomalies (AIops) ---------------------------------------------------------------------------------

BASELINE_HOURS = 24
ALERT_EVENT_TYPES = [IncidentEventType.ALERT_RECEIVED, IncidentEventType.DEDUPLICATED]


def service_alert_rate_z_score(*, organization: Organization, service: str, now: datetime) -> float:
    """z-score of the last hour's alert count for `service` against its previous 24 hourly counts."""
    hour = timedelta(hours=1)
    events = IncidentEvent.objects.for_org(organization).filter(
        incident__service=service,
        event_type__in=ALERT_EVENT_TYPES,
        created_at__gte=now - hour * (BASELINE_HOURS + 1),
    )
    times = list(events.values_list("created_at", flat=True))
    current = sum(1 for moment in times if moment > now - hour)
    baseline = [0] * BASELINE_HOURS
    for moment in times:
        age_hours = int((now - moment) / hour)
        if 1 <= age_hours <= BASELINE_HOURS:
            baseline[age_hours - 1] += 1
    mean = sum(baseline) / BASELINE_HOURS
    deviation = (sum((count - mean) ** 2 for count in baseline) / BASELINE_HOURS) ** 0.5
    return round(
        (current - mean) / max(deviation, 1.0), 2
    )  # a floor of 1 keeps a quiet service from exploding


def anomaly_score_from_z(z_score: float) -> float:
    """Map z onto 0..1: 0 at or below the baseline, 0.5 at z=2, approaching 1 as z grows."""
    return round(max(z_score, 0.0) / (max(z_score, 0.0) + 2.0), 2)


def anomaly_record(*, organization: Organization, incident: Incident, metric_name: str) -> Anomaly:
    now = timezone.now()
    z_score = service_alert_rate_z_score(organization=organization, service=incident.service, now=now)
    return Anomaly.objects.create(
        organization=organization,
        service_id=incident.service,
        metric_name=metric_name[:300] or "alert_rate",
        anomaly_score=anomaly_score_from_z(z_score),
        z_score=z_score,
        detected_at=now,
        incident=incident,
    )


@transaction.atomic
def knowledge_base_entry_create(
    *,
    organization: Organization,
    incident_ref: str,
    service_id: str,
    resolution: str,
    resolved_by: str,
    time_to_recovery_minutes: float | None,
    tags: list[str],
    actor: Actor,
) -> KnowledgeBaseEntry:
    incident = Incident.objects.for_org(organization).filter(pk=incident_ref).first()
    if incident is None and incident_ref:
        anomaly = (
            Anomaly.objects.for_org(organization).filter(pk=incident_ref).select_related("incident").first()
        )
        incident = anomaly.incident if anomaly else None
    entry = KnowledgeBaseEntry.objects.create(
        organization=organization,
        incident=incident,
        incident_ref=incident_ref,
        resolution=resolution,
        service_id=service_id or (incident.service if incident else ""),
        resolved_by=resolved_by,
        time_to_recovery_minutes=time_to_recovery_minutes,
        tags=tags,
    )
    if incident is not None:
        timeline_record(
            incident=incident,
            event_type="resolution_recorded",
            actor=actor.label,
            payload={"knowledge_base_id": entry.pk, "resolved_by": resolved_by},
        )
    audit_record(
        actor=actor,
        action="knowledge_base.entry_created",
        organization=organization,
        target=entry,
        metadata={"incident": incident_ref},
    )
    return entry
