from django.urls import path

from statux.console import analyses, correlations, incidents, ingestion, rca, remediation, usage, views

app_name = "console"

urlpatterns = [
    path("", views.dashboard_view, name="dashboard"),
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("organization/", views.organization_switch_view, name="organization-switch"),
    path("members/", views.member_list_view, name="member-list"),
    path("members/invite/", views.member_invite_view, name="member-invite"),
    path("members/<uuid:user_id>/role/", views.member_role_view, name="member-role"),
    path("members/<uuid:user_id>/remove/", views.member_remove_view, name="member-remove"),
    path(
        "members/invitations/<uuid:invitation_id>/revoke/",
        views.invitation_revoke_view,
        name="invitation-revoke",
    ),
    path("keys/", views.key_list_view, name="key-list"),
    path("keys/create/", views.key_create_view, name="key-create"),
    path("keys/<str:key_id>/revoke/", views.key_revoke_view, name="key-revoke"),
    path("audit/", views.audit_list_view, name="audit-list"),
    path("invitations/<str:token>/", views.invitation_accept_view, name="invitation-accept"),
    # --- Incidents (Issue 4) ---
    path("incidents/", incidents.incident_list_view, name="incident-list"),
    path("incidents/rows/", incidents.incident_rows_view, name="incident-rows"),
    path("incidents/counts/", incidents.incident_counts_view, name="incident-counts"),
    path("incidents/<str:incident_id>/", incidents.incident_detail_view, name="incident-detail"),
    path("incidents/<str:incident_id>/status/", incidents.incident_status_view, name="incident-status"),
    path("incidents/<str:incident_id>/notes/", incidents.incident_note_view, name="incident-note"),
    path("incidents/<str:incident_id>/analysis/", analyses.incident_analysis_view, name="incident-analysis"),
    path("incidents/<str:incident_id>/analyze/", analyses.incident_analyze_view, name="incident-analyze"),
    # --- Insights: analyses and the auto-analysis policy (Issue 5) ---
    path("insights/", analyses.insight_list_view, name="insight-list"),
    path("insights/settings/", analyses.analysis_settings_view, name="analysis-settings"),
    # --- Ingestion: webhook configs and the dead letter (Issue 4) ---
    path("ingestion/webhooks/", ingestion.webhook_list_view, name="webhook-list"),
    path("ingestion/webhooks/create/", ingestion.webhook_create_view, name="webhook-create"),
    path(
        "ingestion/webhooks/<uuid:config_id>/regenerate/",
        ingestion.webhook_regenerate_view,
        name="webhook-regenerate",
    ),
    path(
        "ingestion/webhooks/<uuid:config_id>/enabled/", ingestion.webhook_enabled_view, name="webhook-enabled"
    ),
    path("ingestion/webhooks/<uuid:config_id>/delete/", ingestion.webhook_delete_view, name="webhook-delete"),
    path("ingestion/dead-letter/", ingestion.dead_letter_list_view, name="dead-letter-list"),
    path("ingestion/dead-letter/replay/", ingestion.dead_letter_replay_view, name="dead-letter-replay"),
    # --- Remediation: guardrail policy (Issue 5) ---
    path("remediation/guardrails/", remediation.guardrails_view, name="guardrail-policy"),
    path("remediation/guardrails/edit/", remediation.guardrails_edit_view, name="guardrail-policy-edit"),
    # --- RCAs and postmortems (Issue 6) ---
    path("rcas/", rca.rca_list_view, name="rca-list"),
    path("rcas/create/", rca.rca_create_view, name="rca-create"),
    path("rcas/<uuid:rca_id>/", rca.rca_detail_view, name="rca-detail"),
    path("rcas/<uuid:rca_id>/document/", rca.rca_document_view, name="rca-document"),
    path("rcas/<uuid:rca_id>/generation/", rca.rca_generation_view, name="rca-generation"),
    path("rcas/<uuid:rca_id>/generate/", rca.rca_generate_view, name="rca-generate"),
    path("rcas/<uuid:rca_id>/status/", rca.rca_status_view, name="rca-status"),
    path("rcas/<uuid:rca_id>/edit/", rca.rca_edit_view, name="rca-edit"),
    path("rcas/<uuid:rca_id>/preview/", rca.rca_preview_view, name="rca-preview"),
    path("rcas/<uuid:rca_id>/export/", rca.rca_export_view, name="rca-export"),
    path("rcas/<uuid:rca_id>/delete/", rca.rca_delete_view, name="rca-delete"),
    path("rcas/<uuid:rca_id>/incidents/", rca.rca_link_view, name="rca-link"),
    path("rcas/<uuid:rca_id>/incidents/<uuid:link_id>/unlink/", rca.rca_unlink_view, name="rca-unlink"),
    path("rcas/<uuid:rca_id>/action-items/", rca.rca_action_item_create_view, name="rca-action-item-create"),
    path(
        "rcas/<uuid:rca_id>/action-items/<uuid:item_id>/move/",
        rca.rca_action_item_move_view,
        name="rca-action-item-move",
    ),
    path(
        "rcas/<uuid:rca_id>/action-items/<uuid:item_id>/edit/",
        rca.rca_action_item_edit_view,
        name="rca-action-item-edit",
    ),
    path(
        "rcas/<uuid:rca_id>/action-items/<uuid:item_id>/delete/",
        rca.rca_action_item_delete_view,
        name="rca-action-item-delete",
    ),
    path("incidents/<str:incident_id>/postmortem/", rca.incident_postmortem_view, name="incident-postmortem"),
    # --- Anomalies and the learned service graph (Issue 6) ---
    path("anomalies/", correlations.anomaly_list_view, name="anomaly-list"),
    path("anomalies/graph/", correlations.correlation_graph_view, name="correlation-graph"),
    # --- Usage and limits (Issue 5) ---
    path("usage/", usage.usage_view, name="usage"),
    path("usage/budget/", usage.usage_budget_view, name="usage-budget"),
]
