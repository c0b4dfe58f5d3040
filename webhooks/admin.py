from django.contrib import admin, messages

from statux.audit import Actor
from webhooks.models import DeployEvent, InboundEvent, InboundStatus, WebhookConfig
from webhooks.services import inbound_event_replay_now


@admin.register(WebhookConfig)
class WebhookConfigAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "organization",
        "source_product",
        "normalizer",
        "key_prefix",
        "enabled",
        "received_count",
        "rejected_count",
        "last_received_at",
    )
    list_filter = ("enabled", "source_product", "normalizer", "organization")
    search_fields = ("name", "key_prefix", "organization__slug")
    list_select_related = ("organization",)
    readonly_fields = (
        "key_prefix",
        "key_hash",
        "received_count",
        "rejected_count",
        "last_received_at",
        "created_at",
        "updated_at",
        "created_by",
    )
    exclude = ("secret",)

    def has_add_permission(self, request) -> bool:
        return False  # created through the API or console, which show the key once


@admin.register(InboundEvent)
class InboundEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "organization", "channel", "source", "status", "attempts", "short_error")
    list_filter = ("status", "channel", "source", "organization")
    search_fields = ("id", "error", "organization__slug")
    list_select_related = ("organization",)
    readonly_fields = [field.name for field in InboundEvent._meta.fields]
    date_hierarchy = "created_at"
    actions = ["replay"]

    @admin.display(description="error")
    def short_error(self, event: InboundEvent) -> str:
        return event.error[:120]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description="Replay selected dead-lettered events")
    def replay(self, request, queryset):
        replayed = still_dead = 0
        for event in queryset.filter(status=InboundStatus.DEAD):
            outcome = inbound_event_replay_now(event=event, actor=Actor(user=request.user))
            replayed += outcome.status == InboundStatus.PROCESSED
            still_dead += outcome.status == InboundStatus.DEAD
        messages.info(request, f"Replayed {replayed} event(s); {still_dead} still dead-lettered.")


@admin.register(DeployEvent)
class DeployEventAdmin(admin.ModelAdmin):
    list_display = ("id", "organization", "service", "environment", "image", "actor", "deployed_at")
    list_filter = ("environment", "organization")
    search_fields = ("id", "service", "image", "actor", "commit_sha")
    list_select_related = ("organization",)
    date_hierarchy = "deployed_at"
