from django.contrib import admin

from usage.models import BillingAccount, TenantBudget, UsageDay, UsageMonth, UsageThresholdCrossing

COUNTERS = ("analyses", "paid_analyses", "tokens", "cost_usd")


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
class TenantBudgetAdmin(admin.ModelAdmin):
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

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(UsageThresholdCrossing)
class UsageThresholdCrossingAdmin(admin.ModelAdmin):
    list_display = ("organization", "month", "metric", "percent", "crossed_at")
    list_filter = ("metric", "percent", "month")
    search_fields = ("organization__slug", "organization__name")
    list_select_related = ("organization",)
    date_hierarchy = "crossed_at"


@admin.register(BillingAccount)
class BillingAccountAdmin(admin.ModelAdmin):
    list_display = ("organization", "provider", "customer_id", "status", "current_period_end")
    list_filter = ("provider", "status")
    search_fields = ("organization__slug", "organization__name", "customer_id", "subscription_id")
    list_select_related = ("organization",)
