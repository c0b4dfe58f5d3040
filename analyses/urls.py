from analyses.api import aiops, aisre, alerts, diagnosis, insights, similar
from statux.api.base import both_slashes

urlpatterns = [
    *both_slashes("api/alerts/incidents", alerts.AlertsIncidentListApi.as_view(), "alerts-incident-list"),
    *both_slashes(
        "api/alerts/incidents/<str:incident_id>",
        alerts.AlertsIncidentDetailApi.as_view(),
        "alerts-incident-detail",
    ),
    *both_slashes(
        "api/alerts/incidents/<str:incident_id>/notes",
        alerts.AlertsIncidentNoteCreateApi.as_view(),
        "alerts-incident-notes",
    ),
    *both_slashes(
        "api/v1/organizations/<str:org_id>/insights", insights.InsightListApi.as_view(), "insight-list"
    ),
    *both_slashes(
        "api/v1/organizations/<str:org_id>/insights/stats",
        insights.InsightStatsApi.as_view(),
        "insight-stats",
    ),
    *both_slashes(
        "api/v1/organizations/<str:org_id>/insights/<str:insight_id>",
        insights.InsightDetailApi.as_view(),
        "insight-detail",
    ),
    *both_slashes(
        "api/v1/organizations/<str:org_id>/insights/<str:insight_id>/events",
        insights.InsightEventListApi.as_view(),
        "insight-events",
    ),
    *both_slashes(
        "incidents/<str:incident_id>/similar",
        similar.AisreIncidentSimilarApi.as_view(),
        "aisre-incident-similar",
    ),
    *both_slashes(
        "incidents/<str:incident_id>/diagnosis",
        diagnosis.AisreIncidentDiagnosisApi.as_view(),
        "aisre-incident-diagnosis",
    ),
    *both_slashes("incidents", aisre.AisreIncidentListApi.as_view(), "aisre-incident-list"),
    *both_slashes("incidents/noisy", aisre.AisreNoisyIncidentsApi.as_view(), "aisre-incident-noisy"),
    *both_slashes("activity", aisre.AisreActivityApi.as_view(), "aisre-activity"),
    *both_slashes(
        "incidents/<str:incident_id>/deploy-correlation",
        aisre.AisreIncidentDeployCorrelationApi.as_view(),
        "aisre-incident-deploy-correlation",
    ),
    *both_slashes(
        "api/v1/resolutions/webhook", aiops.AiopsResolutionWebhookApi.as_view(), "aiops-resolution-webhook"
    ),
    *both_slashes(
        "incidents/<str:incident_id>", aisre.AisreIncidentDetailApi.as_view(), "aisre-incident-detail"
    ),
    *both_slashes(
        "incidents/<str:incident_id>/timeline",
        aisre.AisreIncidentTimelineApi.as_view(),
        "aisre-incident-timeline",
    ),
    *both_slashes(
        "incidents/<str:incident_id>/group", aisre.AisreIncidentGroupApi.as_view(), "aisre-incident-group"
    ),
    *both_slashes(
        "incidents/<str:incident_id>/metrics",
        aisre.AisreIncidentMetricsApi.as_view(),
        "aisre-incident-metrics",
    ),
    *both_slashes(
        "incidents/<str:incident_id>/actions",
        aisre.AisreIncidentActionsApi.as_view(),
        "aisre-incident-actions",
    ),
]
