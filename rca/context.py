"""The RCA context builder: what a draft is written from, gathered once and bounded before any model call.

Linked local incidents bring their timeline, notes, latest completed analysis, the deploy that preceded
them and resolved similar incidents with their fixes; other products' incidents only their reference.
Sizes are capped so a long incident cannot blow a prompt (or a budget): see the limits below.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch

from analyses.models import Analysis, AnalysisStatus, Incident, IncidentEvent, IncidentNote, IncidentStatus
from analyses.providers.base import RcaContext
from analyses.similarity import similar_incidents
from rca.models import IncidentProduct, Rca, RcaIncidentLink
from webhooks.selectors import deploy_correlation

INCIDENTS_MAX = 10  # linked local incidents described; the oldest links first
EXTERNAL_MAX = 20
TIMELINE_LIMIT = 40  # newest events of each incident, shown oldest first
NOTES_LIMIT = 10
NOTE_CHARS = 2000
SIMILAR_LIMIT = 3
SIMILAR_MIN_SCORE = 0.3
DEPLOY_LOOKBACK_MINUTES = 120
RESOLVED = (IncidentStatus.RESOLVED, IncidentStatus.CLOSED)


def _linked_incidents(rca: Rca) -> list[Incident]:
    """The linked local incidents with their bounded timeline, notes and latest completed analysis:
    four queries for any number of incidents (sliced prefetches run one windowed query each)."""
    incident_ids = list(
        RcaIncidentLink.objects.for_org_id(rca.organization_id)
        .filter(rca=rca, product=IncidentProduct.STATUX)
        .order_by("created_at", "id")
        .values_list("incident_id", flat=True)[:INCIDENTS_MAX]
    )
    incidents = (
        Incident.objects.for_org_id(rca.organization_id)
        .filter(pk__in=incident_ids)
        .prefetch_related(
            Prefetch(
                "events",
                queryset=IncidentEvent.objects.order_by("-created_at", "-id")[:TIMELINE_LIMIT],
                to_attr="recent_events",
            ),
            Prefetch(
                "notes",
                queryset=IncidentNote.objects.order_by("-created_at", "-id")[:NOTES_LIMIT],
                to_attr="recent_notes",
            ),
            Prefetch(
                "analyses",
                queryset=Analysis.objects.filter(status=AnalysisStatus.COMPLETED).order_by("-created_at")[:1],
                to_attr="latest_analyses",
            ),
        )
    )
    by_id = {incident.pk: incident for incident in incidents}
    return [by_id[incident_id] for incident_id in incident_ids if incident_id in by_id]


def _analysis(incident: Incident) -> dict[str, Any] | None:
    if not incident.latest_analyses:
        return None
    analysis = incident.latest_analyses[0]
    return {
        "summary": analysis.summary,
        "root_cause": analysis.root_cause,
        "recommendations": list(analysis.recommendations),
        "confidence": analysis.confidence,
    }


def _deploy(incident: Incident) -> dict[str, Any] | None:
    correlation = deploy_correlation(incident=incident, lookback_minutes=DEPLOY_LOOKBACK_MINUTES)
    if correlation.deploy is None:
        return None
    return {
        "deploy_id": correlation.deploy.pk,
        "service": correlation.deploy.service,
        "minutes_before_incident": correlation.minutes_before_incident,
        "actor": correlation.deploy.actor,
        "image": correlation.deploy.image,
    }


def _similar_resolved(incident: Incident, linked_ids: set[str]) -> list[dict[str, Any]]:
    """Past incidents like this one that were resolved with a known fix (not the RCA's own incidents)."""
    similar = similar_incidents(incident=incident, limit=SIMILAR_LIMIT * 3, min_score=SIMILAR_MIN_SCORE)
    return [
        {"id": other.id, "title": other.title, "resolution": other.resolution}
        for other in similar
        if other.state in RESOLVED and other.resolution and other.id not in linked_ids
    ][:SIMILAR_LIMIT]


def _describe(incident: Incident, linked_ids: set[str]) -> dict[str, Any]:
    return {
        "id": incident.pk,
        "title": incident.title,
        "service": incident.service,
        "severity": incident.severity,
        "status": incident.status,
        "alert_count": incident.alert_count,  # exact, where the bounded timeline is not
        "created_at": incident.created_at.isoformat(),
        "resolved_at": incident.resolved_at.isoformat() if incident.resolved_at else None,
        "timeline": [
            {
                "event_type": event.event_type,
                "actor": event.actor,
                "created_at": event.created_at.isoformat(),
                "payload": event.payload,
            }
            for event in reversed(incident.recent_events)
        ],
        "notes": [note.content[:NOTE_CHARS] for note in reversed(incident.recent_notes)],
        "analysis": _analysis(incident),
        "deploy": _deploy(incident),
        "similar_resolved": _similar_resolved(incident, linked_ids),
    }


def build_rca_context(*, rca: Rca) -> RcaContext:
    """Everything the draft is written from. Bounded: INCIDENTS_MAX incidents, each with its last
    TIMELINE_LIMIT events and NOTES_LIMIT notes; deploy and similar-incident lookups are per incident
    (a handful of queries each), so the cost grows with the capped link count, never with history."""
    incidents = _linked_incidents(rca)
    linked_ids = {incident.pk for incident in incidents}
    external = (
        RcaIncidentLink.objects.for_org_id(rca.organization_id)
        .filter(rca=rca)
        .exclude(product=IncidentProduct.STATUX)
        .order_by("created_at", "id")
        .values("product", "external_id", "title", "url")[:EXTERNAL_MAX]
    )
    return RcaContext(
        rca_id=str(rca.pk),
        organization_id=str(rca.organization_id),
        title=rca.title,
        summary=rca.summary,
        root_cause=rca.root_cause,
        impact=rca.impact,
        timeline=rca.timeline,
        incidents=tuple(_describe(incident, linked_ids) for incident in incidents),
        external_incidents=tuple(dict(row) for row in external),
    )
