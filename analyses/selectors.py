"""Reads for incidents: lists with their filters, detail with timeline, group and metrics."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import django_filters
from django.db.models import (
    Avg,
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Sum,
)
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from analyses.models import (
    ACTIVE_STATUSES,
    Analysis,
    AnalysisEvent,
    AnalysisStatus,
    AnalysisTrigger,
    Anomaly,
    Incident,
    IncidentEvent,
    IncidentEventType,
    IncidentNote,
    IncidentStatus,
    SourceProduct,
)
from statux.errors import NotFound
from statux.models import Organization, Severity

STATUS_EVENT_TYPES = [IncidentEventType.INCIDENT_CREATED, IncidentEventType.STATUS_CHANGED]


class AlertsIncidentFilter(django_filters.FilterSet):
    """Incidents API (003) filters, named as on the wire."""

    ruleId = django_filters.CharFilter(field_name="rule_id")
    status = django_filters.ChoiceFilter(field_name="status", choices=IncidentStatus.choices)
    severity = django_filters.ChoiceFilter(field_name="severity", choices=Severity.choices)

    class Meta:
        model = Incident
        fields: list[str] = []


class AisreIncidentFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(field_name="status", choices=IncidentStatus.choices)

    class Meta:
        model = Incident
        fields: list[str] = []


def _filtered(
    filterset_class: type[django_filters.FilterSet], organization: Organization, filters: Mapping[str, str]
) -> QuerySet[Incident]:
    filterset = filterset_class(filters, queryset=Incident.objects.for_org(organization))
    if not filterset.is_valid():
        raise ValidationError(filterset.errors)  # 400 with "fields", never silently ignored
    return filterset.qs


def with_history(incidents: QuerySet[Incident]) -> QuerySet[Incident]:
    """Prefetch what the Incidents API shows per incident: notes and status history (two queries)."""
    return incidents.prefetch_related(
        Prefetch("notes", queryset=IncidentNote.objects.select_related("user").order_by("created_at", "id")),
        Prefetch(
            "events",
            queryset=IncidentEvent.objects.filter(event_type__in=STATUS_EVENT_TYPES).order_by(
                "created_at", "id"
            ),
            to_attr="status_events",
        ),
    )


def incident_list_alerts(*, organization: Organization, filters: Mapping[str, str]) -> QuerySet[Incident]:
    return with_history(_filtered(AlertsIncidentFilter, organization, filters).order_by("-created_at", "-id"))


def incident_list_aisre(*, organization: Organization, filters: Mapping[str, str]) -> QuerySet[Incident]:
    return _filtered(AisreIncidentFilter, organization, filters).order_by("-created_at", "-id")


def incident_open_count(*, organization: Organization) -> int:
    return Incident.objects.for_org(organization).filter(status__in=ACTIVE_STATUSES).count()


def incident_get(*, organization: Organization, incident_id: str, history: bool = False) -> Incident:
    incidents = Incident.objects.for_org(organization)
    if history:
        incidents = with_history(incidents)
    incident = incidents.filter(pk=incident_id).first()
    if incident is None:
        raise NotFound(f"Incident {incident_id} not found.")
    return incident


def status_history(incident: Incident) -> list[dict]:
    """[(status, changedBy, changedAt)] from the timeline: the creation, then every status change."""
    events = getattr(incident, "status_events", None)
    if events is None:
        events = incident.events.filter(event_type__in=STATUS_EVENT_TYPES).order_by("created_at", "id")
    history = []
    for event in events:
        if event.event_type == IncidentEventType.INCIDENT_CREATED:
            history.append({"status": "open", "changedBy": "system", "changedAt": event.created_at})
        else:
            history.append(
                {"status": event.payload.get("to"), "changedBy": event.actor, "changedAt": event.created_at}
            )
    return history


def incident_timeline(*, incident: Incident) -> QuerySet[IncidentEvent]:
    return (
        IncidentEvent.objects.for_org_id(incident.organization_id)
        .filter(incident=incident)
        .order_by("created_at", "id")
    )


@dataclass(frozen=True)
class IncidentMetrics:
    time_to_first_response_minutes: float | None
    resolution_time_minutes: float | None
    actions_taken: int
    first_response_at: datetime | None


def _minutes(start: datetime, end: datetime | None) -> float | None:
    return None if end is None else round((end - start).total_seconds() / 60, 2)


def incident_metrics(*, incident: Incident) -> IncidentMetrics:
    """First response is the first human step: a status change away from open by a person, or a note."""
    human = (
        incident.events.filter(
            event_type__in=[IncidentEventType.STATUS_CHANGED, IncidentEventType.NOTE_ADDED]
        )
        .exclude(actor__startswith="system")
        .order_by("created_at")
        .first()
    )
    first_response_at = human.created_at if human else None
    return IncidentMetrics(
        time_to_first_response_minutes=_minutes(incident.created_at, first_response_at),
        resolution_time_minutes=_minutes(incident.created_at, incident.resolved_at),
        actions_taken=0,  # remediation actions arrive with the remediation issue
        first_response_at=first_response_at,
    )


def incident_children(*, incident: Incident) -> QuerySet[Incident]:
    return (
        Incident.objects.for_org_id(incident.organization_id).filter(parent=incident).order_by("created_at")
    )


def incident_list_noisy(*, organization: Organization, max_minutes: float) -> QuerySet[Incident]:
    """Resolved within `max_minutes` of opening, with no human status change or note on the way."""
    human_steps = IncidentEvent.objects.filter(
        incident=OuterRef("pk"),
        event_type__in=[IncidentEventType.STATUS_CHANGED, IncidentEventType.NOTE_ADDED],
    ).exclude(actor__startswith="system")
    duration = ExpressionWrapper(F("resolved_at") - F("created_at"), output_field=DurationField())
    return (
        Incident.objects.for_org(organization)
        .filter(status__in=["resolved", "closed"], resolved_at__isnull=False)
        .annotate(duration=duration)
        .filter(duration__lte=timedelta(minutes=max_minutes))
        .exclude(Exists(human_steps))
        .order_by("-resolved_at")
    )


ACTIVITY_EVENT_TYPES = [
    IncidentEventType.STATUS_CHANGED,
    IncidentEventType.NOTE_ADDED,
    "resolution_recorded",
    IncidentEventType.EXTERNAL_UPDATE,
]


def activity_list(*, organization: Organization) -> QuerySet[IncidentEvent]:
    return (
        IncidentEvent.objects.for_org(organization)
        .filter(event_type__in=ACTIVITY_EVENT_TYPES)
        .order_by("-created_at", "-id")
    )


# --- Analyses (Issue 5) ---


class InsightFilter(django_filters.FilterSet):
    """Statux insights list filters, named as on the wire (camelCase)."""

    status = django_filters.ChoiceFilter(field_name="status", choices=AnalysisStatus.choices)
    severity = django_filters.ChoiceFilter(field_name="severity", choices=Severity.choices)
    sourceProduct = django_filters.ChoiceFilter(field_name="source_product", choices=SourceProduct.choices)
    incidentId = django_filters.CharFilter(field_name="incident_id")
    provider = django_filters.CharFilter(field_name="provider")
    trigger = django_filters.ChoiceFilter(field_name="trigger", choices=AnalysisTrigger.choices)
    createdAfter = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    createdBefore = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    ordering = django_filters.OrderingFilter(
        fields=(("created_at", "createdAt"), ("completed_at", "completedAt"), ("confidence", "confidence"))
    )

    class Meta:
        model = Analysis
        fields: list[str] = []


def analysis_list(*, organization: Organization, filters: Mapping[str, str]) -> QuerySet[Analysis]:
    analyses = Analysis.objects.for_org(organization).select_related("incident").order_by("-created_at")
    filterset = InsightFilter(filters, queryset=analyses)
    if not filterset.is_valid():
        raise ValidationError(filterset.errors)
    return filterset.qs


def analysis_get(*, organization: Organization, analysis_id: Any) -> Analysis:
    analysis = (
        Analysis.objects.for_org(organization)
        .select_related("incident")
        .filter(pk=_uuid_or_none(analysis_id))
        .first()
    )
    if analysis is None:
        raise NotFound(f"Insight {analysis_id} not found.")
    return analysis


def _uuid_or_none(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def analysis_events(*, analysis: Analysis) -> QuerySet[AnalysisEvent]:
    return AnalysisEvent.objects.filter(analysis=analysis).order_by("created_at", "id")


def analysis_latest(*, incident: Incident) -> Analysis | None:
    """The newest finished analysis of the incident, else the one in flight, else None."""
    analyses = Analysis.objects.filter(incident=incident).order_by("-created_at")
    return analyses.filter(status=AnalysisStatus.COMPLETED).first() or analyses.first()


def analysis_stats(*, organization: Organization) -> dict[str, Any]:
    """Counts by status, severity and source product; processing time, cache hit rate, tokens. 4 queries."""
    analyses = Analysis.objects.for_org(organization)

    def counted(field: str) -> dict[str, int]:
        rows = analyses.order_by().values_list(field).annotate(n=Count("pk"))
        return {key or "unknown": n for key, n in rows}

    totals = analyses.aggregate(
        total=Count("pk"),
        completed=Count("pk", filter=Q(status=AnalysisStatus.COMPLETED)),
        cache_hits=Count("pk", filter=Q(status=AnalysisStatus.COMPLETED, cache_hit=True)),
        budget_limited=Count("pk", filter=Q(budget_limited=True)),
        average_ms=Avg("processing_ms", filter=Q(status=AnalysisStatus.COMPLETED)),
        input_tokens=Sum("input_tokens"),
        output_tokens=Sum("output_tokens"),
    )
    completed = totals["completed"]
    return {
        "total": totals["total"],
        "by_status": {status: 0 for status in AnalysisStatus.values} | counted("status"),
        "by_severity": counted("severity"),
        "by_source_product": counted("source_product"),
        "average_processing_ms": round(totals["average_ms"], 1) if totals["average_ms"] is not None else None,
        "cache_hits": totals["cache_hits"],
        "cache_hit_rate": round(totals["cache_hits"] / completed, 4) if completed else 0.0,
        "budget_limited": totals["budget_limited"],
        "input_tokens": totals["input_tokens"] or 0,
        "output_tokens": totals["output_tokens"] or 0,
    }


def anomaly_activity(*, organization: Organization) -> dict[str, int]:
    """For the AIops status: anomalies scored in the last hour, and the (service, metric) series scored in
    the last 24 hours, which is what the anomaly scorer watches."""
    now = timezone.now()
    recent = Anomaly.objects.for_org(organization).filter(detected_at__gte=now - timedelta(hours=24))
    return {
        "anomalies_last_hour": recent.filter(detected_at__gte=now - timedelta(hours=1)).count(),
        "metrics_monitored": recent.order_by().values("service_id", "metric_name").distinct().count(),
    }
