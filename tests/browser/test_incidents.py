"""Incidents and ingestion in a real browser: keyboard, buttons, live refresh, and pictures to review."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import Page, expect

from analyses.models import Incident, IncidentNote
from analyses.services import incident_record_alert
from tests.browser.conftest import screenshot
from tests.browser.test_console import log_in
from webhooks import services
from webhooks.normalizers.base import NormalizedAlert

pytestmark = pytest.mark.browser


def record(organization, title, *, severity="critical", service="", **extra) -> Incident:
    alert = NormalizedAlert(
        source="webhook",
        title=title,
        fingerprint=f"fp:{title}",
        severity=severity,
        service=service or f"svc-{title.split()[0].lower()}",
        **extra,
    )
    return incident_record_alert(organization=organization, alert=alert).incident


@pytest.fixture
def incidents(org):
    """A morning's worth of incidents: a few hours back, a group, a repeat, every severity."""
    now = timezone.now()
    for hours, title, severity in [
        (20, "Certificate expires in 7 days", "info"),
        (9, "Queue depth above 10k on orders", "warning"),
        (5, "Replica lag over 30 s on db-2", "high"),
        (5, "Disk 91% full on db-1", "warning"),
        (2, "5xx rate above 5% on checkout", "high"),
    ]:
        with time_machine.travel(now - timedelta(hours=hours), tick=False):
            record(org, title, severity=severity)
    parent = record(
        org,
        "High CPU on payments-api",
        service="payments-api",
        namespace="production",
        pod="payments-api-7d8f9c6b5-x2k4m",
        deployment="payments-api",
        description="CPU usage > 90% for 5 minutes",
    )
    record(org, "High CPU on payments-api", service="payments-api")  # a repeat
    record(org, "Latency p99 above 2 s on payments-api", severity="high", service="payments-api")  # grouped
    return parent


def test_an_operator_opens_an_incident_by_keyboard_acknowledges_it_and_adds_a_note(
    page: Page, operator, org, incidents
):
    log_in(page, operator.email)
    page.keyboard.press("g")
    page.keyboard.press("i")
    expect(page.get_by_role("heading", level=1)).to_have_text("Incidents")
    table = page.get_by_role("table", name="Incidents of Acme Corporation")
    expect(table.get_by_role("row")).to_have_count(8)  # the header and seven incidents

    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    first = table.get_by_role("link", name="Latency p99 above 2 s on payments-api")
    expect(first).to_be_focused()
    page.keyboard.press("j")
    expect(table.get_by_role("link", name="High CPU on payments-api")).to_be_focused()
    screenshot(page, "incidents-list")  # with the second row selected
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", level=1)).to_have_text("High CPU on payments-api")
    page.get_by_role("button", name="Acknowledge").click()
    expect(
        page.get_by_role("status").filter(has_text=f"Incident {incidents.pk} is now acknowledged.")
    ).to_be_visible()
    expect(page.get_by_role("button", name="Acknowledge")).to_have_count(0)

    page.get_by_role("textbox", name="Note").fill("Rolled back payments-api to v41; CPU back to 40%.")
    page.get_by_role("button", name="Add note").click()

    expect(page.get_by_role("status").filter(has_text="Note added")).to_be_visible()
    timeline = page.get_by_role("region", name="Timeline")
    entries = timeline.get_by_role("listitem")
    expect(entries.filter(has_text="Status changed")).to_contain_text("by operator@acme.test")
    expect(entries.filter(has_text="Status changed")).to_contain_text("open → acknowledged")
    expect(entries.last).to_contain_text("Note added")
    expect(entries.last).to_contain_text("Rolled back payments-api to v41")
    expect(page.get_by_role("region", name="Notes")).to_contain_text("Rolled back payments-api to v41")
    page.get_by_text("Alert received ·").first.click()  # open one raw alert for the picture
    screenshot(page, "incident-detail")
    incident = Incident.objects.get(pk=incidents.pk)
    assert incident.status == "acknowledged"
    assert IncidentNote.objects.get(incident=incident).author == "operator@acme.test"


def test_the_resolve_shortcut_resolves_the_incident_shown(page: Page, operator, org, incidents):
    log_in(page, operator.email)
    page.goto(f"/console/incidents/{incidents.pk}/")

    page.keyboard.press("r")

    expect(page.get_by_role("status").filter(has_text="is now resolved")).to_be_visible()
    assert Incident.objects.get(pk=incidents.pk).status == "resolved"


def test_the_list_refreshes_itself_and_keeps_the_selected_row(page: Page, viewer, org, incidents):
    page.clock.install()
    log_in(page, viewer.email)
    page.goto("/console/incidents/?status=active")
    table = page.get_by_role("table", name="Incidents of Acme Corporation")
    page.keyboard.press("j")
    selected = table.get_by_role("link", name="Latency p99 above 2 s on payments-api")
    expect(selected).to_be_focused()

    record(org, "Pod restarts on search-api", severity="high")
    page.clock.run_for(16_000)

    expect(table.get_by_role("row", name=re.compile("Pod restarts on search-api"))).to_be_visible()
    expect(page.get_by_role("link", name=re.compile(r"^\d+ open$"))).to_have_text(re.compile(r"^8\s+open$"))
    expect(selected).to_be_focused()


def test_the_dashboard_draws_the_last_day_of_incidents(page: Page, viewer, org, incidents):
    log_in(page, viewer.email)

    chart = page.get_by_role("img", name="New incidents per hour over the last 24 hours (UTC)")
    expect(chart).to_be_visible()
    expect(page.get_by_role("link", name=re.compile(r"^\d+ critical$"))).to_have_text(
        re.compile(r"^1\s+critical$")
    )
    screenshot(page, "dashboard")


def test_a_webhook_config_is_created_with_its_url_shown_once(
    page: Page, live_server, settings, operator, org
):
    settings.SITE_URL = live_server.url
    log_in(page, operator.email)
    page.keyboard.press("g")
    page.keyboard.press("w")
    expect(page.get_by_role("heading", level=1)).to_have_text("Webhook configs")

    form = page.get_by_role("region", name="Create a webhook config")
    form.get_by_label("Name").fill("Grafana prod")
    form.get_by_label("Normalizer").select_option("webhook")
    form.get_by_label("Signing secret (optional)").fill("s3cret")
    form.get_by_role("button", name="Create config").click()

    url = page.get_by_label("Ingest URL with key").input_value()
    assert url.startswith(f"{live_server.url}/api/v1/webhooks/ingest/ins_")
    expect(page.get_by_label(re.compile("^Try it with curl"))).to_have_value(
        re.compile("x-webhook-signature")
    )
    screenshot(page, "webhooks-created")
    page.goto("/console/ingestion/webhooks/")
    expect(page.get_by_label("Ingest URL with key")).to_have_count(0)
    expect(page.get_by_role("row", name=re.compile("^Grafana prod"))).to_contain_text("enabled")


def test_the_dead_letter_shows_a_payload_and_replays_it(page: Page, operator, org):
    event = services.inbound_event_store(
        organization=org, channel="aisre_webhook", source="webhook", body=b"status=down&host=db-1"
    )
    services.inbound_event_dead_letter(
        event_id=event.pk, reason="The body is not valid JSON: Expecting value."
    )
    log_in(page, operator.email)
    page.goto("/console/ingestion/webhooks/")
    page.get_by_role("navigation", name="Ingestion").get_by_role(
        "link", name=re.compile("^Dead letter")
    ).click()

    row = page.get_by_role("row", name=re.compile("webhook"))
    row.get_by_text("Payload").click()
    expect(row.get_by_text("status=down&host=db-1")).to_be_visible()
    screenshot(page, "dead-letter")
    row.get_by_role("button", name=re.compile("^Replay")).click()

    expect(
        page.get_by_role("status").filter(
            has_text="Replayed 1 event: 0 now processed, 1 still dead-lettered."
        )
    ).to_be_visible()
