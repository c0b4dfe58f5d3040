"""RCA admin: every model's change page opens on a real row, and the draft action goes through the service."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from rca.models import Rca, RcaActionItem, RcaGenerationEvent, RcaIncidentLink, RcaRevision
from rca.services import rca_action_item_create, rca_update
from statux.audit import Actor

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(superuser) -> Client:
    client = Client()
    client.force_login(superuser)
    return client


@pytest.mark.parametrize("model", [Rca, RcaRevision, RcaIncidentLink, RcaActionItem])
def test_every_rca_model_lists_and_opens(staff, linked_rca, operator, model):
    rca_update(rca=linked_rca, summary="Words", actor=Actor(user=operator))
    rca_action_item_create(rca=linked_rca, title="Raise the limit", actor=Actor(user=operator))
    meta = model._meta
    row = model.objects.first()

    listing = staff.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"), {"q": "limit"})
    change = staff.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[row.pk]))

    assert (listing.status_code, change.status_code) == (200, 200)


def test_the_generate_action_queues_a_draft_and_logs_it(
    staff, linked_rca, django_capture_on_commit_callbacks
):
    url = reverse("admin:rca_rca_changelist")

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = staff.post(url, {"action": "generate_draft", "_selected_action": [str(linked_rca.pk)]})

    assert response.status_code == 302
    assert len(callbacks) == 1
    linked_rca.refresh_from_db()
    assert linked_rca.generation_status == "pending"
    assert list(RcaGenerationEvent.objects.filter(rca=linked_rca).values_list("event_type", flat=True)) == [
        "queued"
    ]
