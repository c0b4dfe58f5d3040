"""AIops Engine API (spec 001): status, tenants, RBAC, API keys. snake_case JSON."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import permissions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from analyses.selectors import anomaly_activity
from statux import selectors, services
from statux.api.base import AuthenticatedApi, OrgScopedApi
from statux.audit import Actor
from statux.health import system_status
from statux.models import SLUG_VALIDATOR, ApiKeyScope, Plan
from usage.selectors import usage_events_this_month

AiopsErrorOut = inline_serializer(
    "AiopsErrorOut", {"error": serializers.CharField(), "code": serializers.CharField()}
)


class AiopsStatusWatchdogOut(serializers.Serializer):
    last_run = serializers.DateTimeField(allow_null=True)
    metrics_monitored = serializers.IntegerField()
    anomalies_last_hour = serializers.IntegerField()


class AiopsStatusOut(serializers.Serializer):
    status = serializers.ChoiceField(choices=["ok", "degraded", "down"])
    version = serializers.CharField()
    components = serializers.DictField(child=serializers.CharField())
    workers = serializers.ListField(child=serializers.CharField())
    watchdog = AiopsStatusWatchdogOut()


class AiopsStatusApi(OrgScopedApi):
    """GET /api/v1/status: checks database, broker, workers, AI provider and watchdog for real."""

    @extend_schema(responses={200: AiopsStatusOut, 503: AiopsStatusOut}, tags=["aiops"])
    def get(self, request: Request) -> Response:
        report = system_status()
        watchdog = {"last_run": None, **(report.watchdog or {})}
        if report.components["database"] == "ok":  # the caller's own numbers, counted for real
            watchdog |= anomaly_activity(organization=request.organization)
        body = {
            "status": report.status,
            "version": settings.VERSION,
            "components": report.components,
            "workers": report.workers,
            "watchdog": {"metrics_monitored": 0, "anomalies_last_hour": 0} | watchdog,
        }
        code = status.HTTP_503_SERVICE_UNAVAILABLE if report.status == "down" else status.HTTP_200_OK
        return Response(AiopsStatusOut(body).data, status=code)


class IsSuperAdmin(permissions.BasePermission):
    message = "This needs the Super-Admin role."

    def has_permission(self, request: Request, view) -> bool:
        return bool(getattr(request.user, "is_superuser", False))


class AiopsTenantOut(serializers.Serializer):
    tenant_id = serializers.CharField(source="slug")
    name = serializers.CharField()
    plan = serializers.CharField()
    contact_email = serializers.CharField()
    created_at = serializers.DateTimeField()
    events_this_month = serializers.IntegerField()


class AiopsTenantListOut(serializers.Serializer):
    tenants = AiopsTenantOut(many=True)


class AiopsTenantCreateIn(serializers.Serializer):
    tenant_id = serializers.CharField(max_length=63, validators=[SLUG_VALIDATOR])
    name = serializers.CharField(max_length=200)
    plan = serializers.ChoiceField(choices=Plan.choices, default=Plan.FREE)
    contact_email = serializers.EmailField(required=False, allow_blank=True, default="")


class AiopsTenantCreatedOut(serializers.Serializer):
    tenant_id = serializers.CharField(source="slug")
    created_at = serializers.DateTimeField()


class AiopsTenantListApi(AuthenticatedApi):
    """GET, POST /api/v1/tenants (Super-Admin)"""

    permission_classes = [permissions.IsAuthenticated, IsSuperAdmin]

    @extend_schema(responses={200: AiopsTenantListOut, 403: AiopsErrorOut}, tags=["aiops"])
    def get(self, request: Request) -> Response:
        organizations = list(selectors.organization_list())
        events = usage_events_this_month(organizations=organizations)
        for organization in organizations:
            organization.events_this_month = events.get(organization.pk, 0)
        return Response(AiopsTenantListOut({"tenants": organizations}).data)

    @extend_schema(
        request=AiopsTenantCreateIn,
        responses={201: AiopsTenantCreatedOut, 400: AiopsErrorOut, 403: AiopsErrorOut, 409: AiopsErrorOut},
        tags=["aiops"],
    )
    def post(self, request: Request) -> Response:
        incoming = AiopsTenantCreateIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        organization = services.organization_create(
            slug=data["tenant_id"],
            name=data["name"],
            plan=data["plan"],
            contact_email=data["contact_email"],
            actor=Actor.from_request(request),
        )
        return Response(AiopsTenantCreatedOut(organization).data, status=status.HTTP_201_CREATED)


class AiopsPermissionsOut(serializers.Serializer):
    tenant_id = serializers.CharField()
    user_id = serializers.CharField()
    role = serializers.CharField()
    level = serializers.IntegerField()
    permissions = serializers.ListField(child=serializers.CharField())


class AiopsRbacPermissionsApi(OrgScopedApi):
    """GET /api/v1/rbac/permissions: the caller's role and permissions in the resolved tenant."""

    @extend_schema(responses=AiopsPermissionsOut, tags=["aiops"])
    def get(self, request: Request) -> Response:
        access = request.access
        user_id = getattr(request.user, "email", None) or str(request.user)
        body = {
            "tenant_id": request.organization.slug,
            "user_id": user_id,
            "role": access.role,
            "level": access.level,
            "permissions": list(access.permissions),
        }
        return Response(AiopsPermissionsOut(body).data)


class AiopsApiKeyCreateIn(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    scope = serializers.ChoiceField(choices=ApiKeyScope.choices, default=ApiKeyScope.READ)
    rate_limit_rps = serializers.IntegerField(min_value=1, max_value=100_000, required=False, allow_null=True)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)


class AiopsApiKeyOut(serializers.Serializer):
    key_id = serializers.CharField()
    name = serializers.CharField()
    prefix = serializers.CharField()
    scope = serializers.CharField()
    rate_limit_rps = serializers.IntegerField(allow_null=True)
    expires_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)
    last_used_at = serializers.DateTimeField(allow_null=True)
    status = serializers.CharField(source="state")
    created_at = serializers.DateTimeField()


class AiopsApiKeyCreatedOut(AiopsApiKeyOut):
    api_key = serializers.CharField()


class AiopsApiKeyListOut(serializers.Serializer):
    api_keys = AiopsApiKeyOut(many=True)
    total = serializers.IntegerField()


class AiopsApiKeyListApi(OrgScopedApi):
    """GET, POST /api/v1/apikeys: the full key only in the POST response."""

    required_permission = "manage_keys"

    @extend_schema(responses={200: AiopsApiKeyListOut, 403: AiopsErrorOut}, tags=["aiops"])
    def get(self, request: Request) -> Response:
        keys = list(selectors.api_key_list(organization=request.organization))
        return Response(AiopsApiKeyListOut({"api_keys": keys, "total": len(keys)}).data)

    @extend_schema(
        request=AiopsApiKeyCreateIn,
        responses={201: AiopsApiKeyCreatedOut, 400: AiopsErrorOut, 403: AiopsErrorOut},
        tags=["aiops"],
    )
    def post(self, request: Request) -> Response:
        incoming = AiopsApiKeyCreateIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        key, raw = services.api_key_create(
            organization=request.organization,
            access=request.access,
            actor=Actor.from_request(request),
            **incoming.validated_data,
        )
        key.api_key = raw
        return Response(AiopsApiKeyCreatedOut(key).data, status=status.HTTP_201_CREATED)


class AiopsApiKeyDetailApi(OrgScopedApi):
    """DELETE /api/v1/apikeys/{key_id}: revoke at once; repeating it is harmless."""

    required_permission = "manage_keys"

    @extend_schema(responses={200: AiopsApiKeyOut, 404: AiopsErrorOut}, tags=["aiops"])
    def delete(self, request: Request, key_id: str) -> Response:
        key = selectors.api_key_get(organization=request.organization, key_id=key_id)
        key = services.api_key_revoke(key=key, actor=Actor.from_request(request))
        return Response(AiopsApiKeyOut(key).data)
