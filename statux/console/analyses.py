"""Console: an incident's analysis panel (live while it runs), re-analysis, and the insights list."""

from __future__ import annotations

from django import forms as django_forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from analyses import selectors, services
from analyses.api.diagnosis import diagnosis_payload
from analyses.models import ANALYSIS_STATUSES_IN_FLIGHT, AnalysisStatus, AnalysisTrigger, Incident
from statux.audit import Actor
from statux.console.views import _not_found, requires
from statux.errors import NotFound
from statux.models import Severity

INSIGHTS_PER_PAGE = 50
LOG_LINES_SHOWN = 40


class AnalysisSettingsForm(django_forms.Form):
    auto_analyze = django_forms.BooleanField(required=False, label="Analyse new incidents automatically")
    min_severity = django_forms.ChoiceField(
        choices=Severity.choices,
        label="Minimum severity",
        help_text="Quieter incidents wait for a person to ask.",
    )


class InsightFilterForm(django_forms.Form):
    status = django_forms.ChoiceField(choices=[("", "Any status"), *AnalysisStatus.choices], required=False)


def analysis_panel_context(request: HttpRequest, incident: Incident) -> dict:
    """What the incident page's analysis panel shows: the newest analysis with its policy verdicts."""
    analysis = selectors.analysis_latest(incident=incident)
    if analysis is None:
        return {"analysis": None, "incident": incident, "can_write": request.access.allows("write")}
    analysis.organization = request.organization
    diagnosis = diagnosis_payload(analysis, log_limit=LOG_LINES_SHOWN)
    return {
        "incident": incident,
        "analysis": analysis,
        "diagnosis": diagnosis,
        "in_flight": analysis.status in ANALYSIS_STATUSES_IN_FLIGHT,
        "confidence_percent": round((analysis.confidence or 0) * 100),
        "can_write": request.access.allows("write"),
    }


def _incident(request: HttpRequest, incident_id: str) -> Incident | None:
    try:
        return selectors.incident_get(organization=request.organization, incident_id=incident_id)
    except NotFound:
        return None


@requires("read")
@require_safe
def incident_analysis_view(request: HttpRequest, incident_id: str) -> HttpResponse:
    """GET /console/incidents/<incident_id>/analysis/: the panel alone, for live refresh."""
    if (incident := _incident(request, incident_id)) is None:
        return _not_found(request, f"There is no incident {incident_id} in this organization.")
    return render(
        request, "console/incidents/partials/analysis.html", analysis_panel_context(request, incident)
    )


@requires("write")
@require_POST
def incident_analyze_view(request: HttpRequest, incident_id: str) -> HttpResponse:
    """POST /console/incidents/<incident_id>/analyze/: queue a fresh analysis."""
    if (incident := _incident(request, incident_id)) is None:
        return _not_found(request, f"There is no incident {incident_id} in this organization.")
    _, created = services.analysis_request(
        incident=incident, trigger=AnalysisTrigger.MANUAL, requested_by=Actor.from_request(request).label
    )
    if created:
        messages.success(request, "Analysis queued; the panel updates itself when it is done.")
    else:
        messages.info(request, "An analysis of this incident is already running.")
    return redirect("console:incident-detail", incident_id=incident.pk)


@requires("read")
@require_safe
def insight_list_view(request: HttpRequest) -> HttpResponse:
    """GET /console/insights/: every analysis, newest first, with the numbers that matter."""
    form = InsightFilterForm(request.GET)
    status = form.cleaned_data["status"] if form.is_valid() else ""
    analyses = selectors.analysis_list(
        organization=request.organization, filters={"status": status} if status else {}
    )
    page = Paginator(analyses, INSIGHTS_PER_PAGE).get_page(request.GET.get("page"))
    auto, min_severity = services.analysis_policy(organization_id=request.organization.pk)
    context = {
        "filter_form": form,
        "page": page,
        "stats": selectors.analysis_stats(organization=request.organization),
        "settings_form": AnalysisSettingsForm(initial={"auto_analyze": auto, "min_severity": min_severity}),
        "can_write": request.access.allows("write"),
        "current_status": status,
    }
    return render(request, "console/insights/list.html", context)


@requires("write")
@require_POST
def analysis_settings_view(request: HttpRequest) -> HttpResponse:
    """POST /console/insights/settings/: when new incidents are analysed without being asked."""
    form = AnalysisSettingsForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Pick a minimum severity: " + ", ".join(Severity.values) + ".")
        return redirect("console:insight-list")
    services.analysis_settings_update(
        organization=request.organization,
        auto_analyze=form.cleaned_data["auto_analyze"],
        min_severity=form.cleaned_data["min_severity"],
        actor=Actor.from_request(request),
    )
    messages.success(request, "Analysis policy saved.")
    return redirect("console:insight-list")
