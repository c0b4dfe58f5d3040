from statux.api.base import both_slashes
from webhooks.api import aiops, aisre, statux

urlpatterns = [
    *both_slashes("webhook", aisre.AisreWebhookApi.as_view(), "aisre-webhook"),
    *both_slashes("webhook/dead-letter", aisre.AisreDeadLetterApi.as_view(), "aisre-dead-letter"),
    *both_slashes("webhook/pagerduty", aisre.AisrePagerDutyWebhookApi.as_view(), "aisre-pagerduty-webhook"),
    *both_slashes("webhook/deploy", aisre.AisreDeployWebhookApi.as_view(), "aisre-deploy-webhook"),
    *both_slashes("webhook/deploy/recent", aisre.AisreDeployRecentApi.as_view(), "aisre-deploy-recent"),
    *both_slashes("api/v1/alerts/webhook", aiops.AiopsAlertWebhookApi.as_view(), "aiops-alert-webhook"),
    *both_slashes(
        "api/v1/organizations/<str:org_id>/webhook-configs",
        statux.StatuxWebhookConfigListApi.as_view(),
        "statux-webhook-config-list",
    ),
    *both_slashes(
        "api/v1/organizations/<str:org_id>/webhook-configs/<str:config_id>",
        statux.StatuxWebhookConfigDetailApi.as_view(),
        "statux-webhook-config-detail",
    ),
    *both_slashes(
        "api/v1/organizations/<str:org_id>/webhook-configs/<str:config_id>/regenerate-key",
        statux.StatuxWebhookConfigRegenerateKeyApi.as_view(),
        "statux-webhook-config-regenerate-key",
    ),
    *both_slashes(
        "api/v1/webhooks/ingest/<str:api_key>",
        statux.StatuxWebhookIngestApi.as_view(),
        "statux-webhook-ingest",
    ),
]
