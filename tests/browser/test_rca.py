"""RCAs in a real browser: write one from an incident to publication, watching the draft arrive by itself."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from rca.models import Rca
from rca.services import rca_generate
from statux.celery import app as celery_app
from tests.browser.conftest import screenshot
from tests.browser.test_console import log_in
from tests.browser.test_incidents import record

pytestmark = pytest.mark.browser


@pytest.fixture
def checkout_incident(org, settings):
    settings.ANALYSIS_AUTO_MIN_SEVERITY = "off"
    record(org, "Disk 91% full on db-1", severity="warning", service="postgres")
    return record(
        org,
        "5xx rate above 5% on checkout-api",
        service="checkout-api",
        namespace="production",
        description="Checkout answered 5xx to 7% of requests for 20 minutes.",
    )


def test_an_operator_writes_an_rca_from_incident_to_publication(page: Page, operator, org, checkout_incident):
    log_in(page, operator.email)
    page.goto("/console/rcas/")
    expect(page.get_by_role("heading", level=1)).to_have_text("RCAs")

    page.get_by_label("Title").fill("Checkout outage")
    page.get_by_role("button", name="Create RCA").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Checkout outage")
    rca = Rca.objects.get(organization=org)

    # Link the incident found by a search.
    page.get_by_role("searchbox", name="Find incidents to link").fill("checkout")
    page.get_by_role("button", name="Search").click()
    found = page.get_by_role("list", name="Incidents found")
    expect(found.get_by_role("listitem")).to_have_count(1)
    found.get_by_role("button", name="Link 5xx rate above 5% on checkout-api").click()
    linked = page.get_by_role("region", name=re.compile("^Linked incidents"))
    expect(linked.get_by_role("link", name="5xx rate above 5% on checkout-api")).to_be_visible()
    expect(found.get_by_text("linked", exact=True)).to_be_visible()

    # Ask for a draft; a worker writes it later, and the page shows it without a reload.
    celery_app.conf.task_always_eager = False  # queued on the in-memory broker: no worker takes it
    draft = page.get_by_role("region", name="AI draft")
    draft.get_by_role("button", name="Generate draft").click()
    expect(draft).to_contain_text("Draft pending")
    summary = page.get_by_role("region", name="Summary")
    expect(summary).to_contain_text("Not written yet.")
    page.evaluate("window.notReloaded = true")

    rca_generate(rca_id=str(rca.pk))  # what a worker does

    expect(summary).not_to_contain_text("Not written yet.", timeout=10_000)
    expect(summary).to_contain_text("checkout-api")
    expect(draft).to_contain_text("Drafted by deterministic", timeout=10_000)
    assert page.evaluate("window.notReloaded") is True
    celery_app.conf.task_always_eager = True

    # Edit the summary with a preview rendered on the server, without leaving the page.
    draft.get_by_role("link", name="Reload the page to edit the draft").click()
    summary.get_by_text("Edit summary").click()
    editor = summary.get_by_label("Summary (Markdown)")
    expect(editor).to_be_focused()
    editor.fill("Checkout **failed** for 20 minutes. <script>window.pwned = 1</script>")
    summary.get_by_role("button", name="Preview").click()
    expect(summary.locator("[data-preview-output] strong")).to_have_text("failed")
    expect(summary.locator("[data-preview-output]")).to_contain_text("<script>window.pwned = 1</script>")
    assert page.evaluate("window.pwned") is None
    summary.get_by_role("button", name="Save summary").click()
    expect(page.get_by_role("status").filter(has_text="Summary saved")).to_be_visible()
    expect(summary.locator(".markdown strong")).to_have_text("failed")

    # Add an action item and move it across the board to done.
    items = page.get_by_role("region", name="Action items")
    items.get_by_label("Action", exact=True).fill("Raise the DB pool to 50 connections")
    items.get_by_label("Assignee").select_option(label=f"{operator.name} ({operator.email})")
    items.get_by_label("Priority").select_option("high")
    items.get_by_label("Due date (optional)").fill(f"{timezone.localdate() + timedelta(days=3):%Y-%m-%d}")
    items.get_by_role("button", name="Add action item").click()
    card = page.get_by_role("article", name="Raise the DB pool to 50 connections")
    expect(page.get_by_role("region", name=re.compile("^Open")).get_by_role("article")).to_have_count(1)
    expect(card).to_contain_text(operator.name)
    expect(card).to_contain_text("high")

    card.get_by_role("button", name="Start").click()
    expect(page.get_by_role("region", name=re.compile("^In progress")).get_by_role("article")).to_have_count(
        1
    )
    card.get_by_role("button", name="Mark done").click()
    done = page.get_by_role("region", name=re.compile("^Done"))
    expect(done.get_by_role("article", name="Raise the DB pool to 50 connections")).to_be_visible()

    # Review, then publish.
    page.get_by_role("button", name="Submit for review").click()
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_role("status").filter(has_text="The RCA is now published.")).to_be_visible()
    expect(page.get_by_role("button", name="Back to draft")).to_be_visible()
    expect(page.get_by_role("button", name="Publish")).to_have_count(0)
    screenshot(page, "rca-page")

    page.goto("/console/rcas/")
    row = page.get_by_role("row", name=re.compile("Checkout outage"))
    expect(row).to_contain_text("published")
    expect(row.get_by_role("cell").nth(1)).to_have_text("1")  # one linked incident
    expect(row.get_by_role("cell").nth(2)).to_have_text("0")  # no open action item left
    page.keyboard.press("j")
    expect(page.get_by_role("link", name="Checkout outage")).to_be_focused()
    screenshot(page, "rca-list")


def test_a_viewer_reads_an_rca_and_deletes_nothing(page: Page, viewer, operator, org, checkout_incident):
    from rca.services import rca_create, rca_link_incident
    from statux.audit import Actor

    rca = rca_create(
        organization=org, title="Checkout outage", actor=Actor(user=operator), summary="It *broke*."
    )
    rca_link_incident(rca=rca, incident=checkout_incident, actor=Actor(user=operator))
    log_in(page, viewer.email)

    page.goto(f"/console/rcas/{rca.pk}/")

    expect(page.get_by_role("region", name="Summary").locator("em")).to_have_text("broke")
    expect(page.get_by_role("button", name=re.compile("Generate|Delete|Submit|Link"))).to_have_count(0)
    expect(page.get_by_role("textbox")).to_have_count(0)
    expect(page.get_by_role("link", name="Export Markdown")).to_be_visible()


def test_an_operator_deletes_an_rca_after_confirming_in_a_dialog(page: Page, operator, org):
    from rca.services import rca_create
    from statux.audit import Actor

    rca = rca_create(organization=org, title="Duplicate RCA", actor=Actor(user=operator))
    log_in(page, operator.email)
    page.goto(f"/console/rcas/{rca.pk}/")

    page.get_by_role("button", name="Delete RCA…").click()
    dialog = page.get_by_role("dialog", name="Delete this RCA?")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Delete RCA").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("RCAs")
    expect(page.get_by_role("status").filter(has_text="RCA “Duplicate RCA” deleted")).to_be_visible()
    assert not Rca.objects.filter(pk=rca.pk).exists()
