"""Writes for incidents (dedup and grouping of alerts, the status workflow, notes, the timeline) and for
their analyses (request, the provider chain, the result cache)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connections, router, transaction
from django.db.models import Case, F, Q, QuerySet, Value, When
from django.db.models.sql import UpdateQuery
from django.utils import timezone

from analyses.chain import provider_chain_run
from analyses.context import BuiltContext, build_incident_context
from analyses.correlations import service_correlations_refresh_soon
from analyses.models import (
    ACTIVE_STATUSES,
    ANALYSIS_STATUSES_IN_FLIGHT,
    Analysis,
    AnalysisCacheEntry,
    AnalysisEvent,
    AnalysisEventType,
    AnalysisSettings,
    AnalysisStatus,
    AnalysisTrigger,
    Anomaly,
    Incident,
    IncidentEvent,
    IncidentEventType,
    IncidentNote,
    KnowledgeBaseEntry,
    SourceProduct,
)
from analyses.providers.base import Diagnosis, ProviderResult, ai_providers
from statux.audit import Actor, audit_record
from statux.errors import InvalidTransition
from statux.models import Organization
from usage.services import usage_record_analysis
from webhooks.normalizers.base import SEVERITIES, NormalizedAlert

logger = logging.getLogger(__name__)
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
    active = Incident.objects.for_org(organization).filter(status__in=ACTIVE_STATUSES)
    same_fingerprint = active.filter(fingerprint=alert.fingerprint[:128])
    # Most alerts repeat: one UPDATE counts the repeat, locking the row as SELECT ... FOR UPDATE did.
    if (
        incident := _count_repeat(incidents=same_fingerprint, alert=alert, strategy="fingerprint")
    ) is not None:
        return _repeat_outcome(incident, "fingerprint")
    if alert.service:
        since = timezone.now() - timedelta(minutes=settings.DEDUP_TITLE_SERVICE_WINDOW_MINUTES)
        similar = (
            active.select_for_update()
            .filter(title=alert.title, service=alert.service, last_seen_at__gte=since)
            .order_by("-last_seen_at")
            .first()
        )
        if similar is not None:
            incidents = Incident.objects.filter(pk=similar.pk)
            incident = _count_repeat(incidents=incidents, alert=alert, strategy="title_service")
            return _repeat_outcome(incident, "title_service")
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
        incident = _count_repeat(incidents=same_fingerprint, alert=alert, strategy="fingerprint")
        if incident is None:  # the winner's incident closed meanwhile: transient, the retry creates anew
            raise
        return _repeat_outcome(incident, "fingerprint")
    _record_new_incident(incident=incident, alert=alert, parent=parent)
    analysis_auto_request(incident=incident)  # queued on commit
    service_correlations_refresh_soon(incident=incident)  # debounced, queued on commit
    return AlertOutcome(incident=incident, created=True, group_id=parent.pk if parent else None)


def _repeat_outcome(incident: Incident, strategy: str) -> AlertOutcome:
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


def _count_repeat(*, incidents: QuerySet[Incident], alert: NormalizedAlert, strategy: str) -> Incident | None:
    """Count the alert into the one incident `incidents` selects and record it on the timeline; returns the
    updated incident, or None (and writes nothing) when there is none.

    One `UPDATE ... RETURNING`: F() loses no count, the UPDATE locks the row until commit, and PostgreSQL
    re-checks the filter against a row a concurrent transaction changed (a resolved incident no longer
    matches). Django's `update()` returns only a row count, hence the raw query built from its SQL.
    """
    now = timezone.now()
    changes: dict[str, Any] = {"alert_count": F("alert_count") + 1, "last_seen_at": now, "updated_at": now}
    milder = [severity for severity, rank in SEVERITY_RANK.items() if rank < SEVERITY_RANK[alert.severity]]
    if milder:  # a repeat that is worse raises the incident
        changes["severity"] = Case(
            When(severity__in=milder, then=Value(alert.severity)), default=F("severity")
        )
    if alert.actual_value is not None:
        changes["actual_value"] = alert.actual_value
    db = router.db_for_write(Incident)
    update = incidents.query.chain(UpdateQuery)
    update.add_update_values(changes)
    statement, params = update.get_compiler(db).as_sql()
    quote = connections[db].ops.quote_name
    columns = ", ".join(quote(field.column) for field in Incident._meta.concrete_fields)
    updated = list(Incident.objects.raw(f"{statement} RETURNING {columns}", params, using=db))
    if not updated:
        return None
    (incident,) = updated  # the partial unique constraint allows one active incident per fingerprint
    timeline_record(
        incident=incident,
        event_type=IncidentEventType.DEDUPLICATED,
        actor=f"webhook:{alert.source}",
        payload={**_alert_summary(alert), "dedup_strategy": strategy},
    )
    return incident


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


# --- Analyses (Issue 5): request, run through the provider chain, cache, record ---

STUCK_PENDING_AFTER = timedelta(minutes=5)
STUCK_PROCESSING_AFTER = timedelta(minutes=15)


def analysis_event_record(
    *, analysis: Analysis, event_type: str, message: str = "", payload: dict | None = None, **fields: Any
) -> AnalysisEvent:
    return AnalysisEvent.objects.create(
        organization_id=analysis.organization_id,
        analysis=analysis,
        event_type=event_type,
        message=message[:2000],
        payload=payload or {},
        **fields,
    )


def _enqueue_analysis(analysis_id: str) -> None:
    from analyses.tasks import analysis_run_task  # the task module imports this one

    # robust: a broker that is down must not fail the request that asked; the beat requeues it
    transaction.on_commit(lambda: analysis_run_task.delay(analysis_id), robust=True)


def _source_product(incident: Incident) -> str:
    return SourceProduct.SYNTHETICS if incident.source == "synthetics" else SourceProduct.ALERTING


def analysis_request(*, incident: Incident, trigger: str, requested_by: str) -> tuple[Analysis, bool]:
    """Queue an analysis of the incident; (analysis, created).

    Idempotent: while one is pending or processing, asking again returns it. The incident row lock
    makes two concurrent requests agree on one.
    """
    with transaction.atomic():
        Incident.objects.select_for_update().filter(pk=incident.pk).first()
        active = Analysis.objects.filter(incident=incident, status__in=ANALYSIS_STATUSES_IN_FLIGHT).first()
        if active is not None:
            return active, False
        analysis = Analysis.objects.create(
            organization_id=incident.organization_id,
            incident=incident,
            trigger=trigger,
            requested_by=requested_by[:200],
            source_product=_source_product(incident),
        )
        analysis_event_record(
            analysis=analysis, event_type=AnalysisEventType.QUEUED, payload={"trigger": trigger}
        )
        _enqueue_analysis(str(analysis.pk))
    return analysis, True


def analysis_auto_request(*, incident: Incident) -> Analysis | None:
    """Queue an analysis for a new incident when its organization's policy asks for one."""
    auto, min_severity = analysis_policy(organization_id=incident.organization_id)
    if not auto or SEVERITY_RANK[incident.severity] < SEVERITY_RANK[min_severity]:
        return None
    analysis, _ = analysis_request(incident=incident, trigger=AnalysisTrigger.AUTO, requested_by="system")
    return analysis


def analysis_policy(*, organization_id: Any) -> tuple[bool, str]:
    """(auto-analyze?, minimum severity) of an organization: its own row, else the settings' default."""
    row = AnalysisSettings.objects.filter(organization_id=organization_id).first()
    if row is not None:
        return row.auto_analyze, row.min_severity
    default = settings.ANALYSIS_AUTO_MIN_SEVERITY
    if default == "off" or default not in SEVERITY_RANK:
        return False, "critical"
    return True, default


def analysis_settings_update(
    *, organization: Organization, auto_analyze: bool, min_severity: str, actor: Actor
) -> AnalysisSettings:
    row, _ = AnalysisSettings.objects.update_or_create(
        organization=organization, defaults={"auto_analyze": auto_analyze, "min_severity": min_severity}
    )
    audit_record(
        actor=actor,
        organization=organization,
        action="analysis_settings.updated",
        target=row,
        metadata={"auto_analyze": auto_analyze, "min_severity": min_severity},
    )
    return row


def _claim(analysis_id: str) -> Analysis | None:
    """Move a pending (or abandoned processing) analysis to processing; None when there is nothing to do."""
    with transaction.atomic():
        analysis = (
            Analysis.objects.select_for_update(of=("self",))
            .select_related("incident", "organization")
            .filter(pk=analysis_id)
            .first()
        )
        if analysis is None or analysis.status not in ANALYSIS_STATUSES_IN_FLIGHT:
            return None
        now = timezone.now()
        if (
            analysis.status == AnalysisStatus.PROCESSING
            and analysis.started_at > now - STUCK_PROCESSING_AFTER
        ):
            return None  # another worker has it
        analysis.status, analysis.started_at = AnalysisStatus.PROCESSING, now
        analysis.save(update_fields=["status", "started_at", "updated_at"])
        analysis_event_record(analysis=analysis, event_type=AnalysisEventType.STARTED)
    return analysis


def _cached_result(*, analysis: Analysis, digest: str) -> ProviderResult | None:
    now = timezone.now()
    entry = (
        AnalysisCacheEntry.objects.for_org_id(analysis.organization_id)
        .filter(context_hash=digest, expires_at__gt=now)
        .first()
    )
    if entry is None:
        return None
    try:
        diagnosis = Diagnosis.model_validate(entry.result["diagnosis"])
    except (KeyError, TypeError, ValueError):
        return None  # written by an older schema: analyse afresh
    AnalysisCacheEntry.objects.filter(pk=entry.pk).update(hits=F("hits") + 1, last_hit_at=now)
    return ProviderResult(diagnosis=diagnosis, provider=entry.provider, model=entry.result.get("model", ""))


def _cache_store(*, analysis: Analysis, digest: str, result: ProviderResult) -> None:
    AnalysisCacheEntry.objects.update_or_create(
        organization_id=analysis.organization_id,
        context_hash=digest,
        defaults={
            "result": {"diagnosis": result.diagnosis.model_dump(mode="json"), "model": result.model},
            "provider": result.provider,
            "hits": 0,
            "expires_at": timezone.now() + timedelta(seconds=settings.ANALYSIS_CACHE_TTL_SECONDS),
        },
    )


def _result_event(
    *, analysis: Analysis, event_type: str, result: ProviderResult, duration_ms: int | None, payload: dict
) -> AnalysisEvent:
    return analysis_event_record(
        analysis=analysis,
        event_type=event_type,
        provider=result.provider,
        model=result.model,
        input_tokens=result.input_tokens,
        output_tokens=result.output_tokens,
        duration_ms=duration_ms,
        payload=payload,
    )


def _complete(
    *, analysis: Analysis, built: BuiltContext, result: ProviderResult, cache_hit: bool, budget_reason: str
) -> None:
    diagnosis = result.diagnosis
    evidence = list(diagnosis.evidence)
    if budget_reason:
        evidence.append(f"Paid AI providers skipped ({budget_reason}); answered by the deterministic engine.")
    now = timezone.now()
    analysis.status = AnalysisStatus.COMPLETED
    analysis.summary, analysis.root_cause = diagnosis.summary, diagnosis.root_cause
    analysis.recommendations = list(diagnosis.recommendations)
    analysis.severity = diagnosis.severity or analysis.incident.severity
    analysis.confidence = diagnosis.confidence
    analysis.evidence = evidence
    analysis.suggested_actions = [action.model_dump(mode="json") for action in diagnosis.suggested_actions]
    analysis.signatures = [
        {"key": match.key, "title": match.title, "score": match.score, "evidence": list(match.evidence)}
        for match in built.context.signatures
    ]
    analysis.matched_playbooks = list(built.context.matched_playbooks)
    analysis.context = built.snapshot()
    analysis.context_hash = built.context_hash
    analysis.provider, analysis.model = result.provider, result.model
    analysis.input_tokens, analysis.output_tokens = result.input_tokens, result.output_tokens
    analysis.cache_hit, analysis.budget_limited = cache_hit, bool(budget_reason)
    analysis.completed_at = now
    analysis.processing_ms = int((now - analysis.started_at).total_seconds() * 1000)
    analysis.error = ""
    analysis.save()
    _result_event(
        analysis=analysis,
        event_type=AnalysisEventType.COMPLETED,
        result=result,
        duration_ms=analysis.processing_ms,
        payload={
            "summary": diagnosis.summary[:200],
            "confidence": diagnosis.confidence,
            "suggested_actions_count": len(diagnosis.suggested_actions),
            "cache_hit": cache_hit,
        },
    )


def analysis_run(*, analysis_id: str) -> Analysis | None:
    """Run one queued analysis to completion. Safe to run twice: a finished analysis is left alone.

    Never leaves the analysis pending or processing: the deterministic engine ends every chain, and an
    unexpected error marks it failed with the reason.
    """
    analysis = _claim(analysis_id)
    if analysis is None:
        return Analysis.objects.filter(pk=analysis_id).first()
    try:
        built = build_incident_context(incident=analysis.incident)
        analysis_event_record(
            analysis=analysis, event_type=AnalysisEventType.CONTEXT_BUILT, payload={"sources": built.sources}
        )
        analysis_event_record(
            analysis=analysis,
            event_type=AnalysisEventType.PRE_ANALYSIS,
            payload={
                "signatures": [match.key for match in built.context.signatures],
                "matched_playbooks": list(built.context.matched_playbooks),
            },
        )
        digest = built.context_hash
        result = _cached_result(analysis=analysis, digest=digest)
        budget_reason, cache_hit = "", result is not None
        if cache_hit:
            analysis_event_record(
                analysis=analysis, event_type=AnalysisEventType.CACHE_HIT, provider=result.provider
            )
        else:
            result, budget_reason = provider_chain_run(
                organization=analysis.organization,
                ask=lambda provider: provider.diagnose(built.context),
                record=lambda event_type, **fields: analysis_event_record(
                    analysis=analysis, event_type=event_type, **fields
                ),
            )
            if not budget_reason:
                _cache_store(analysis=analysis, digest=digest, result=result)
            usage_record_analysis(
                organization=analysis.organization,
                provider=result.provider,
                paid=ai_providers.get(result.provider).paid,
                input_tokens=result.input_tokens,
                output_tokens=result.output_tokens,
            )
        _complete(
            analysis=analysis, built=built, result=result, cache_hit=cache_hit, budget_reason=budget_reason
        )
    except Exception as exc:
        logger.exception("analysis %s failed", analysis_id)
        Analysis.objects.filter(pk=analysis.pk).update(
            status=AnalysisStatus.FAILED,
            error=repr(exc)[:2000],
            completed_at=timezone.now(),
            updated_at=timezone.now(),
        )
        analysis_event_record(analysis=analysis, event_type=AnalysisEventType.FAILED, message=repr(exc))
        analysis.refresh_from_db()
    return analysis


def analysis_requeue_stuck() -> int:
    """Hand analyses that no worker finished back to the queue (a lost task, a killed worker)."""
    now = timezone.now()
    stuck = Analysis.objects.filter(
        Q(status=AnalysisStatus.PENDING, created_at__lt=now - STUCK_PENDING_AFTER)
        | Q(status=AnalysisStatus.PROCESSING, started_at__lt=now - STUCK_PROCESSING_AFTER)
    ).only("pk", "organization_id")[:500]
    count = 0
    for analysis in stuck:
        with transaction.atomic():
            analysis_event_record(analysis=analysis, event_type=AnalysisEventType.REQUEUED)
            _enqueue_analysis(str(analysis.pk))
        count += 1
    return count
