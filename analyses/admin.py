from django.contrib import admin, messages

from analyses.models import (
    Analysis,
    AnalysisCacheEntry,
    AnalysisEvent,
    AnalysisSettings,
    Anomaly,
    Incident,
    IncidentEvent,
    IncidentNote,
    KnowledgeBaseEntry,
    ServiceCorrelation,
)
from analyses.services import incident_change_status
from statux.audit import Actor
from statux.errors import StatuxError


class IncidentNoteInline(admin.TabularInline):
    model = IncidentNote
    extra = 0
    fields = ("author", "content", "created_at")
    readonly_fields = fields
    can_delete = False


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "title",
        "organization",
        "severity",
        "status",
        "service",
        "alert_count",
        "created_at",
        "last_seen_at",
    )
    list_filter = ("status", "severity", "source", "organization")
    search_fields = ("id", "title", "service", "fingerprint", "external_id", "rule_id")
    list_select_related = ("organization",)
    readonly_fields = (
        "id",
        "fingerprint",
        "alert_count",
        "created_at",
        "updated_at",
        "last_seen_at",
        "acknowledged_at",
        "resolved_at",
        "closed_at",
        "status",
        "parent",
    )
    date_hierarchy = "created_at"
    inlines = [IncidentNoteInline]
    actions = ["acknowledge", "resolve", "close"]

    def _move(self, request, queryset, status: str) -> None:
        moved = 0
        for incident in queryset:
            try:
                incident_change_status(incident=incident, status=status, actor=Actor(user=request.user))
                moved += 1
            except StatuxError as exc:
                messages.warning(request, exc.message)
        messages.info(request, f"{moved} incident(s) now {status}.")

    @admin.action(description="Acknowledge selected incidents")
    def acknowledge(self, request, queryset):
        self._move(request, queryset, "acknowledged")

    @admin.action(description="Resolve selected incidents")
    def resolve(self, request, queryset):
        self._move(request, queryset, "resolved")

    @admin.action(description="Close selected incidents")
    def close(self, request, queryset):
        self._move(request, queryset, "closed")


@admin.register(IncidentEvent)
class IncidentEventAdmin(admin.ModelAdmin):
    list_display = ("created_at", "incident", "event_type", "actor")
    list_filter = ("event_type",)
    search_fields = ("incident__id", "actor")
    list_select_related = ("incident",)

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(IncidentNote)
class IncidentNoteAdmin(admin.ModelAdmin):
    list_display = ("created_at", "incident", "author")
    search_fields = ("incident__id", "author", "content")
    list_select_related = ("incident",)


class AnalysisEventInline(admin.TabularInline):
    model = AnalysisEvent
    extra = 0
    fields = (
        "created_at",
        "event_type",
        "provider",
        "model",
        "input_tokens",
        "output_tokens",
        "duration_ms",
        "message",
    )
    readonly_fields = fields
    can_delete = False


@admin.register(Analysis)
class AnalysisAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "incident",
        "organization",
        "status",
        "severity",
        "provider",
        "confidence",
        "cache_hit",
        "budget_limited",
        "created_at",
    )
    list_filter = (
        "status",
        "provider",
        "trigger",
        "source_product",
        "cache_hit",
        "budget_limited",
        "organization",
    )
    search_fields = ("id", "incident__id", "incident__title", "summary", "root_cause")
    list_select_related = ("organization", "incident")
    raw_id_fields = ("incident",)
    date_hierarchy = "created_at"
    readonly_fields = (
        "created_at",
        "updated_at",
        "started_at",
        "completed_at",
        "processing_ms",
        "context_hash",
    )
    inlines = [AnalysisEventInline]


@admin.register(AnalysisCacheEntry)
class AnalysisCacheEntryAdmin(admin.ModelAdmin):
    list_display = (
        "context_hash",
        "organization",
        "provider",
        "hits",
        "created_at",
        "expires_at",
        "last_hit_at",
    )
    list_filter = ("provider", "organization")
    search_fields = ("context_hash",)
    list_select_related = ("organization",)


@admin.register(AnalysisSettings)
class AnalysisSettingsAdmin(admin.ModelAdmin):
    list_display = ("organization", "auto_analyze", "min_severity")
    list_filter = ("auto_analyze", "min_severity")
    list_select_related = ("organization",)


@admin.register(Anomaly)
class AnomalyAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "organization",
        "service_id",
        "metric_name",
        "anomaly_score",
        "z_score",
        "detected_at",
    )
    list_filter = ("organization",)
    search_fields = ("id", "service_id", "metric_name", "incident__id")
    list_select_related = ("organization",)
    raw_id_fields = ("incident",)
    date_hierarchy = "detected_at"


@admin.register(KnowledgeBaseEntry)
class KnowledgeBaseEntryAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "organization",
        "service_id",
        "incident_ref",
        "resolved_by",
        "time_to_recovery_minutes",
        "created_at",
    )
    list_filter = ("organization",)
    search_fields = ("id", "service_id", "incident_ref", "resolution")
    list_select_related = ("organization",)
    raw_id_fields = ("incident",)


@admin.register(ServiceCorrelation)
class ServiceCorrelationAdmin(admin.ModelAdmin):
    list_display = (
        "service",
        "related_service",
        "direction",
        "lag_minutes",
        "correlation_score",
        "support",
        "organization",
        "computed_at",
    )
    list_filter = ("organization", "direction")
    search_fields = ("service", "related_service")
    list_select_related = ("organization",)
