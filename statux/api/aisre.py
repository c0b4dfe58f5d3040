"""AI-SRE API (spec 002), system part: /health, /metrics, /adapters."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from statux.api.base import AisreApi, PublicApi
from statux.api.statux import HealthOut, health_body
from statux.metrics import exposition_response
from statux.registry import registry_names


class AisreHealthApi(PublicApi):
    """GET /health: liveness (no authentication)."""

    @extend_schema(responses=HealthOut, tags=["aisre"])
    def get(self, request: Request) -> Response:
        return Response(HealthOut(health_body()).data)


class AisreMetricsApi(PublicApi):
    """GET /metrics: Prometheus text exposition (no authentication)."""

    @extend_schema(
        responses={(200, "text/plain"): OpenApiResponse(description="Prometheus text format")}, tags=["aisre"]
    )
    def get(self, request: Request) -> HttpResponse:
        return exposition_response()


class AisreAdaptersOut(serializers.Serializer):
    alert_sources = serializers.ListField(child=serializers.CharField())
    log_backends = serializers.ListField(child=serializers.CharField())
    action_providers = serializers.ListField(child=serializers.CharField())
    action_names = serializers.ListField(child=serializers.CharField())
    notification_channels = serializers.ListField(child=serializers.CharField())
    ai_providers = serializers.ListField(child=serializers.CharField())
    billing_providers = serializers.ListField(child=serializers.CharField())


class AisreAdaptersApi(AisreApi):
    """GET /adapters: what the integration registries really hold."""

    @extend_schema(responses=AisreAdaptersOut, tags=["aisre"])
    def get(self, request: Request) -> Response:
        body = {
            "alert_sources": registry_names("alert_sources"),
            "log_backends": registry_names("log_backends"),
            "action_providers": registry_names("action_providers"),
            "action_names": registry_names("action_providers", lambda provider: list(provider.action_names)),
            "notification_channels": registry_names("notification_channels"),
            "ai_providers": registry_names("ai_providers"),
            "billing_providers": registry_names("billing_providers"),
        }
        return Response(AisreAdaptersOut(body).data)
