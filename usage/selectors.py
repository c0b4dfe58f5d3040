"""Reads of usage and budgets: the budget check before a paid AI call, and the summary for API and console."""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from statux.models import Organization
from usage.models import (
    BillingAccount,
    TenantBudget,
    UsageDay,
    UsageMetric,
    UsageMonth,
    UsageThresholdCrossing,
    default_thresholds,
)
from usage.plans import plan_limits

SUMMARY_DAYS = 30


def current_month() -> date:
    return timezone.now().date().replace(day=1)


def month_last_day(month: date) -> date:
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


def usage_events_this_month(*, organizations: Iterable[Organization]) -> dict:
    """{organization_id: events} for the current month, in one query."""
    ids = [organization.pk for organization in organizations]
    rows = UsageMonth.objects.filter(organization_id__in=ids, month=current_month())
    return dict(rows.values_list("organization_id", "events"))


@dataclass(frozen=True)
class UsageLimits:
    """The limits in force: the budget's own, else the plan's; None is unlimited."""

    analyses: int | None
    tokens: int | None
    cost_usd: Decimal | None
    thresholds: list[int]
    hard_limit_enabled: bool

    def of(self, metric: str) -> int | Decimal | None:
        return {UsageMetric.ANALYSES: self.analyses, UsageMetric.TOKENS: self.tokens}.get(
            metric, self.cost_usd
        )


@dataclass(frozen=True)
class UsageMeter:
    metric: str
    used: int | Decimal
    limit: int | Decimal | None

    @property
    def percent(self) -> float | None:
        if self.limit is None:
            return None
        if not self.limit:
            return 100.0 if self.used else 0.0
        return round(float(self.used) * 100 / float(self.limit), 1)

    @property
    def reached(self) -> bool:
        return self.limit is not None and self.used >= self.limit

    def crossed(self, threshold: int) -> bool:
        # Integer arithmetic: 80 of 100 crosses 80%, 79 does not, whatever float rounding says.
        return self.limit is not None and self.used > 0 and self.used * 100 >= threshold * self.limit


LIMIT_PHRASES = {
    UsageMetric.ANALYSES: "monthly analysis limit of {limit} reached ({used} used)",
    UsageMetric.TOKENS: "monthly token limit of {limit:,} reached ({used:,} used)",
    UsageMetric.COST: "monthly cost limit of ${limit:.2f} reached (${used:.2f} used)",
}


@dataclass(frozen=True)
class BudgetDecision:
    """May the analysis call a paid provider? `reason` says why not, for the analysis to show."""

    paid_allowed: bool
    reason: str
    percent_used: float  # the most-used metric; 0.0 when every metric is unlimited


def usage_budget_get(*, organization: Organization) -> TenantBudget | None:
    return TenantBudget.objects.for_org(organization).first()


def usage_limits(*, organization: Organization, budget: TenantBudget | None) -> UsageLimits:
    plan = plan_limits(organization.plan)
    if budget is None:
        return UsageLimits(plan.analyses, plan.tokens, None, default_thresholds(), True)
    return UsageLimits(
        analyses=plan.analyses if budget.analyses_limit is None else budget.analyses_limit,
        tokens=plan.tokens if budget.tokens_limit is None else budget.tokens_limit,
        cost_usd=budget.cost_limit_usd,
        thresholds=list(budget.thresholds),
        hard_limit_enabled=budget.hard_limit_enabled,
    )


def usage_meters(*, month_row: UsageMonth | None, limits: UsageLimits) -> list[UsageMeter]:
    """One meter per metric, in UsageMetric order."""
    used = {
        UsageMetric.ANALYSES: month_row.analyses if month_row else 0,
        UsageMetric.TOKENS: month_row.tokens if month_row else 0,
        UsageMetric.COST: month_row.cost_usd if month_row else Decimal("0"),
    }
    return [UsageMeter(metric, used[metric], limits.of(metric)) for metric in UsageMetric.values]


def _month_row(organization: Organization, month: date) -> UsageMonth | None:
    return UsageMonth.objects.for_org(organization).filter(month=month).first()


def usage_budget_check(*, organization: Organization) -> BudgetDecision:
    """Call before every paid provider call; two queries (budget, this month's counters), no writes."""
    limits = usage_limits(organization=organization, budget=usage_budget_get(organization=organization))
    meters = usage_meters(month_row=_month_row(organization, current_month()), limits=limits)
    percent_used = max((meter.percent or 0.0 for meter in meters), default=0.0)
    reached = [meter for meter in meters if meter.reached]
    if reached and limits.hard_limit_enabled:
        meter = reached[0]
        reason = LIMIT_PHRASES[meter.metric].format(limit=meter.limit, used=meter.used)
        return BudgetDecision(paid_allowed=False, reason=reason, percent_used=percent_used)
    return BudgetDecision(paid_allowed=True, reason="", percent_used=percent_used)


@dataclass(frozen=True)
class UsageDayPoint:
    day: date
    analyses: int
    tokens: int
    cost_usd: Decimal


def usage_daily(*, organization: Organization, days: int = SUMMARY_DAYS) -> list[UsageDayPoint]:
    """The last `days` days (UTC), oldest first, today last, days without usage as zeros."""
    today = timezone.now().date()
    first = today - timedelta(days=days - 1)
    rows = UsageDay.objects.for_org(organization).filter(day__gte=first, day__lte=today)
    by_day = {row.day: row for row in rows.only("day", "analyses", "tokens", "cost_usd")}
    points = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        row = by_day.get(day)
        points.append(
            UsageDayPoint(day, row.analyses, row.tokens, row.cost_usd)
            if row
            else UsageDayPoint(day, 0, 0, Decimal("0"))
        )
    return points


def usage_summary(*, organization: Organization, days: int = SUMMARY_DAYS) -> dict:
    """This month's usage against its limits, the crossings and the daily series; four queries.

    Keys: organization_id, plan, period {start, end} (dates, inclusive), meters {metric: UsageMeter},
    paid_analyses, thresholds, thresholds_crossed (rows), hard_limit_enabled, hard_limit_reached,
    limits (UsageLimits), budget (TenantBudget or None), daily (UsageDayPoint list).
    """
    month = current_month()
    budget = usage_budget_get(organization=organization)
    limits = usage_limits(organization=organization, budget=budget)
    month_row = _month_row(organization, month)
    meters = {meter.metric: meter for meter in usage_meters(month_row=month_row, limits=limits)}
    crossings = UsageThresholdCrossing.objects.for_org(organization).filter(month=month)
    return {
        "organization_id": organization.pk,
        "plan": organization.plan,
        "period": {"start": month, "end": month_last_day(month)},
        "meters": meters,
        "paid_analyses": month_row.paid_analyses if month_row else 0,
        "thresholds": limits.thresholds,
        "thresholds_crossed": list(crossings.order_by("crossed_at", "metric", "percent")),
        "hard_limit_enabled": limits.hard_limit_enabled,
        "hard_limit_reached": limits.hard_limit_enabled and any(m.reached for m in meters.values()),
        "limits": limits,
        "budget": budget,
        "daily": usage_daily(organization=organization, days=days),
    }


@dataclass(frozen=True)
class SubscriptionState:
    organization_id: object
    plan: str
    provider: str
    status: str
    current_period_end: object


def subscription_get(*, organization: Organization) -> SubscriptionState:
    """The plan lives on the organization; an external provider adds its customer's status."""
    provider = settings.BILLING_PROVIDER
    account = BillingAccount.objects.for_org(organization).filter(provider=provider).first()
    if account is not None and account.status:
        status, period_end = account.status, account.current_period_end
    else:  # self-hosted plans are simply in force; an external provider without a subscription has none
        status, period_end = ("active" if provider == "self_hosted" else "none"), None
    return SubscriptionState(organization.pk, organization.plan, provider, status, period_end)
