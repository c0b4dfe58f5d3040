from django.contrib import admin

from usage.models import UsageMonth


@admin.register(UsageMonth)
class UsageMonthAdmin(admin.ModelAdmin):
    list_display = ("organization", "month", "events", "analyses", "tokens", "cost_usd")
    list_filter = ("month",)
    search_fields = ("organization__slug", "organization__name")
    list_select_related = ("organization",)
    date_hierarchy = "month"
