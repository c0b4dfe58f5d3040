from django.contrib import admin, messages
from django.db import models

from rca.models import Rca, RcaActionItem, RcaGenerationEvent, RcaIncidentLink, RcaRevision
from rca.services import rca_generation_request
from statux.audit import Actor
from statux.errors import StatuxError


class RcaIncidentLinkInline(admin.TabularInline):
    model = RcaIncidentLink
    extra = 0
    fields = ("product", "external_id", "incident", "title", "linked_by_label", "created_at")
    readonly_fields = fields
    can_delete = False


class RcaActionItemInline(admin.TabularInline):
    model = RcaActionItem
    extra = 0
    fields = ("title", "assignee", "status", "priority", "due_date", "completed_at")
    readonly_fields = fields
    can_delete = False


@admin.register(Rca)
class RcaAdmin(admin.ModelAdmin):
    list_display = ("title", "organization", "status", "generation_status", "created_by_label", "created_at")
    list_filter = ("status", "generation_status", "organization")
    search_fields = ("id", "title", "summary", "root_cause", "created_by_label")
    list_select_related = ("organization",)
    # Text changes go through services, so the history (RcaRevision) and the audit log stay true.
    readonly_fields = (
        "id",
        "status",
        "summary",
        "root_cause",
        "impact",
        "timeline",
        "created_by",
        "created_by_label",
        "published_at",
        "edited_fields",
        "generation_status",
        "generation_error",
        "generation_requested_at",
        "generation_started_at",
        "generated_at",
        "generation_provider",
        "generation_model",
        "generation_input_tokens",
        "generation_output_tokens",
        "generation_skipped_fields",
        "created_at",
        "updated_at",
    )
    date_hierarchy = "created_at"
    inlines = [RcaIncidentLinkInline, RcaActionItemInline]
    actions = ["generate_draft"]

    @admin.action(description="Generate an AI draft")
    def generate_draft(self, request, queryset) -> None:
        actor = Actor.from_request(request)
        for rca in queryset:
            try:
                rca_generation_request(rca=rca, actor=actor)
            except StatuxError as exc:
                self.message_user(request, f"{rca}: {exc.message}", messages.WARNING)


@admin.register(RcaRevision)
class RcaRevisionAdmin(admin.ModelAdmin):
    list_display = ("rca", "field", "source", "applied", "actor", "created_at")
    list_filter = ("source", "applied", "field")
    search_fields = ("rca__title", "previous_text", "new_text", "actor")
    list_select_related = ("rca",)
    readonly_fields = (
        "rca",
        "field",
        "previous_text",
        "new_text",
        "source",
        "applied",
        "actor",
        "created_at",
    )


@admin.register(RcaGenerationEvent)
class RcaGenerationEventAdmin(admin.ModelAdmin):
    list_display = ("rca", "event_type", "provider", "model", "input_tokens", "output_tokens", "created_at")
    list_filter = ("event_type", "provider")
    search_fields = ("rca__title", "message")
    list_select_related = ("rca",)
    readonly_fields = (
        "rca",
        "event_type",
        "provider",
        "model",
        "input_tokens",
        "output_tokens",
        "duration_ms",
        "message",
        "payload",
        "created_at",
    )


@admin.register(RcaIncidentLink)
class RcaIncidentLinkAdmin(admin.ModelAdmin):
    list_display = ("rca", "product", "external_id", "title", "linked_by_label", "created_at")
    list_filter = ("product",)
    search_fields = ("rca__title", "external_id", "title")
    list_select_related = ("rca",)
    raw_id_fields = ("rca", "incident", "linked_by")
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


@admin.register(RcaActionItem)
class RcaActionItemAdmin(admin.ModelAdmin):
    list_display = ("title", "rca", "assignee", "status", "priority", "due_date", "completed_at")
    list_filter = ("status", "priority")
    search_fields = ("title", "description", "rca__title", "assignee__email")
    list_select_related = ("rca", "assignee")
    raw_id_fields = ("rca", "assignee", "created_by")
    readonly_fields = ("completed_at", "created_by_label")
