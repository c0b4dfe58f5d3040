"""Root URLs: a prefix per surface; every API path answers with and without its trailing slash."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from statux.api import aiops, aisre
from statux.api import statux as statux_api
from statux.api.base import both_slashes

statux_patterns = [
    *both_slashes("api/v1/health", statux_api.StatuxHealthApi.as_view(), "health"),
    *both_slashes("api/v1/auth/token", statux_api.StatuxTokenObtainApi.as_view(), "token-obtain"),
    *both_slashes("api/v1/auth/token/refresh", statux_api.StatuxTokenRefreshApi.as_view(), "token-refresh"),
    *both_slashes("api/v1/auth/token/verify", statux_api.StatuxTokenVerifyApi.as_view(), "token-verify"),
    *both_slashes("api/v1/users/me", statux_api.StatuxUserMeApi.as_view(), "user-me"),
    *both_slashes(
        "api/v1/users/me/notifications", statux_api.StatuxUserNotificationsApi.as_view(), "user-notifications"
    ),
    *both_slashes(
        "api/v1/organizations/<str:org_id>/users", statux_api.StatuxMemberListApi.as_view(), "member-list"
    ),
    *both_slashes(
        "api/v1/organizations/<str:org_id>/users/invite",
        statux_api.StatuxInvitationCreateApi.as_view(),
        "invitation-create",
    ),
    *both_slashes(
        "api/v1/organizations/<str:org_id>/users/<str:user_id>",
        statux_api.StatuxMemberDetailApi.as_view(),
        "member-detail",
    ),
    *both_slashes(
        "api/v1/invitations/<str:token>/accept",
        statux_api.StatuxInvitationAcceptApi.as_view(),
        "invitation-accept",
    ),
]

aiops_patterns = [
    *both_slashes("api/v1/status", aiops.AiopsStatusApi.as_view(), "status"),
    *both_slashes("api/v1/tenants", aiops.AiopsTenantListApi.as_view(), "tenant-list"),
    *both_slashes("api/v1/rbac/permissions", aiops.AiopsRbacPermissionsApi.as_view(), "rbac-permissions"),
    *both_slashes("api/v1/apikeys", aiops.AiopsApiKeyListApi.as_view(), "apikey-list"),
    *both_slashes("api/v1/apikeys/<str:key_id>", aiops.AiopsApiKeyDetailApi.as_view(), "apikey-detail"),
]

aisre_patterns = [
    *both_slashes("health", aisre.AisreHealthApi.as_view(), "health"),
    *both_slashes("metrics", aisre.AisreMetricsApi.as_view(), "metrics"),
    *both_slashes("adapters", aisre.AisreAdaptersApi.as_view(), "adapters"),
]

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="console:dashboard", permanent=False)),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("", include((statux_patterns, "statux"))),
    path("", include((aiops_patterns, "aiops"))),
    path("", include((aisre_patterns, "aisre"))),
    path("console/", include("statux.console.urls")),
    path("", include("analyses.urls_aiops")),
    *(path("", include(f"{app}.urls")) for app in ("analyses", "rca", "webhooks", "usage", "remediation")),
]

handler400 = "statux.errors.handler400"
handler403 = "statux.errors.handler403"
handler404 = "statux.errors.handler404"
handler500 = "statux.errors.handler500"
