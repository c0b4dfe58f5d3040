"""The console usage page with a real session: bars, crossings, the per-day SVG and the owners' form."""

from __future__ import annotations

import html
import re

from tests.console.conftest import logged_in
from usage.models import TenantBudget


def text(response) -> str:
    return html.unescape(response.content.decode())


def test_usage_page_draws_budget_bars_crossings_and_the_daily_chart(small_budget, free_org, owner, record):
    record(free_org, times=4)

    response = logged_in(owner).get("/console/usage/")

    assert response.status_code == 200
    page = text(response)
    bar = re.search(
        r'data-metric="analyses".*?style="width: ([\d.]+)%; background: ([^;]+);', page, re.S
    )
    assert bar.groups() == ("80", "var(--warn)")
    assert "4 of 5 · 80.0%" in " ".join(page.split())
    assert "Analyses passed 80%" in page
    svg = re.search(r"<svg class=\"chart\".*?</svg>", page, re.S).group(0)
    assert svg.count('class="chart-slot"') == 30
    assert svg.count('class="chart-bar"') == 1
    assert "4 analyses in the last 30 days." in svg
    assert 'action="/console/usage/budget/"' in page


def test_a_reached_limit_turns_the_bar_red_and_says_so(small_budget, free_org, owner, record):
    record(free_org, times=6)

    page = text(logged_in(owner).get("/console/usage/"))

    assert 'style="width: 100%; background: var(--danger);' in page
    assert "Limit reached:" in page


def test_viewers_see_usage_but_not_the_limits_form(small_budget, free_org, viewer):
    response = logged_in(viewer).get("/console/usage/")

    assert response.status_code == 200
    assert 'action="/console/usage/budget/"' not in text(response)


def test_owner_saves_limits_through_the_form(free_org, owner):
    client = logged_in(owner)

    response = client.post(
        "/console/usage/budget/",
        {"analyses_limit": "20", "tokens_limit": "", "cost_limit_usd": "5", "thresholds": "90, 50"},
    )

    assert (response.status_code, response["Location"]) == (302, "/console/usage/")
    budget = TenantBudget.objects.for_org(free_org).get()
    assert (budget.analyses_limit, budget.tokens_limit, budget.thresholds, budget.hard_limit_enabled) == (
        20,
        None,
        [50, 90],
        False,
    )
    assert "Usage limits saved." in text(client.get("/console/usage/"))


def test_bad_thresholds_re_render_the_form_with_the_reason(free_org, owner):
    response = logged_in(owner).post(
        "/console/usage/budget/", {"thresholds": "80, 2000", "hard_limit_enabled": "on"}
    )

    assert response.status_code == 400
    assert "Threshold 2000 is not within 1..1000." in text(response)
    assert not TenantBudget.objects.for_org(free_org).exists()


def test_admins_cannot_change_limits(free_org, admin_user):
    response = logged_in(admin_user).post("/console/usage/budget/", {"analyses_limit": "1"})

    assert response.status_code == 403
    assert "cannot change usage limits" in text(response)
    assert not TenantBudget.objects.for_org(free_org).exists()


def test_self_hosted_checkout_lands_on_a_page_that_explains_plans(org, owner):
    page = text(logged_in(owner).get("/console/usage/?plan=enterprise"))

    assert "You asked for the <strong>enterprise</strong> plan" in page
    assert "nothing was charged or changed" in page
