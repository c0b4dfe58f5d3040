"""Analyses in a real browser: ask for one, watch the panel fill in by itself, read the insights list."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from analyses.models import Analysis
from analyses.services import analysis_run
from tests.browser.conftest import screenshot
from tests.browser.test_console import log_in
from tests.browser.test_incidents import record

pytestmark = pytest.mark.browser


@pytest.fixture
def oom_incident(org, settings):
    settings.ANALYSIS_AUTO_MIN_SEVERITY = "off"
    return record(
        org,
        "KubeContainerOOMKilled payments-api",
        service="payments-api",
        namespace="production",
        pod="payments-api-7d8f9c6b5-x2k4m",
        deployment="payments-api",
        description="Container payments-api was OOMKilled (exit code 137).",
        labels={"alertname": "KubeContainerOOMKilled", "reason": "OOMKilled"},
    )


def test_an_operator_asks_for_an_analysis_and_reads_it(page: Page, operator, org, oom_incident):
    log_in(page, operator.email)
    page.goto(f"/console/incidents/{oom_incident.pk}/")
    panel = page.get_by_role("region", name="Analysis")
    expect(panel).to_contain_text("No analysis yet")

    panel.get_by_role("button", name="Analyse").click()  # tasks run in-process: done before the redirect

    expect(panel).to_contain_text("OOMKilled")
    expect(panel.get_by_role("meter", name="Confidence")).to_be_visible()
    actions = panel.get_by_role("table")
    expect(actions).to_contain_text("Action is within guardrails")
    screenshot(page, "incident-analysis")

    page.keyboard.press("g")
    page.keyboard.press("n")
    expect(page.get_by_role("heading", level=1)).to_have_text("Insights")
    expect(page.get_by_role("link", name="KubeContainerOOMKilled payments-api")).to_be_visible()
    screenshot(page, "insights-list")


def test_the_panel_fills_in_by_itself_when_a_worker_finishes(page: Page, viewer, org, oom_incident):
    analysis = Analysis.objects.create(organization=org, incident=oom_incident)
    log_in(page, viewer.email)
    page.goto(f"/console/incidents/{oom_incident.pk}/")
    panel = page.get_by_role("region", name="Analysis")
    expect(panel).to_contain_text("Analysis pending")
    expect(panel.get_by_role("button", name=re.compile("Analyse"))).to_have_count(0)  # viewers only read

    analysis_run(analysis_id=str(analysis.pk))  # what a worker does

    expect(panel).to_contain_text("Root cause", timeout=10_000)  # no reload: the panel refreshes itself
    expect(panel).not_to_contain_text("Analysis pending")


def test_an_owner_sets_a_limit_and_sees_the_budget_bar_move(page: Page, owner, org, oom_incident):
    Analysis.objects.create(organization=org, incident=oom_incident)
    from usage.services import usage_record_analysis

    usage_record_analysis(organization=org, provider="openai", paid=True, input_tokens=900, output_tokens=100)
    log_in(page, owner.email)
    page.keyboard.press("g")
    page.keyboard.press("u")
    expect(page.get_by_role("heading", level=1)).to_have_text("Usage")

    page.get_by_label("Analyses per month").fill("2")
    page.get_by_role("button", name="Save limits").click()

    meter = page.locator('[data-metric="analyses"]')
    expect(meter).to_contain_text("1 of 2")
    expect(meter.get_by_role("meter")).to_have_attribute("aria-valuenow", "50")
    screenshot(page, "usage")


def test_an_operator_denies_a_namespace_and_the_verdicts_change(page: Page, operator, org):
    log_in(page, operator.email)
    page.keyboard.press("g")
    page.keyboard.press("r")
    expect(page.get_by_role("heading", level=1)).to_have_text("Guardrails")
    restart = page.locator('tr[data-action="restart_pod"] [data-field="allowed"]')
    expect(restart).to_have_text("allowed")

    page.get_by_label("Denied namespaces").fill("kube-system, production")
    page.get_by_role("button", name="Save policy").click()

    expect(restart).to_have_text("refused")
    expect(page.locator('tr[data-action="restart_pod"] [data-field="policy_reason"]')).to_contain_text(
        "namespace production is not allowed"
    )
    screenshot(page, "guardrails")
