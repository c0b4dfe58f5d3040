"""Every model registered in Django admin lists, searches and opens for staff, with real rows in it."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse

from tests.analyses.test_analysis_pipeline import OOM_ALERT

pytestmark = pytest.mark.django_db

REGISTERED = sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


@pytest.fixture
def staff(superuser, org, post_alert, settings, django_capture_on_commit_callbacks) -> Client:
    settings.ANALYSIS_AUTO_MIN_SEVERITY = "critical"
    with django_capture_on_commit_callbacks(execute=True):
        post_alert(OOM_ALERT)  # an incident, its timeline, an inbound event, an analysis and its events
    client = Client()
    client.force_login(superuser)
    return client


@pytest.mark.parametrize(("model", "model_admin"), REGISTERED, ids=[m._meta.label for m, _ in REGISTERED])
def test_the_changelist_renders_and_searches(staff, model, model_admin):
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")

    listing = staff.get(url)
    searched = staff.get(url, {"q": "payments"}) if model_admin.search_fields else listing

    assert listing.status_code == 200, listing.content[:500]
    assert searched.status_code == 200
    row = model.objects.first()
    if row is not None:
        change = staff.get(
            reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[row.pk])
        )
        assert change.status_code == 200
