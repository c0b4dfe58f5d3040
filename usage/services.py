"""Writes of usage: counters that never lose a count, thresholds crossed once, budgets, checkouts, and
the Stripe events that change an organization's plan."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
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
from usage.billing.base import (
    PlanNotAvailable,
    SubscriptionExists,
    billing_provider_get,
    console_usage_url,
)
from usage.billing.stripe import (
    StripeEvent,
    stripe_checkout_read,
    stripe_invoice_read,
    stripe_price_plan,
    stripe_subscription_read,
)
from usage.models import (
    BillingAccount,
    StripeWebhookEvent,
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
STRIPE_ACTOR = Actor(system="stripe")
TenantRow = TypeVar("TenantRow", bound=TenantModel)
logger = logging.getLogger(__name__)


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
    *,
    organization: Organization,
    provider: str,
    paid: bool,
    input_tokens: int,
    output_tokens: int,
    counts_as_analysis: bool = True,
) -> list[int]:
    """Count one finished analysis in this month and today; return the threshold percents it crossed.

    `counts_as_analysis=False` counts only tokens a provider charged for answers that could not be used
    (invalid twice, a repair try that failed): against the budget and its cost, but no analysis.
    Safe under concurrent workers: counters grow by F() and each crossing is recorded, and audited,
    exactly once per period (the unique constraint decides). Not idempotent: call once per analysis.
    """
    analyses = int(counts_as_analysis)
    if input_tokens < 0 or output_tokens < 0:
        raise ValueError(f"Token counts cannot be negative ({input_tokens}, {output_tokens}).")
    amounts = {
        "analyses": analyses,
        "paid_analyses": analyses if paid else 0,
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
    if account is not None and account.subscription_id and account.status in PAID_STATUSES:
        raise SubscriptionExists(
            f"This organization already has a {account.status} {organization.plan} subscription; change "
            "or cancel it in the billing portal (POST /api/v1/users/me/subscription/portal)."
        )
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


# --- Stripe events: the payment side of a checkout ----------------------------------------------------

STRIPE = "stripe"
CHECKOUT_COMPLETED = "checkout.session.completed"
SUBSCRIPTION_CREATED = "customer.subscription.created"
SUBSCRIPTION_UPDATED = "customer.subscription.updated"
SUBSCRIPTION_DELETED = "customer.subscription.deleted"
INVOICE_PAYMENT_FAILED = "invoice.payment_failed"
PAID_STATUSES = {"active", "trialing", "past_due"}  # past_due: Stripe is still retrying the payment
UNPAID_STATUSES = {"canceled", "unpaid", "incomplete_expired", "paused"}  # back to the free plan
FINAL_STATUSES = {"canceled", "incomplete_expired"}  # such a subscription never comes back


@dataclass(frozen=True)
class StripeEventOutcome:
    handled: bool  # whether the event changed anything
    detail: str  # a sentence for the log and the admin
    organization: Organization | None = None


def subscription_apply_stripe_event(*, event: StripeEvent) -> StripeEventOutcome:
    """Apply one verified Stripe event to the organization's plan and billing account.

    Idempotent: the event id is recorded in the transaction that applies it, so a redelivery, even a
    concurrent one (it waits on the unique constraint), changes nothing. Stripe also delivers out of
    order: an event created before the last one applied to the account is recorded and ignored.
    Event types we do not use are not recorded.
    """
    handler = STRIPE_EVENT_HANDLERS.get(event.type)
    if handler is None:
        outcome = StripeEventOutcome(False, f"Event type {event.type} is not used.")
    else:
        with transaction.atomic():
            try:
                with transaction.atomic():  # savepoint: the duplicate's IntegrityError stays in here
                    record = StripeWebhookEvent.objects.create(
                        event_id=event.id, type=event.type, event_created_at=event.created_at
                    )
            except IntegrityError:
                outcome = StripeEventOutcome(False, "Already processed; a redelivery changes nothing.")
            else:
                outcome = handler(event)
                record.organization, record.handled = outcome.organization, outcome.handled
                record.outcome = outcome.detail[:300]
                record.save(update_fields=["organization", "handled", "outcome"])
    logger.info("Stripe event %s (%s): %s", event.id, event.type, outcome.detail)
    return outcome


def _checkout_completed(event: StripeEvent) -> StripeEventOutcome:
    """Link the customer and subscription to the organization our checkout named."""
    session = stripe_checkout_read(event.object)
    if session.mode != "subscription":
        return StripeEventOutcome(False, f"Checkout {session.id} is not a subscription checkout.")
    account = _account_by_organization(session.organization_id) or _account_by_customer(session.customer_id)
    if account is None:
        return _unknown_customer(event, session.customer_id)
    if _is_stale(account, event):
        return _stale(account, event)
    _account_apply(
        account,
        event,
        customer_id=session.customer_id or account.customer_id,
        subscription_id=session.subscription_id or account.subscription_id,
    )
    audit_record(
        actor=STRIPE_ACTOR,
        action="billing.subscription_linked",
        organization=account.organization,
        target=account,
        metadata={**_event_metadata(event), "customer_id": account.customer_id, "checkout_id": session.id},
    )
    return StripeEventOutcome(
        True, f"Linked subscription {account.subscription_id or '(none)'}.", account.organization
    )


def _subscription_changed(event: StripeEvent) -> StripeEventOutcome:
    """Record the subscription's status and period, and set the plan its price sells (free once over)."""
    subscription = stripe_subscription_read(event.object)
    account = _account_by_customer(subscription.customer_id) or _account_by_organization(
        subscription.organization_id, customer_id=subscription.customer_id
    )
    if account is None:
        return _unknown_customer(event, subscription.customer_id)
    if _is_stale(account, event):
        return _stale(account, event)
    if not _is_current(account, subscription.id, event.type):
        return StripeEventOutcome(
            False,
            f"Subscription {subscription.id} is not the organization's ({account.subscription_id}).",
            account.organization,
        )
    deleted = event.type == SUBSCRIPTION_DELETED
    _account_apply(
        account,
        event,
        customer_id=subscription.customer_id or account.customer_id,
        subscription_id=subscription.id,
        status=subscription.status or ("canceled" if deleted else account.status),
        current_period_end=subscription.current_period_end,
    )
    if deleted or account.status in UNPAID_STATUSES:
        plan = Plan.FREE
    elif account.status in PAID_STATUSES:
        plan = stripe_price_plan(subscription.price_ids)
        if plan is None:
            logger.warning("Stripe prices %s are not in STRIPE_PRICE_IDS", subscription.price_ids)
    else:  # incomplete: the first payment has not gone through yet
        plan = None
    if plan is None:
        result = "plan kept (no price in STRIPE_PRICE_IDS, or the first payment is pending)"
    elif _organization_plan_set(account=account, plan=plan, event=event):
        result = f"plan now {plan}"
    else:
        result = f"plan stays {plan}"
    return StripeEventOutcome(
        True, f"Subscription {subscription.id} is {account.status}; {result}.", account.organization
    )


def _invoice_payment_failed(event: StripeEvent) -> StripeEventOutcome:
    """A renewal that failed makes the subscription past_due; the plan stays while Stripe retries."""
    invoice = stripe_invoice_read(event.object)
    account = _account_by_customer(invoice.customer_id)
    if account is None:
        return _unknown_customer(event, invoice.customer_id)
    if not invoice.subscription_id or invoice.subscription_id != account.subscription_id:
        return StripeEventOutcome(
            False, f"Invoice {invoice.id} is not for the organization's subscription.", account.organization
        )
    if _is_stale(account, event):
        return _stale(account, event)
    status = "past_due" if account.status in {"active", "trialing"} else account.status
    _account_apply(account, event, status=status)
    audit_record(
        actor=STRIPE_ACTOR,
        action="billing.payment_failed",
        organization=account.organization,
        target=account,
        metadata={**_event_metadata(event), "invoice_id": invoice.id, "status": status},
    )
    return StripeEventOutcome(
        True, f"Payment of invoice {invoice.id} failed; subscription {status}.", account.organization
    )


STRIPE_EVENT_HANDLERS: dict[str, Callable[[StripeEvent], StripeEventOutcome]] = {
    CHECKOUT_COMPLETED: _checkout_completed,
    SUBSCRIPTION_CREATED: _subscription_changed,
    SUBSCRIPTION_UPDATED: _subscription_changed,
    SUBSCRIPTION_DELETED: _subscription_changed,
    INVOICE_PAYMENT_FAILED: _invoice_payment_failed,
}


def _account_by_customer(customer_id: str) -> BillingAccount | None:
    if not customer_id:
        return None
    # No tenant yet: the customer id is how Stripe names the organization.
    rows = BillingAccount.objects.select_for_update(of=("self",)).select_related("organization")
    return rows.filter(provider=STRIPE, customer_id=customer_id).first()


def _account_by_organization(organization_id: str, *, customer_id: str = "") -> BillingAccount | None:
    """The account of the organization our checkout put in the metadata, created if need be; None when
    there is no such organization or it pays through another customer than `customer_id`."""
    try:
        organization = Organization.objects.filter(pk=uuid.UUID(organization_id)).first()
    except ValueError:
        return None
    if organization is None:
        return None
    account = _one_per_org_lock(BillingAccount, organization, provider=STRIPE)
    if customer_id and account.customer_id not in ("", customer_id):
        return None
    return account


def _is_stale(account: BillingAccount, event: StripeEvent) -> bool:
    # Strictly older: Stripe's `created` has whole seconds, and events of one second all apply.
    return account.subscription_event_at is not None and event.created_at < account.subscription_event_at


def _is_current(account: BillingAccount, subscription_id: str, event_type: str) -> bool:
    """Does this subscription's event speak for the organization? A new subscription (a second
    checkout, the dashboard) takes over; an old one's late updates and deletion do not."""
    linked = account.subscription_id
    if not linked or linked == subscription_id or event_type == SUBSCRIPTION_CREATED:
        return True
    return event_type == SUBSCRIPTION_UPDATED and account.status in FINAL_STATUSES | {""}


def _account_apply(account: BillingAccount, event: StripeEvent, **changes: Any) -> None:
    changes.update(provider=STRIPE, subscription_event_at=event.created_at)
    for name, value in changes.items():
        setattr(account, name, value)
    account.save(update_fields=[*changes, "updated_at"])


def _organization_plan_set(*, account: BillingAccount, plan: str, event: StripeEvent) -> bool:
    """Set the plan, audited; False when it already was. save() so auth_cache drops the old one."""
    organization = Organization.objects.select_for_update().get(pk=account.organization_id)
    if organization.plan == plan:
        return False
    previous, organization.plan = organization.plan, plan
    organization.save(update_fields=["plan", "updated_at"])
    account.organization = organization
    audit_record(
        actor=STRIPE_ACTOR,
        action="billing.plan_changed",
        organization=organization,
        target=organization,
        metadata={
            **_event_metadata(event),
            "from": previous,
            "to": plan,
            "subscription_id": account.subscription_id,
            "status": account.status,
        },
    )
    return True


def _event_metadata(event: StripeEvent) -> dict[str, str]:
    return {"provider": STRIPE, "event_id": event.id, "event_type": event.type}


def _unknown_customer(event: StripeEvent, customer_id: str) -> StripeEventOutcome:
    logger.warning("Stripe event %s (%s) is about unknown customer %r", event.id, event.type, customer_id)
    return StripeEventOutcome(False, f"Customer {customer_id or '(none)'} belongs to no organization.")


def _stale(account: BillingAccount, event: StripeEvent) -> StripeEventOutcome:
    return StripeEventOutcome(
        False,
        f"Created {event.created_at:%Y-%m-%d %H:%M:%S}, before the last event applied "
        f"({account.subscription_event_at:%Y-%m-%d %H:%M:%S}); ignored.",
        account.organization,
    )
