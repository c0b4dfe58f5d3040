"""AIops Engine API (spec 001): the anomalies the Alertmanager webhook recorded, keyset-paged."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from analyses.correlations import AnomalyCursor, anomaly_list, anomaly_page
from statux.api.aiops import AiopsErrorOut
from statux.api.base import OrgScopedApi


class AiopsAnomalyListIn(serializers.Serializer):
    service_id = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    since = serializers.DateTimeField(required=False, default=None, help_text="RFC 3339; naive times are UTC")
    until = serializers.DateTimeField(required=False, default=None, help_text="RFC 3339; naive times are UTC")
    min_score = serializers.FloatField(min_value=0, max_value=1, required=False, default=None)
    limit = serializers.IntegerField(min_value=1, max_value=1000, default=50)
    page_token = serializers.CharField(
        max_length=1000,
        required=False,
        allow_blank=True,
        default="",
        help_text="The previous response's page_token, unchanged",
    )

    def validate_page_token(self, value: str) -> AnomalyCursor | None:
        return AnomalyCursor.decode(value) if value else None

    def validate(self, data: dict) -> dict:
        if data["since"] and data["until"] and data["since"] > data["until"]:
            raise serializers.ValidationError({"until": ["Must not be earlier than since."]})
        return data


class AiopsAnomalyOut(serializers.Serializer):
    anomaly_id = serializers.CharField(source="id")
    service_id = serializers.CharField()
    metric_name = serializers.CharField()
    anomaly_score = serializers.FloatField()
    z_score = serializers.FloatField()
    detected_at = serializers.DateTimeField()
    rca_triggered = serializers.BooleanField()  # linked to an incident, as the alerts webhook answers
    resolved = serializers.BooleanField(source="incident_resolved")  # that incident is resolved or closed


class AiopsAnomalyListOut(serializers.Serializer):
    anomalies = AiopsAnomalyOut(many=True)
    total = serializers.IntegerField()
    page_token = serializers.CharField(allow_null=True)


class AiopsAnomalyListApi(OrgScopedApi):
    """GET /api/v1/anomalies: newest first; `page_token` is null on the last page."""

    @extend_schema(
        parameters=[AiopsAnomalyListIn],
        responses={200: AiopsAnomalyListOut, 400: AiopsErrorOut},
        tags=["aiops"],
    )
    def get(self, request: Request) -> Response:
        incoming = AiopsAnomalyListIn(data=request.query_params)
        incoming.is_valid(raise_exception=True)
        query = incoming.validated_data
        anomalies = anomaly_list(
            organization=request.organization,
            service_id=query["service_id"],
            since=query["since"],
            until=query["until"],
            min_score=query["min_score"],
        )
        page = anomaly_page(anomalies=anomalies, limit=query["limit"], after=query["page_token"])
        body = {"anomalies": page.anomalies, "total": page.total, "page_token": page.page_token}
        return Response(AiopsAnomalyListOut(body).data)
