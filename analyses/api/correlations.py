"""AIops Engine API (spec 001): the service-correlation graph, learned from incident history."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from analyses.correlations import service_correlation_graph
from analyses.models import ServiceCorrelation
from statux.api.aiops import AiopsErrorOut
from statux.api.base import OrgScopedApi


class AiopsCorrelationsIn(serializers.Serializer):
    service_id = serializers.CharField(max_length=200, help_text="Origin service")
    depth = serializers.IntegerField(min_value=1, max_value=5, default=3, help_text="Max traversal depth")


class AiopsCorrelationOut(serializers.Serializer):
    related_service = serializers.CharField()
    correlation_score = serializers.FloatField()
    lag_minutes = serializers.IntegerField()
    direction = serializers.ChoiceField(choices=ServiceCorrelation.Direction.choices)
    # Extras: at depth > 1 the four fields above describe the edge from `via`, not from the origin.
    depth = serializers.IntegerField()
    via = serializers.CharField()
    computed_at = serializers.DateTimeField()


class AiopsCorrelationsOut(serializers.Serializer):
    service_id = serializers.CharField()
    correlations = AiopsCorrelationOut(many=True)


class AiopsRcaCorrelationsApi(OrgScopedApi):
    """GET /api/v1/rca/correlations: breadth-first from service_id; unknown services have no entries."""

    @extend_schema(
        parameters=[AiopsCorrelationsIn],
        responses={200: AiopsCorrelationsOut, 400: AiopsErrorOut},
        tags=["aiops"],
    )
    def get(self, request: Request) -> Response:
        incoming = AiopsCorrelationsIn(data=request.query_params)
        incoming.is_valid(raise_exception=True)
        service_id, depth = incoming.validated_data["service_id"], incoming.validated_data["depth"]
        entries = service_correlation_graph(
            organization=request.organization, service_id=service_id, depth=depth
        )
        return Response(AiopsCorrelationsOut({"service_id": service_id, "correlations": entries}).data)
