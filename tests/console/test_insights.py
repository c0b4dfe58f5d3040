"""Console: the incident page's analysis panel, re-analysis, the insights list and its policy form."""

from __future__ import annotations

import pytest
from django.utils.html import escape

from analyses.models import Analysis, AnalysisSettings, Incident
from tests.analyses.test_analysis_pipeline import OOM_ALERT

pytestmark = pytest.mark.django_db


@pytest.fixture
def incident(org, post_alert, settings) -> Incident:
    settings.ANALYSIS_AUTO_MIN_SEVERITY = "off"
    return Incident.objects.get(pk=post_alert(OOM_ALERT).json()["incident_id"])


def test_the_incident_page_offers_an_analysis_and_shows_it_when_done(
    operator_console, incident, django_capture_on_commit_callbacks
):
    before = operator_console.get(f"/console/incidents/{incident.pk}/")
    assert "No analysis yet" in before.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        queued = operator_console.post(f"/console/incidents/{incident.pk}/analyze/")
    page = operator_console.get(f"/console/incidents/{incident.pk}/").content.decode()
    panel = operator_console.get(f"/console/incidents/{incident.pk}/analysis/").content.decode()

    assert queued.status_code == 302
    analysis = Analysis.objects.get(incident=incident)
    assert analysis.summary and escape(analysis.summary) in page
    assert escape(analysis.root_cause) in panel and "Confidence" in panel
    assert analysis.suggested_actions
    for action in analysis.suggested_actions:
        assert f"<strong>{action['name']}</strong>" in panel
    assert "Action is within guardrails" in panel  # each suggestion carries its policy verdict
    assert "<html" not in panel  # the partial alone, for live refresh


def test_an_analysis_in_flight_says_so(operator_console, incident):
    Analysis.objects.create(organization=incident.organization, incident=incident)

    panel = operator_console.get(f"/console/incidents/{incident.pk}/analysis/").content.decode()

    assert "Analysis pending" in panel


def test_a_viewer_cannot_ask_for_an_analysis(viewer_console, incident):
    response = viewer_console.post(f"/console/incidents/{incident.pk}/analyze/")

    assert response.status_code == 403
    assert not Analysis.objects.exists()


def test_the_insights_list_shows_analyses_and_numbers(
    operator_console, incident, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        operator_console.post(f"/console/incidents/{incident.pk}/analyze/")

    page = operator_console.get("/console/insights/").content.decode()
    filtered = operator_console.get("/console/insights/", {"status": "failed"}).content.decode()

    assert incident.title in page and "deterministic" in page
    assert incident.title not in filtered and "No analyses failed yet" in filtered


def test_the_policy_form_saves_the_auto_analysis_setting(operator_console, org):
    response = operator_console.post("/console/insights/settings/", {"min_severity": "high"})

    assert response.status_code == 302
    row = AnalysisSettings.objects.get(organization=org)
    assert (row.auto_analyze, row.min_severity) == (False, "high")


def test_write_postmortem_opens_a_drafted_rca_linked_to_the_incident(
    operator_console, incident, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = operator_console.post(f"/console/incidents/{incident.pk}/postmortem/")

    from rca.models import Rca

    rca = Rca.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/console/rcas/{rca.pk}/"
    assert rca.title == f"Postmortem: {incident.title}"
    assert rca.summary  # the deterministic engine drafted it
    page = operator_console.get(response["Location"]).content.decode()
    assert incident.pk in page
