"""Writes of usage: counters that never lose a count, thresholds crossed once, budgets, checkouts."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, TypeVar

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.db.models import F
from django.utils import timezone

from statux.audit import Actor, audit_record
from statux.errors import StatuxError
from statux.models import Organization, Plan
from statux.tenancy import TenantModel
from usage.billing.base import PlanNotAvailable, billing_provider_get, console_usage_url
from usage.models import (
    BillingAccount,
    TenantBudget,
    UsageDay,
    UsageMonth,
    UsageThresholdCrossing,
    threshold_errors,
)
from usage.selectors import current_month, usage_budget_get, usage_limits, usage_meters

BUDGET_FIELDS = {"analyses_limit", "tokens_limit", "cost_limit_usd", "thresholds", "hard_limit_enabled"}
COST_QUANTUM = Decimal("0.0001")
THRESHOLD_ACTOR = Actor(system="usage")
TenantRow = TypeVar("TenantRow", bound=TenantModel)


class InvalidBudget(StatuxError):
    status, code = 400, "invalid"


def _counters_add(model: type[models.Model], organization: Organization, key: dict, **amounts: Any) -> None:
    """Add `amounts` to the row `key` names, creating it; concurrent callers never lose a count (F())."""
    increments = {field: F(field) + amount for field, amount in amounts.items()}
    rows = model.objects.for_org(organization).filter(**key)
    if rows.update(**increments):
        return
    try:
        with transaction.atomic():  # savepoint: a lost race must not poison the caller's transaction
            model.objects.create(organization=organization, **key, **amounts)
    except IntegrityError:  # another worker created the row first; the unique constraint decided
        rows.update(**increments)


def usage_record_events(*, organization: Organization, count: int = 1) -> None:
    """Add `count` ingested events to this month."""
    _counters_add(UsageMonth, organization, {"month": current_month()}, events=count)


def usage_cost(*, paid: bool, input_tokens: int, output_tokens: int) -> Decimal:
    """USD at the configured rates per 1,000 tokens; free providers cost nothing."""
    if not paid:
        return Decimal("0")
    cost = (
        Decimal(input_tokens) * Decimal(str(settings.AI_COST_PER_1K_INPUT_TOKENS))
        + Decimal(output_tokens) * Decimal(str(settings.AI_COST_PER_1K_OUTPUT_TOKENS))
    ) / 1000
    return cost.quantize(COST_QUANTUM, rounding=ROUND_HALF_UP)


@transaction.atomic
def usage_record_analysis(
    *, organization: Organization, provider: str, paid: bool, input_tokens: int, output_tokens: int
) -> list[int]:
    """Count one finished analysis in this month and today; return the threshold percents it crossed.

    Safe under concurrent workers: counters grow by F() and each crossing is recorded, and audited,
    exactly once per period (the unique constraint decides). Not idempotent: call once per analysis.
    """
    if input_tokens < 0 or output_tokens < 0:
        raise ValueError(f"Token counts cannot be negative ({input_tokens}, {output_tokens}).")
    amounts = {
        "analyses": 1,
        "paid_analyses": int(paid),
        "tokens": input_tokens + output_tokens,
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cost_usd": usage_cost(paid=paid, input_tokens=input_tokens, output_tokens=output_tokens),
    }
    month = current_month()
    _counters_add(UsageMonth, organization, {"month": month}, **amounts)
    _counters_add(UsageDay, organization, {"day": timezone.now().date()}, **amounts)
    return _thresholds_record(organization=organization, month=month, provider=provider)


def _thresholds_record(*, organization: Organization, month: Any, provider: str) -> list[int]:
    limits = usage_limits(organization=organization, budget=usage_budget_get(organization=organization))
    month_row = UsageMonth.objects.for_org(organization).get(month=month)  # fresh: includes our counts
    recorded = set(
        UsageThresholdCrossing.objects.for_org(organization)
        .filter(month=month)
        .values_list("metric", "percent")
    )
    crossed = []
    for meter in usage_meters(month_row=month_row, limits=limits):
        for percent in limits.thresholds:
            if (meter.metric, percent) in recorded or not meter.crossed(percent):
                continue
            try:
                with transaction.atomic():
                    crossing = UsageThresholdCrossing.objects.create(
                        organization=organization, month=month, metric=meter.metric, percent=percent
                    )
            except IntegrityError:  # a concurrent analysis recorded this crossing first
                continue
            audit_record(
                actor=THRESHOLD_ACTOR,
                action="usage.threshold_crossed",
                organization=organization,
                target=crossing,
                metadata={
                    "metric": meter.metric,
                    "percent": percent,
                    "used": str(meter.used),
                    "limit": str(meter.limit),
                    "provider": provider,
                },
            )
            crossed.append(percent)
    return sorted(set(crossed))


def _budget_errors(changes: dict[str, Any]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for name in sorted(set(changes) - BUDGET_FIELDS):
        errors[name] = [f"Unknown budget field; known: {', '.join(sorted(BUDGET_FIELDS))}."]
    for name in ("analyses_limit", "tokens_limit", "cost_limit_usd"):
        value = changes.get(name)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, (int, Decimal)) or value < 0
        ):
            errors[name] = [f"A limit is a number of at least 0, or null for the default; got {value!r}."]
    if "thresholds" in changes:
        thresholds = changes["thresholds"]
        problems = (
            threshold_errors(thresholds) if isinstance(thresholds, list) else ["Send a list of percents."]
        )
        if problems:
            errors["thresholds"] = problems
    if "hard_limit_enabled" in changes and not isinstance(changes["hard_limit_enabled"], bool):
        errors["hard_limit_enabled"] = ["Must be true or false."]
    return errors


def _one_per_org_lock(model: type[TenantRow], organization: Organization, **create: Any) -> TenantRow:
    """The organization's only `model` row, created on first use (with `create`) and locked."""
    rows = model.objects.for_org(organization).select_for_update()
    if (row := rows.first()) is None:
        try:
            with transaction.atomic():
                return model.objects.create(organization=organization, **create)
        except IntegrityError:  # created concurrently; the one-per-org constraint decided
            row = rows.get()
    return row


@transaction.atomic
def usage_budget_update(*, organization: Organization, actor: Actor, **changes: Any) -> TenantBudget:
    """Change an organization's limits; null limits fall back to the plan. Raises InvalidBudget."""
    if errors := _budget_errors(changes):
        raise InvalidBudget("Invalid budget.", fields=errors)
    if "thresholds" in changes:
        changes["thresholds"] = sorted(set(changes["thresholds"]))
    budget = _one_per_org_lock(TenantBudget, organization)
    changed = {name: value for name, value in changes.items() if getattr(budget, name) != value}
    if not changed:
        return budget
    before = {name: getattr(budget, name) for name in changed}
    for name, value in changed.items():
        setattr(budget, name, value)
    budget.save(update_fields=[*changed, "updated_at"])
    audit_record(
        actor=actor,
        action="usage.budget_updated",
        organization=organization,
        target=budget,
        metadata={
            name: {"from": _plain(before[name]), "to": _plain(value)} for name, value in changed.items()
        },
    )
    return budget


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


@dataclass(frozen=True)
class BillingLink:
    url: str
    provider: str
    plan: str = ""


def subscription_checkout(
    *, organization: Organization, actor: Actor, plan: str, success_url: str = "", cancel_url: str = ""
) -> BillingLink:
    """Where to pay for `plan`. The plan changes only when the provider confirms the payment.

    No transaction spans the provider call; concurrent checkouts share one customer because the
    provider dedups its creation (Stripe: an idempotency key per organization).
    """
    if plan not in Plan.values:
        raise PlanNotAvailable(f"Unknown plan '{plan}'; choose one of {', '.join(Plan.values)}.")
    provider = billing_provider_get()
    account = BillingAccount.objects.for_org(organization).filter(provider=provider.name).first()
    known_customer = account.customer_id if account else ""
    session = provider.checkout(
        organization=organization,
        plan=plan,
        customer_id=known_customer,
        success_url=success_url or console_usage_url(checkout="success"),
        cancel_url=cancel_url or console_usage_url(checkout="cancel"),
    )
    with transaction.atomic():
        if session.customer_id and session.customer_id != known_customer:
            BillingAccount.objects.update_or_create(  # race-safe: get_or_create absorbs the IntegrityError
                organization=organization,
                defaults={"provider": provider.name, "customer_id": session.customer_id},
            )
        audit_record(
            actor=actor,
            action="billing.checkout_started",
            organization=organization,
            metadata={"plan": plan, "provider": provider.name},
        )
    return BillingLink(url=session.url, provider=provider.name, plan=plan)


def subscription_portal(*, organization: Organization, return_url: str = "") -> BillingLink:
    """A link to the provider's customer portal; reads only (the portal session is Stripe's state)."""
    provider = billing_provider_get()
    account = BillingAccount.objects.for_org(organization).filter(provider=provider.name).first()
    url = provider.portal(
        organization=organization,
        customer_id=account.customer_id if account else "",
        return_url=return_url or console_usage_url(),
    )
    return BillingLink(url=url, provider=provider.name)
