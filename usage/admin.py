from django.contrib import admin

from usage.models import (
    BillingAccount,
    StripeWebhookEvent,
    TenantBudget,
    UsageDay,
    UsageMonth,
    UsageThresholdCrossing,
)

COUNTERS = ("analyses", "paid_analyses", "tokens", "cost_usd")


class ReadOnlyAdmin(admin.ModelAdmin):
    """Staff look, not edit: these rows change through services, which audit every change."""

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(UsageMonth)
class UsageMonthAdmin(admin.ModelAdmin):
    list_display = ("organization", "month", "events", *COUNTERS)
    list_filter = ("month",)
    search_fields = ("organization__slug", "organization__name")
    list_select_related = ("organization",)
    date_hierarchy = "month"


@admin.register(UsageDay)
class UsageDayAdmin(admin.ModelAdmin):
    list_display = ("organization", "day", *COUNTERS, "input_tokens", "output_tokens")
    list_filter = ("day",)
    search_fields = ("organization__slug", "organization__name")
    list_select_related = ("organization",)
    date_hierarchy = "day"


@admin.register(TenantBudget)
class TenantBudgetAdmin(ReadOnlyAdmin):
    """Read-only: limits change through the usage API or console, so every change is audited."""

    list_display = (
        "organization",
        "analyses_limit",
        "tokens_limit",
        "cost_limit_usd",
        "thresholds",
        "hard_limit_enabled",
        "updated_at",
    )
    list_filter = ("hard_limit_enabled",)
    search_fields = ("organization__slug", "organization__name")
    list_select_related = ("organization",)


@admin.register(UsageThresholdCrossing)
class UsageThresholdCrossingAdmin(admin.ModelAdmin):
    list_display = ("organization", "month", "metric", "percent", "crossed_at")
    list_filter = ("metric", "percent", "month")
    search_fields = ("organization__slug", "organization__name")
    list_select_related = ("organization",)
    date_hierarchy = "crossed_at"


@admin.register(BillingAccount)
class BillingAccountAdmin(admin.ModelAdmin):
    list_display = (
        "organization",
        "provider",
        "customer_id",
        "subscription_id",
        "status",
        "current_period_end",
        "subscription_event_at",
    )
    list_filter = ("provider", "status")
    search_fields = ("organization__slug", "organization__name", "customer_id", "subscription_id")
    list_select_related = ("organization",)


@admin.register(StripeWebhookEvent)
class StripeWebhookEventAdmin(ReadOnlyAdmin):
    """Read-only: what Stripe sent and what it changed; the rows are what keeps a redelivery harmless."""

    list_display = (
        "event_id",
        "type",
        "organization",
        "handled",
        "outcome",
        "event_created_at",
        "processed_at",
    )
    list_filter = ("type", "handled")
    search_fields = ("event_id", "organization__slug", "organization__name", "outcome")
    list_select_related = ("organization",)
    date_hierarchy = "processed_at"
