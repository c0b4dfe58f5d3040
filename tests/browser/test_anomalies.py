"""Anomalies and the learned service graph in a real browser."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from analyses.correlations import service_correlations_learn
from analyses.models import Incident
from tests.browser.conftest import screenshot
from tests.browser.test_console import log_in

pytestmark = pytest.mark.browser


@pytest.fixture
def learned_graph(org):
    """The database fails, the API follows 2 minutes later, checkout 3 minutes after that, twelve times."""
    start = timezone.now() - timedelta(days=5)
    for episode in range(12):
        at = start + timedelta(hours=7 * episode)
        for service, minutes in (("database", 0), ("payments-api", 2), ("checkout", 5)):
            Incident.objects.create(
                organization=org,
                title=f"{service} failing",
                service=service,
                fingerprint=f"{service}-{episode}",
                status="resolved",
                started_at=at + timedelta(minutes=minutes),
            )
    service_correlations_learn(organization_id=str(org.pk))


def test_an_operator_follows_a_failure_from_the_database_downstream(page: Page, viewer, org, learned_graph):
    log_in(page, viewer.email)
    page.keyboard.press("g")
    page.keyboard.press("y")
    expect(page.get_by_role("heading", level=1)).to_have_text("Anomalies")
    page.get_by_role("link", name="See how services fail together").click()

    page.get_by_label("Origin service", exact=True).select_option("database")
    page.get_by_role("button", name="Show").click()

    graph = page.get_by_role("img")
    expect(graph).to_be_visible()
    expect(graph).to_contain_text("payments-api")
    expect(page.get_by_role("table")).to_contain_text("+2")
    screenshot(page, "service-graph")
