"""The budget check before paid AI calls, the analysis recorder and threshold crossings."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction

from statux.audit import Actor
from statux.models import AuditLog
from usage.models import UsageDay, UsageMonth, UsageThresholdCrossing
from usage.selectors import BudgetDecision, usage_budget_check, usage_budget_get, usage_limits
from usage.services import InvalidBudget, usage_budget_update, usage_record_analysis

# --- Budget check ----------------------------------------------------------------------------------


def test_budget_check_allows_paid_calls_below_the_limit(small_budget, free_org, record):
    record(free_org, times=4)

    decision = usage_budget_check(organization=free_org)

    assert decision == BudgetDecision(paid_allowed=True, reason="", percent_used=80.0)


def test_budget_check_refuses_paid_calls_at_the_limit_and_says_why(small_budget, free_org, record):
    record(free_org, times=5)

    decision = usage_budget_check(organization=free_org)

    assert decision == BudgetDecision(
        paid_allowed=False, reason="monthly analysis limit of 5 reached (5 used)", percent_used=100.0
    )


def test_budget_check_refuses_over_the_limit(small_budget, free_org, record):
    record(free_org, times=7)

    decision = usage_budget_check(organization=free_org)

    assert (decision.paid_allowed, decision.reason, decision.percent_used) == (
        False,
        "monthly analysis limit of 5 reached (7 used)",
        140.0,
    )


def test_budget_check_is_two_queries(small_budget, free_org, record, django_assert_num_queries):
    record(free_org)

    with django_assert_num_queries(2):
        usage_budget_check(organization=free_org)


def test_free_plan_defaults_apply_without_a_budget(free_org, record):
    record(free_org, paid=True, input_tokens=400_000, output_tokens=100_000)

    decision = usage_budget_check(organization=free_org)

    limits = usage_limits(organization=free_org, budget=None)
    assert (limits.analyses, limits.tokens, limits.cost_usd) == (100, 500_000, None)
    assert decision == BudgetDecision(
        paid_allowed=False, reason="monthly token limit of 500,000 reached (500,000 used)", percent_used=100.0
    )


def test_pro_plan_defaults_and_a_budget_override(org, owner):
    assert usage_limits(organization=org, budget=None).analyses == 2_000  # the factory's plan is pro

    budget = usage_budget_update(organization=org, actor=Actor(user=owner), analyses_limit=10)

    limits = usage_limits(organization=org, budget=budget)
    assert (limits.analyses, limits.tokens) == (10, 10_000_000)


def test_enterprise_is_unlimited(org, record):
    org.plan = "enterprise"
    org.save(update_fields=["plan"])
    record(org, times=3, paid=True, input_tokens=50_000_000, output_tokens=0)

    decision = usage_budget_check(organization=org)

    assert decision == BudgetDecision(paid_allowed=True, reason="", percent_used=0.0)
    assert UsageThresholdCrossing.objects.for_org(org).count() == 0


def test_cost_limit_refuses_paid_calls_once_spent(free_org, owner, record):
    usage_budget_update(organization=free_org, actor=Actor(user=owner), cost_limit_usd=Decimal("0.03"))
    record(free_org, times=2, paid=True, input_tokens=1000, output_tokens=1000)  # 2 x $0.018

    decision = usage_budget_check(organization=free_org)

    assert (decision.paid_allowed, decision.reason) == (
        False,
        "monthly cost limit of $0.03 reached ($0.04 used)",
    )


def test_disabled_hard_limit_lets_paid_calls_through(small_budget, free_org, owner, record):
    usage_budget_update(organization=free_org, actor=Actor(user=owner), hard_limit_enabled=False)
    record(free_org, times=6)

    decision = usage_budget_check(organization=free_org)

    assert decision == BudgetDecision(paid_allowed=True, reason="", percent_used=120.0)


def test_limits_are_per_organization(small_budget, free_org, other_org, record):
    record(free_org, times=5)

    decision = usage_budget_check(organization=other_org)

    assert decision.paid_allowed and decision.percent_used == 0.0


# --- Recording an analysis -------------------------------------------------------------------------


@time_machine.travel(datetime(2026, 3, 14, 9, 30, tzinfo=UTC), tick=False)
def test_record_analysis_adds_to_the_month_and_the_day_and_costs_only_paid_calls(free_org, record):
    record(free_org, paid=True, input_tokens=1200, output_tokens=300, provider="bedrock")
    record(free_org, paid=False, input_tokens=500, output_tokens=100, provider="openai-selfhosted")

    month = UsageMonth.objects.for_org(free_org).get()
    day = UsageDay.objects.for_org(free_org).get()
    # 1.2 x $0.003 + 0.3 x $0.015 = $0.0081 for the paid call; the free one costs nothing.
    for row in (month, day):
        assert (row.analyses, row.paid_analyses, row.tokens, row.input_tokens, row.output_tokens) == (
            2,
            1,
            2100,
            1700,
            400,
        )
        assert row.cost_usd == Decimal("0.0081")
    assert (month.month.isoformat(), day.day.isoformat()) == ("2026-03-01", "2026-03-14")


def test_record_analysis_uses_the_configured_rates(free_org, record, settings):
    settings.AI_COST_PER_1K_INPUT_TOKENS = 0.01
    settings.AI_COST_PER_1K_OUTPUT_TOKENS = 0.03

    record(free_org, paid=True, input_tokens=2000, output_tokens=1000)

    assert UsageMonth.objects.for_org(free_org).get().cost_usd == Decimal("0.05")


def test_record_analysis_refuses_negative_token_counts(free_org):
    with pytest.raises(ValueError, match="cannot be negative"):
        usage_record_analysis(
            organization=free_org, provider="bedrock", paid=True, input_tokens=-1, output_tokens=0
        )

    assert not UsageMonth.objects.for_org(free_org).exists()


def test_a_threshold_is_crossed_once_and_audited_once(small_budget, free_org, record):
    assert record(free_org, times=3) == []

    first = record(free_org)  # 4 of 5: 80%
    again = record(free_org)  # 5 of 5: 100%, and 80% again must not repeat
    later = record(free_org)  # 6 of 5: nothing new

    assert (first, again, later) == ([80], [100], [])
    crossings = UsageThresholdCrossing.objects.for_org(free_org).order_by("percent")
    assert [(c.metric, c.percent) for c in crossings] == [("analyses", 80), ("analyses", 100)]
    audits = AuditLog.objects.for_org(free_org).filter(action="usage.threshold_crossed").order_by("id")
    assert [(a.actor, a.metadata["percent"], a.metadata["used"], a.metadata["limit"]) for a in audits] == [
        ("system:usage", 80, "4", "5"),
        ("system:usage", 100, "5", "5"),
    ]


def test_thresholds_are_crossed_again_in_a_new_month(small_budget, free_org, record):
    with time_machine.travel(datetime(2026, 3, 31, 23, 0, tzinfo=UTC), tick=False):
        record(free_org, times=4)
    with time_machine.travel(datetime(2026, 4, 1, 1, 0, tzinfo=UTC), tick=False):
        crossed = record(free_org, times=4)

    assert crossed == [80]
    months = UsageThresholdCrossing.objects.for_org(free_org).values_list("month", flat=True)
    assert sorted(month.isoformat() for month in months) == ["2026-03-01", "2026-04-01"]


def test_one_analysis_can_cross_several_metrics_and_thresholds(free_org, owner, record):
    usage_budget_update(
        organization=free_org,
        actor=Actor(user=owner),
        analyses_limit=1,
        tokens_limit=1000,
        thresholds=[50, 100],
    )

    crossed = record(free_org, paid=True, input_tokens=600, output_tokens=0)

    assert crossed == [50, 100]
    assert sorted(UsageThresholdCrossing.objects.for_org(free_org).values_list("metric", "percent")) == [
        ("analyses", 50),
        ("analyses", 100),
        ("tokens", 50),
    ]


def test_the_unique_constraint_refuses_a_second_crossing_of_one_period(small_budget, free_org, record):
    record(free_org, times=4)
    crossing = UsageThresholdCrossing.objects.for_org(free_org).get()

    with pytest.raises(IntegrityError), transaction.atomic():
        UsageThresholdCrossing.objects.create(
            organization=free_org, month=crossing.month, metric=crossing.metric, percent=crossing.percent
        )


@pytest.mark.django_db(transaction=True)
def test_concurrent_analyses_count_every_one_and_cross_each_threshold_once(small_budget, free_org):
    def analyse(_: int) -> list[int]:
        try:
            return usage_record_analysis(
                organization=free_org, provider="deterministic", paid=False, input_tokens=0, output_tokens=0
            )
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(analyse, range(12)))

    assert UsageMonth.objects.for_org(free_org).get().analyses == 12
    assert UsageDay.objects.for_org(free_org).get().analyses == 12
    assert sorted(percent for result in results for percent in result) == [80, 100]
    assert UsageThresholdCrossing.objects.for_org(free_org).count() == 2
    assert AuditLog.objects.for_org(free_org).filter(action="usage.threshold_crossed").count() == 2


# --- Budget updates --------------------------------------------------------------------------------


def test_budget_update_sorts_thresholds_and_audits_the_change(free_org, owner):
    budget = usage_budget_update(
        organization=free_org, actor=Actor(user=owner), thresholds=[100, 50, 80, 50], tokens_limit=None
    )

    assert budget.thresholds == [50, 80, 100]
    audit = AuditLog.objects.for_org(free_org).get(action="usage.budget_updated")
    assert (audit.actor, audit.metadata) == (
        "owner@acme.test",
        {"thresholds": {"from": [80, 100], "to": [50, 80, 100]}},
    )


def test_budget_update_without_a_change_writes_no_audit(small_budget, free_org, owner):
    usage_budget_update(organization=free_org, actor=Actor(user=owner), analyses_limit=5)

    assert (
        AuditLog.objects.for_org(free_org).filter(action="usage.budget_updated").count() == 1
    )  # the fixture's


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"analyses_limit": -1}, ["analyses_limit"]),
        ({"cost_limit_usd": Decimal("-0.01")}, ["cost_limit_usd"]),
        ({"thresholds": [0, 80]}, ["thresholds"]),
        ({"thresholds": [80, 1001]}, ["thresholds"]),
        ({"thresholds": ["80"]}, ["thresholds"]),
        ({"hard_limit_enabled": "yes", "plan": "pro"}, ["hard_limit_enabled", "plan"]),
    ],
)
def test_budget_update_refuses_bad_values_and_keeps_the_budget(free_org, owner, changes, fields):
    with pytest.raises(InvalidBudget) as refused:
        usage_budget_update(organization=free_org, actor=Actor(user=owner), **changes)

    assert sorted(refused.value.fields) == fields
    assert usage_budget_get(organization=free_org) is None
