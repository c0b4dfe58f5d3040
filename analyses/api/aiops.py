"""AIops Engine API (spec 001): the resolution webhook feeding the incident memory."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from analyses.services import knowledge_base_entry_create
from statux.api.base import OrgScopedApi
from statux.audit import Actor


class AiopsResolutionIn(serializers.Serializer):
    incident_id = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    service_id = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    resolution = serializers.CharField(max_length=20_000)
    resolved_by = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    time_to_recovery_minutes = serializers.FloatField(
        min_value=0, max_value=10**6, required=False, allow_null=True, default=None
    )
    tags = serializers.ListField(
        child=serializers.CharField(max_length=100), max_length=50, required=False, default=list
    )


class AiopsResolutionOut(serializers.Serializer):
    status = serializers.CharField()
    stored = serializers.BooleanField()
    knowledge_base_id = serializers.CharField()


class AiopsResolutionWebhookApi(OrgScopedApi):
    """POST /api/v1/resolutions/webhook: a human-written resolution, stored in the incident memory."""

    @extend_schema(request=AiopsResolutionIn, responses=AiopsResolutionOut, tags=["aiops"])
    def post(self, request: Request) -> Response:
        incoming = AiopsResolutionIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        entry = knowledge_base_entry_create(
            organization=request.organization,
            incident_ref=data["incident_id"],
            service_id=data["service_id"],
            resolution=data["resolution"],
            resolved_by=data["resolved_by"],
            time_to_recovery_minutes=data["time_to_recovery_minutes"],
            tags=data["tags"],
            actor=Actor.from_request(request),
        )
        return Response(
            AiopsResolutionOut({"status": "ok", "stored": True, "knowledge_base_id": entry.pk}).data
        )
