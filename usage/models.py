import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from statux.tenancy import TenantModel

THRESHOLD_MIN_PERCENT, THRESHOLD_MAX_PERCENT = 1, 1000
MONEY = {"max_digits": 12, "decimal_places": 4}


class UsageMetric(models.TextChoices):
    ANALYSES = "analyses"
    TOKENS = "tokens"
    COST = "cost"


def default_thresholds() -> list[int]:
    return sorted(set(settings.USAGE_THRESHOLDS_PERCENT))


def threshold_errors(values: list) -> list[str]:
    """Why a thresholds list is invalid (empty when it is fine): whole percents from 1 to 1000."""
    bad = [value for value in values if type(value) is not int]
    if bad:
        return [f"Thresholds are whole percents; {bad[0]!r} is not."]
    out_of_range = [value for value in values if not THRESHOLD_MIN_PERCENT <= value <= THRESHOLD_MAX_PERCENT]
    if out_of_range:
        return [
            f"Threshold {out_of_range[0]} is not within {THRESHOLD_MIN_PERCENT}..{THRESHOLD_MAX_PERCENT}."
        ]
    return []


class UsageCounters(TenantModel):
    """What an analysis adds to a period; cost counts paid providers only."""

    analyses = models.PositiveIntegerField(default=0)
    paid_analyses = models.PositiveIntegerField(default=0)
    tokens = models.PositiveBigIntegerField(default=0)
    input_tokens = models.PositiveBigIntegerField(default=0)
    output_tokens = models.PositiveBigIntegerField(default=0)
    cost_usd = models.DecimalField(**MONEY, default=Decimal("0"))

    class Meta:
        abstract = True


class UsageMonth(UsageCounters):
    """One organization's consumption in one calendar month (UTC); counters only ever grow."""

    month = models.DateField(help_text="First day of the month.")
    events = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "month"], name="usage_month_one_per_org")
        ]

    def __str__(self) -> str:
        return f"{self.organization_id} {self.month:%Y-%m}"


class UsageDay(UsageCounters):
    """The per-day series behind the usage chart; the unique constraint doubles as its index."""

    day = models.DateField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "day"], name="usage_day_one_per_org")]

    def __str__(self) -> str:
        return f"{self.organization_id} {self.day:%Y-%m-%d}"


class TenantBudget(TenantModel):
    """An organization's own limits; a null limit means the plan's default (usage/plans.py)."""

    analyses_limit = models.PositiveIntegerField(null=True, blank=True)
    tokens_limit = models.PositiveBigIntegerField(null=True, blank=True)
    cost_limit_usd = models.DecimalField(**MONEY, null=True, blank=True, help_text="Null: no cost limit.")
    thresholds = models.JSONField(default=default_thresholds, blank=True, help_text="Percents that alert.")
    hard_limit_enabled = models.BooleanField(
        default=True, help_text="Past a limit, only the free deterministic engine runs."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization"], name="usage_budget_one_per_org"),
            models.CheckConstraint(
                condition=Q(cost_limit_usd__isnull=True) | Q(cost_limit_usd__gte=0),
                name="usage_budget_cost_limit_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"Budget of {self.organization_id}"


class UsageThresholdCrossing(TenantModel):
    """A threshold crossed in a month; the unique constraint makes it happen once per period."""

    month = models.DateField(help_text="First day of the month.")
    metric = models.CharField(max_length=16, choices=UsageMetric.choices)
    percent = models.PositiveSmallIntegerField()
    crossed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "month", "percent", "metric"], name="usage_crossing_once_per_period"
            ),
            models.CheckConstraint(
                condition=Q(metric__in=UsageMetric.values), name="usage_crossing_metric_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organization_id} {self.metric} {self.percent}% in {self.month:%Y-%m}"


class BillingAccount(TenantModel):
    """The organization's customer at an external billing provider (Stripe); self-hosted needs none."""

    provider = models.CharField(max_length=32)
    customer_id = models.CharField(max_length=255, blank=True, default="")
    subscription_id = models.CharField(max_length=255, blank=True, default="")
    status = models.CharField(max_length=32, blank=True, default="", help_text="The provider's word.")
    current_period_end = models.DateTimeField(null=True, blank=True)
    subscription_event_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the provider created the last event applied; older ones are ignored.",
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization"], name="billing_account_one_per_org")]
        indexes = [models.Index(fields=["provider", "customer_id"], name="billing_account_customer")]

    def __str__(self) -> str:
        return f"{self.provider} account of {self.organization_id}"


class StripeWebhookEvent(models.Model):
    """A Stripe event we processed, kept so that a redelivery changes nothing twice.

    Not a TenantModel: an event about a customer we do not know belongs to no organization.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    event_id = models.CharField(max_length=255, help_text="Stripe's evt_… id.")
    type = models.CharField(max_length=100)
    event_created_at = models.DateTimeField(help_text="When Stripe created the event (its `created`).")
    organization = models.ForeignKey(
        "statux.Organization", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    handled = models.BooleanField(default=False, help_text="Whether it changed anything.")
    outcome = models.CharField(max_length=300, blank=True, default="")
    processed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["event_id"], name="stripe_event_once")]

    def __str__(self) -> str:
        return f"{self.event_id} {self.type}"
