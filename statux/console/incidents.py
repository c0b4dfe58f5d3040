"""Console incident pages: the list with its live rows and counts, and one incident with its workflow.

Reads go through analyses.selectors (which scope to the tenant), writes through analyses.services.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib import messages
from django.core.paginator import Page, Paginator
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.timesince import timesince
from django.views.decorators.http import require_POST, require_safe

from analyses import selectors, services
from analyses.models import ACTIVE_STATUSES, NEXT_STATUSES, Incident, IncidentEvent, IncidentEventType
from statux.audit import Actor
from statux.console import forms
from statux.console.analyses import analysis_panel_context
from statux.console.views import _not_found, requires
from statux.errors import NotFound, StatuxError
from statux.models import Organization

INCIDENT_PAGE_SIZE = 50
COUNTED_STATUSES = ["open", "acknowledged", "investigating", "resolved"]
# The buttons for the allowed next statuses, in workflow order, with their keyboard shortcuts.
STATUS_ACTIONS = {
    "acknowledged": ("Acknowledge", "a"),
    "investigating": ("Start investigating", ""),
    "resolved": ("Resolve", "r"),
    "closed": ("Close incident", ""),
    "open": ("Reopen", ""),
}
ALERT_EVENT_TYPES = {IncidentEventType.ALERT_RECEIVED, IncidentEventType.DEDUPLICATED}
RAW_ALERTS_SHOWN = 50  # a flapping alert repeats thousands of times; the latest payloads tell enough
SUMMARY_VALUE_CHARS = 120


def ago(moment: datetime | None, now: datetime) -> str:
    """ "3 minutes ago", one unit only; "just now" under a minute."""
    if moment is None:
        return ""
    if (now - moment).total_seconds() < 60:
        return "just now"
    return f"{timesince(moment, now, depth=1)} ago"


# --- List ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IncidentRow:
    incident: Incident
    last_seen_ago: str


def _filtered_incidents(form: forms.IncidentFilterForm, organization: Organization) -> QuerySet[Incident]:
    form.is_valid()  # a bad field shows its error; the valid ones still filter
    wanted = {name: value for name, value in form.cleaned_data.items() if value}
    status = wanted.pop("status", "")
    selector_filters = {"severity": wanted.get("severity", "")}
    if status and status != forms.ACTIVE:
        selector_filters["status"] = status
    incidents = selectors.incident_list_alerts(
        organization=organization, filters={key: value for key, value in selector_filters.items() if value}
    ).prefetch_related(None)  # the list shows neither notes nor history
    if status == forms.ACTIVE:
        incidents = incidents.filter(status__in=ACTIVE_STATUSES)
    if service := wanted.get("service"):
        incidents = incidents.filter(service__icontains=service)
    if title := wanted.get("q"):
        incidents = incidents.filter(title__icontains=title)
    return incidents.select_related("parent").annotate(child_count=Count("children"))


def _incident_page(request: HttpRequest) -> tuple[forms.IncidentFilterForm, Page, list[IncidentRow]]:
    form = forms.IncidentFilterForm(request.GET)
    incidents = _filtered_incidents(form, request.organization)
    page = Paginator(incidents, INCIDENT_PAGE_SIZE).get_page(request.GET.get("page"))
    now = timezone.now()
    rows = [
        IncidentRow(incident=incident, last_seen_ago=ago(incident.last_seen_at, now)) for incident in page
    ]
    return form, page, rows


def incident_status_counts(*, organization: Organization) -> list[tuple[str, int]]:
    """[(status, incidents)] for open, acknowledged, investigating and resolved, zeros included."""
    counts = dict(
        selectors.incident_list_aisre(organization=organization, filters={})
        .order_by()
        .values_list("status")
        .annotate(count=Count("pk"))
    )
    return [(status, counts.get(status, 0)) for status in COUNTED_STATUSES]


@requires("read")
@require_safe
def incident_list_view(request: HttpRequest) -> HttpResponse:
    """GET /console/incidents/?status=&severity=&service=&q=&page=<n>"""
    form, page, rows = _incident_page(request)
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "rows": rows,
        "query": query.urlencode(),
        "filtered": any(value for key, value in request.GET.items() if key != "page"),
        "status_counts": incident_status_counts(organization=request.organization),
        "current_status": form.cleaned_data.get("status", ""),
    }
    return render(request, "console/incidents/list.html", context)


@requires("read")
@require_safe
def incident_rows_view(request: HttpRequest) -> HttpResponse:
    """GET /console/incidents/rows/?<the list's query>: the table rows, for live-refresh.js."""
    _, page, rows = _incident_page(request)
    return render(request, "console/incidents/partials/rows.html", {"page": page, "rows": rows})


@requires("read")
@require_safe
def incident_counts_view(request: HttpRequest) -> HttpResponse:
    """GET /console/incidents/counts/?status=<current>: the counts per status, for live-refresh.js."""
    context = {
        "status_counts": incident_status_counts(organization=request.organization),
        "current_status": request.GET.get("status", ""),
    }
    return render(request, "console/incidents/partials/counts.html", context)


# --- One incident ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineEntry:
    event: IncidentEvent
    label: str
    details: list[tuple[str, str]] = field(default_factory=list)


def _short(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text if len(text) <= SUMMARY_VALUE_CHARS else f"{text[: SUMMARY_VALUE_CHARS - 1]}…"


def timeline_entry(event: IncidentEvent) -> TimelineEntry:
    """An event with a readable label and its payload as short key/value pairs."""
    payload = event.payload if isinstance(event.payload, dict) else {"payload": event.payload}
    if event.event_type == IncidentEventType.STATUS_CHANGED:
        details = [("status", f"{payload.get('from', '?')} → {payload.get('to', '?')}")]
    else:
        details = [(key, _short(value)) for key, value in payload.items() if value not in ("", None)]
    return TimelineEntry(event=event, label=words(event.event_type).capitalize(), details=details)


def words(code: str) -> str:
    """A snake_case code as words: "same_service_within_window" -> "same service within window"."""
    return code.replace("_", " ")


def duration(minutes: float | None) -> str:
    if minutes is None:
        return ""
    if minutes < 1:
        return f"{round(minutes * 60)} s"
    if minutes < 120:
        return f"{minutes:.0f} min"
    hours = minutes / 60
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"


def _incident(request: HttpRequest, incident_id: str) -> Incident | None:
    try:
        return selectors.incident_get(
            organization=request.organization, incident_id=incident_id, history=True
        )
    except NotFound:
        return None


def _incident_missing(request: HttpRequest, incident_id: str) -> HttpResponse:
    return _not_found(request, f"There is no incident {incident_id} in this organization.")


def _incident_page_response(
    request: HttpRequest,
    incident: Incident,
    *,
    note_form: forms.IncidentNoteForm | None = None,
    status: int = 200,
) -> HttpResponse:
    now = timezone.now()
    timeline = [timeline_entry(event) for event in selectors.incident_timeline(incident=incident)]
    alerts = [entry for entry in timeline if entry.event.event_type in ALERT_EVENT_TYPES]
    metrics = selectors.incident_metrics(incident=incident)
    next_statuses = NEXT_STATUSES[incident.status]
    context = {
        "incident": incident,
        "can_write": request.access.allows("write"),
        "status_actions": [
            (value, label, key) for value, (label, key) in STATUS_ACTIONS.items() if value in next_statuses
        ],
        "first_seen_ago": ago(incident.created_at, now),
        "last_seen_ago": ago(incident.last_seen_at, now),
        "notes": incident.notes.all(),
        "note_form": note_form or forms.IncidentNoteForm(),
        "timeline": timeline,
        "raw_alerts": [
            (entry, json.dumps(entry.event.payload, indent=2, sort_keys=True))
            for entry in alerts[-RAW_ALERTS_SHOWN:]
        ],
        "alert_event_count": len(alerts),
        "correlation_reason": words(incident.correlation_reason),
        "children": [
            (child, words(child.correlation_reason))
            for child in selectors.incident_children(incident=incident)
        ],
        "time_to_first_response": duration(metrics.time_to_first_response_minutes),
        "resolution_time": duration(metrics.resolution_time_minutes),
        "metrics": metrics,
        **analysis_panel_context(request, incident),
    }
    return render(request, "console/incidents/detail.html", context, status=status)


@requires("read")
@require_safe
def incident_detail_view(request: HttpRequest, incident_id: str) -> HttpResponse:
    """GET /console/incidents/<incident_id>/"""
    if (incident := _incident(request, incident_id)) is None:
        return _incident_missing(request, incident_id)
    return _incident_page_response(request, incident)


@requires("write")
@require_POST
def incident_status_view(request: HttpRequest, incident_id: str) -> HttpResponse:
    """POST /console/incidents/<incident_id>/status/"""
    if (incident := _incident(request, incident_id)) is None:
        return _incident_missing(request, incident_id)
    form = forms.IncidentStatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Pick one of the statuses {', '.join(STATUS_ACTIONS)}.")
        return redirect("console:incident-detail", incident_id=incident.pk)
    try:
        incident = services.incident_change_status(
            incident=incident, status=form.cleaned_data["status"], actor=Actor.from_request(request)
        )
    except StatuxError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Incident {incident.pk} is now {incident.status}.")
    return redirect("console:incident-detail", incident_id=incident.pk)


@requires("write")
@require_POST
def incident_note_view(request: HttpRequest, incident_id: str) -> HttpResponse:
    """POST /console/incidents/<incident_id>/notes/"""
    if (incident := _incident(request, incident_id)) is None:
        return _incident_missing(request, incident_id)
    form = forms.IncidentNoteForm(request.POST)
    if not form.is_valid():
        return _incident_page_response(request, incident, note_form=form, status=400)
    services.incident_add_note(
        incident=incident, content=form.cleaned_data["content"], actor=Actor.from_request(request)
    )
    messages.success(request, "Note added to the incident and its timeline.")
    return redirect("console:incident-detail", incident_id=incident.pk)
