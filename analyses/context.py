"""The context builder: everything an analysis looks at, gathered once, bounded, before any model call.

Each outside source (logs, Kubernetes) may be missing or down; that never stops an analysis. The
builder records per source whether it was used, not configured, or unavailable and why, so the
operator sees what the diagnosis did not know.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from datetime import timedelta
from typing import Any

from django.utils import timezone

from analyses.kubernetes_context import KubernetesContextError, KubernetesContextReader
from analyses.logs.base import LogBackendError, log_backend_from_settings, log_excerpt
from analyses.models import Incident, IncidentEvent, KnowledgeBaseEntry
from analyses.providers.base import IncidentContext
from analyses.signatures import detect_signatures, playbooks_for
from analyses.similarity import similar_incidents
from remediation.catalog import action_catalog_for_prompt
from webhooks.selectors import deploy_correlation

TIMELINE_LIMIT = 30
CHILDREN_LIMIT = 20
SIMILAR_LIMIT = 5
KNOWLEDGE_BASE_LIMIT = 5
DEPLOY_LOOKBACK_MINUTES = 120
LOG_WINDOW_MINUTES = 30
LOG_LINES_MAX = 200  # what the diagnosis endpoint's log_limit may ask for
LOG_EXCERPT_CHARS = 6000


@dataclass
class BuiltContext:
    context: IncidentContext
    log_lines: list[str] = field(default_factory=list)  # oldest first, up to LOG_LINES_MAX
    sources: dict[str, str] = field(
        default_factory=dict
    )  # source -> "used" | "not_configured" | "unavailable: …"
    deploy_correlation: dict[str, Any] | None = None

    @property
    def context_hash(self) -> str:
        return context_hash(self.context)

    def snapshot(self) -> dict[str, Any]:
        """What the Analysis row keeps of its context, for the diagnosis answer and the console."""
        return {
            "k8s_context": self.context.kubernetes,
            "log_lines": self.log_lines,
            "deploy_correlation": self.deploy_correlation,
            "similar_incidents": list(self.context.similar_incidents),
            "knowledge_base": list(self.context.knowledge_base),
            "sources": self.sources,
        }


# Fields that change on every repeat of the same problem; two contexts that differ only here are "identical".
_VOLATILE = ("incident_id", "alert_count", "started_at", "timeline", "children")


def context_hash(context: IncidentContext) -> str:
    salient = {key: value for key, value in asdict(context).items() if key not in _VOLATILE}
    canonical = json.dumps(salient, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _timeline(incident: Incident) -> tuple[dict[str, Any], ...]:
    events = IncidentEvent.objects.filter(incident=incident).order_by("-created_at", "-id")[:TIMELINE_LIMIT]
    return tuple(
        {
            "event_type": event.event_type,
            "actor": event.actor,
            "created_at": event.created_at.isoformat(),
            "payload": event.payload,
        }
        for event in reversed(list(events))
    )


def _children(incident: Incident) -> tuple[dict[str, Any], ...]:
    children = incident.children.order_by("created_at").only(
        "id", "title", "service", "severity", "correlation_reason"
    )[:CHILDREN_LIMIT]
    return tuple(
        {
            "id": child.pk,
            "title": child.title,
            "service": child.service,
            "severity": child.severity,
            "correlation_reason": child.correlation_reason,
        }
        for child in children
    )


def _knowledge_base(incident: Incident) -> tuple[dict[str, Any], ...]:
    if not incident.service:
        return ()
    entries = KnowledgeBaseEntry.objects.for_org_id(incident.organization_id).filter(
        service_id=incident.service
    )[:KNOWLEDGE_BASE_LIMIT]
    return tuple(
        {
            "id": entry.pk,
            "service_id": entry.service_id,
            "resolution": entry.resolution,
            "tags": entry.tags,
            "time_to_recovery_minutes": entry.time_to_recovery_minutes,
        }
        for entry in entries
    )


def _deploy(incident: Incident) -> dict[str, Any] | None:
    correlation = deploy_correlation(incident=incident, lookback_minutes=DEPLOY_LOOKBACK_MINUTES)
    if correlation.deploy is None:
        return None
    deploy = correlation.deploy
    return {
        "deploy_id": deploy.pk,
        "service": deploy.service,
        "image": deploy.image,
        "commit_sha": deploy.commit_sha,
        "minutes_before_incident": correlation.minutes_before_incident,
        "actor": deploy.actor,
    }


def _kubernetes(incident: Incident, sources: dict[str, str]) -> dict[str, Any] | None:
    if not (incident.namespace and (incident.pod or incident.deployment or incident.service)):
        sources["kubernetes"] = "no namespace or workload on the incident"
        return None
    try:
        reader = KubernetesContextReader.from_settings()
        if reader is None:
            sources["kubernetes"] = "not_configured"
            return None
        state = reader.pod_context(
            namespace=incident.namespace,
            pod=incident.pod,
            deployment=incident.deployment,
            service=incident.service,
        )
    except KubernetesContextError as exc:
        sources["kubernetes"] = f"unavailable: {exc}"
        return None
    sources["kubernetes"] = "used"
    return state


def _logs(incident: Incident, sources: dict[str, str]) -> list[str]:
    if not incident.service:
        sources["logs"] = "no service on the incident"
        return []
    try:
        backend = log_backend_from_settings()
        if backend is None:
            sources["logs"] = "not_configured"
            return []
        until = timezone.now()
        started = incident.started_at or incident.created_at
        since = min(started, until) - timedelta(minutes=LOG_WINDOW_MINUTES)
        with backend:
            records = backend.search(service=incident.service, since=since, until=until, limit=LOG_LINES_MAX)
    except LogBackendError as exc:
        sources["logs"] = f"unavailable: {exc}"
        return []
    sources["logs"] = "used"
    return log_excerpt(records, max_chars=LOG_EXCERPT_CHARS * 4).splitlines()[-LOG_LINES_MAX:]


def build_incident_context(*, incident: Incident) -> BuiltContext:
    """Gather the incident's context and run pre-analysis (signatures, playbooks) on it."""
    sources: dict[str, str] = {}
    similar = similar_incidents(incident=incident, limit=SIMILAR_LIMIT)
    log_lines = _logs(incident, sources)
    deploy = _deploy(incident)
    context = IncidentContext(
        incident_id=incident.pk,
        organization_id=str(incident.organization_id),
        title=incident.title,
        description=incident.description,
        severity=incident.severity,
        status=incident.status,
        source=incident.source,
        service=incident.service,
        namespace=incident.namespace,
        pod=incident.pod,
        deployment=incident.deployment,
        labels=incident.labels or {},
        annotations=incident.annotations or {},
        metric=incident.metric,
        threshold=incident.threshold,
        actual_value=incident.actual_value,
        alert_count=incident.alert_count,
        started_at=(incident.started_at or incident.created_at).isoformat(),
        timeline=_timeline(incident),
        children=_children(incident),
        similar_incidents=tuple(
            {
                "id": item.id,
                "title": item.title,
                "similarity_score": item.similarity_score,
                "severity": item.severity,
                "state": item.state,
                "created_at": item.created_at.isoformat(),
                "resolution": item.resolution,
            }
            for item in similar
        ),
        knowledge_base=_knowledge_base(incident),
        deploy=deploy,
        kubernetes=_kubernetes(incident, sources),
        log_excerpt="\n".join(log_lines)[-LOG_EXCERPT_CHARS:],
        action_catalog=action_catalog_for_prompt(),
    )
    signatures = detect_signatures(context)
    context = replace(context, signatures=signatures, matched_playbooks=playbooks_for(signatures))
    return BuiltContext(context=context, log_lines=log_lines, sources=sources, deploy_correlation=deploy)
