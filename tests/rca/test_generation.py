"""AI drafts: POST …/generate, the draft rule (a person's text is never silently overwritten), the
generation log, usage, failures, and the AI-SRE postmortem."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from analyses.models import Analysis, AnalysisStatus
from analyses.services import incident_add_note
from rca.context import TIMELINE_LIMIT, build_rca_context
from rca.models import Rca, RcaGenerationEvent, RcaIncidentLink, RcaRevision
from rca.services import (
    rca_generate,
    rca_generation_request,
    rca_generation_requeue_stuck,
    rca_link_incident,
    rca_update,
)
from statux.audit import Actor
from tests.rca.conftest import make_incident
from tests.rca.factories import RcaFactory
from usage.models import UsageMonth

pytestmark = pytest.mark.django_db


def _events(rca) -> list[str]:
    return list(
        RcaGenerationEvent.objects.filter(rca=rca).order_by("id").values_list("event_type", flat=True)
    )


def test_generate_answers_202_and_the_task_writes_a_draft(
    operator_client, rcas_url, linked_rca, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = operator_client.post(f"{rcas_url}/{linked_rca.pk}/generate")

    assert response.status_code == 202, response.content
    assert len(callbacks) == 1
    body = operator_client.get(f"{rcas_url}/{linked_rca.pk}").json()
    assert body["generation"]["status"] == "completed", body["generation"]
    assert body["generation"]["provider"] == "deterministic"
    assert body["generation"]["skippedFields"] == []
    assert body["generation"]["completedAt"] is not None
    assert "checkout-api" in body["summary"] + body["rootCause"] + body["impact"]
    assert all(body[field].strip() for field in ("summary", "rootCause", "impact", "timeline"))
    assert _events(linked_rca) == ["queued", "started", "context_built", "provider_called", "completed"]


def test_generate_queues_the_task_on_the_rca_queue(
    operator_client, rcas_url, linked_rca, django_capture_on_commit_callbacks
):
    from rca.tasks import rca_generate_draft_task

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = operator_client.post(f"{rcas_url}/{linked_rca.pk}/generate")

    assert (response.status_code, response.json()["generation"]["status"]) == (202, "pending")
    assert len(callbacks) == 1
    assert (rca_generate_draft_task.name, rca_generate_draft_task.queue) == ("rca.generate_draft", "rca")


def test_a_draft_fills_untouched_fields_and_keeps_a_persons_edit(
    operator_client, rcas_url, linked_rca, operator, django_capture_on_commit_callbacks
):
    rca_update(rca=linked_rca, root_cause="The pool was too small (my words).", actor=Actor(user=operator))

    with django_capture_on_commit_callbacks(execute=True):
        operator_client.post(f"{rcas_url}/{linked_rca.pk}/generate")

    rca = Rca.objects.get(pk=linked_rca.pk)
    assert rca.root_cause == "The pool was too small (my words)."
    assert rca.summary and rca.impact and rca.timeline
    assert rca.generation_skipped_fields == ["root_cause"]
    assert operator_client.get(f"{rcas_url}/{rca.pk}").json()["generation"]["skippedFields"] == ["rootCause"]
    history = list(
        RcaRevision.objects.filter(rca=rca, field="root_cause")
        .order_by("id")
        .values_list("source", "applied", "previous_text", "new_text")
    )
    assert history[0] == ("person", True, "", "The pool was too small (my words).")
    assert history[1][:3] == ("generation", False, "The pool was too small (my words).")
    assert history[1][3].strip() and history[1][3] != rca.root_cause  # the proposal is kept, not applied
    applied = set(
        RcaRevision.objects.filter(rca=rca, source="generation", applied=True).values_list("field", flat=True)
    )
    assert applied == {"summary", "impact", "timeline"}


def test_a_second_draft_replaces_generated_text_but_not_edited_text(
    linked_rca, operator, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        rca_generation_request(rca=linked_rca, actor=Actor(user=operator))
    first = Rca.objects.get(pk=linked_rca.pk)
    rca_update(rca=first, impact="Only EU customers.", summary="", actor=Actor(user=operator))

    with django_capture_on_commit_callbacks(execute=True):
        rca_generation_request(rca=first, actor=Actor(user=operator))

    second = Rca.objects.get(pk=linked_rca.pk)
    assert second.impact == "Only EU customers."
    assert second.summary.strip()  # emptied by the person, so filled again
    assert second.generation_skipped_fields == ["impact"]
    assert second.edited_fields == ["impact"]


def test_generation_records_usage_like_an_analysis(
    linked_rca, operator, org, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        rca_generation_request(rca=linked_rca, actor=Actor(user=operator))

    month = UsageMonth.objects.get(organization=org)
    assert (month.analyses, month.paid_analyses) == (1, 0)


def test_running_the_task_twice_changes_nothing_the_second_time(
    linked_rca, operator, org, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        rca_generation_request(rca=linked_rca, actor=Actor(user=operator))
    done = Rca.objects.get(pk=linked_rca.pk)

    again = rca_generate(rca_id=str(linked_rca.pk))

    assert (again.generation_status, again.generated_at) == ("completed", done.generated_at)
    assert UsageMonth.objects.get(organization=org).analyses == 1
    assert _events(linked_rca).count("started") == 1


def test_generate_while_one_is_pending_is_409(operator_client, rcas_url, linked_rca, operator):
    rca_generation_request(rca=linked_rca, actor=Actor(user=operator))  # not run: its commit never comes

    response = operator_client.post(f"{rcas_url}/{linked_rca.pk}/generate")

    assert response.status_code == 409
    assert response.json() == {
        "error": f"A draft of RCA {linked_rca.pk} is already pending.",
        "code": "conflict",
    }


def test_generate_without_a_linked_incident_is_400(operator_client, rcas_url, rca):
    response = operator_client.post(f"{rcas_url}/{rca.pk}/generate")

    assert response.status_code == 400
    assert response.json() == {
        "error": f"Link an incident to RCA {rca.pk} before generating a draft.",
        "code": "no_linked_incident",
    }
    assert Rca.objects.get(pk=rca.pk).generation_status == "idle"


def test_a_viewer_cannot_generate(viewer_client, rcas_url, linked_rca):
    response = viewer_client.post(f"{rcas_url}/{linked_rca.pk}/generate")

    assert (response.status_code, response.json()["code"]) == (403, "permission_denied")


def test_generating_another_organizations_rca_is_404(operator_client, rcas_url, other_org):
    theirs = RcaFactory(organization=other_org)

    response = operator_client.post(f"{rcas_url}/{theirs.pk}/generate")

    assert (response.status_code, response.json()["code"]) == (404, "not_found")


def test_an_unexpected_error_fails_the_generation_with_its_reason(linked_rca, operator, incident):
    rca_generation_request(rca=linked_rca, actor=Actor(user=operator))
    # Break the wire: a timeline row the database cannot hand back as a datetime.
    broken = "'infinity'" if connection.vendor == "postgresql" else "'not a time'"
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE analyses_incidentevent SET created_at = {broken} WHERE incident_id = %s", [incident.pk]
        )

    rca = rca_generate(rca_id=str(linked_rca.pk))

    assert rca.generation_status == "failed"
    assert rca.generation_error
    assert _events(linked_rca)[-1] == "failed"
    assert rca_generate(rca_id=str(linked_rca.pk)).generation_status == "failed"  # never picked up again


def test_stuck_generations_are_queued_again(linked_rca, operator, django_capture_on_commit_callbacks):
    rca_generation_request(rca=linked_rca, actor=Actor(user=operator))
    Rca.objects.filter(pk=linked_rca.pk).update(
        generation_requested_at=timezone.now() - timedelta(minutes=10)
    )

    with django_capture_on_commit_callbacks(execute=True):
        count = rca_generation_requeue_stuck()

    assert count == 1
    assert Rca.objects.get(pk=linked_rca.pk).generation_status == "completed"
    assert _events(linked_rca)[:3] == ["queued", "requeued", "started"]


# --- The context ---------------------------------------------------------------------------------------


def test_the_context_brings_timeline_notes_analysis_and_external_references(
    linked_rca, incident, operator, org
):
    for _ in range(TIMELINE_LIMIT + 5):
        make_incident(org, title=incident.title, service=incident.service)  # repeats: deduplicated events
    incident_add_note(incident=incident, content="Rolled back at 10:20", actor=Actor(user=operator))
    Analysis.objects.create(
        organization=org, incident=incident, status=AnalysisStatus.COMPLETED, summary="s", root_cause="OOM"
    )
    rca_link_incident(
        rca=linked_rca, product="alerting", external_id="INC-42", title="Pager", actor=Actor(user=operator)
    )

    context = build_rca_context(rca=linked_rca)

    (described,) = context.incidents
    assert described["id"] == incident.pk
    assert len(described["timeline"]) == TIMELINE_LIMIT
    assert described["timeline"][0]["created_at"] <= described["timeline"][-1]["created_at"]
    assert described["notes"] == ["Rolled back at 10:20"]
    assert described["analysis"]["root_cause"] == "OOM"
    assert context.external_incidents == (
        {"product": "alerting", "external_id": "INC-42", "title": "Pager", "url": ""},
    )


def test_the_context_queries_stay_bounded_per_incident(
    linked_rca, org, operator, django_assert_max_num_queries
):
    for n in range(5):
        rca_link_incident(
            rca=linked_rca,
            incident=make_incident(org, title=f"Disk full {n}", service=f"db-{n}"),
            actor=Actor(user=operator),
        )

    with django_assert_max_num_queries(
        6 + 6 * 6
    ):  # links, incidents, 3 prefetches, external; deploy + similar each
        context = build_rca_context(rca=linked_rca)

    assert len(context.incidents) == 6


# --- AI-SRE postmortem ---------------------------------------------------------------------------------


def test_postmortem_creates_a_linked_draft_and_generates_it(
    operator_client, incident, django_capture_on_commit_callbacks, settings
):
    with django_capture_on_commit_callbacks(execute=True):
        response = operator_client.post(f"/incidents/{incident.pk}/postmortem")

    assert response.status_code == 201, response.content
    body = response.json()
    rca = Rca.objects.get(pk=body["rca_id"])
    assert body == {
        "incident_id": incident.pk,
        "rca_id": str(rca.pk),
        "title": f"Postmortem: {incident.title}",
        "status": "draft",
        "generation_status": "pending",  # answered before the commit ran the task
        "created": True,
        "url": f"{settings.SITE_URL}/console/rcas/{rca.pk}/",
        "api_url": f"{settings.SITE_URL}/api/v1/organizations/{rca.organization_id}/rcas/{rca.pk}",
    }
    assert list(RcaIncidentLink.objects.filter(rca=rca).values_list("incident_id", flat=True)) == [
        incident.pk
    ]
    assert rca.generation_status == "completed" and rca.summary


def test_postmortem_returns_the_existing_rca(
    operator_client, incident, linked_rca, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = operator_client.post(f"/incidents/{incident.pk}/postmortem")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        second = operator_client.post(f"/incidents/{incident.pk}/postmortem")

    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json()["rca_id"] == second.json()["rca_id"] == str(linked_rca.pk)
    assert (second.json()["created"], second.json()["generation_status"]) == (False, "completed")
    assert callbacks == []  # generated once already: not queued again
    assert Rca.objects.count() == 1


def test_postmortem_of_another_organizations_incident_is_404(operator_client, other_org):
    theirs = make_incident(other_org)

    response = operator_client.post(f"/incidents/{theirs.pk}/postmortem")

    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert not Rca.objects.exists()


def test_postmortem_needs_write(viewer_client, incident):
    response = viewer_client.post(f"/incidents/{incident.pk}/postmortem")

    assert (response.status_code, response.json()["code"]) == (403, "permission_denied")
