"""AI-SRE API (spec 002): the incidents most like one incident, with how each was resolved."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from analyses import selectors
from analyses.similarity import similar_incidents
from statux.api.base import AisreApi


class AisreSimilarIncidentOut(serializers.Serializer):
    id = serializers.CharField()
    title = serializers.CharField()
    similarity_score = serializers.FloatField(min_value=0, max_value=1)
    severity = serializers.CharField()
    state = serializers.CharField()
    created_at = serializers.DateTimeField()
    resolution = serializers.CharField(allow_blank=True)


class AisreSimilarOut(serializers.Serializer):
    incident_id = serializers.CharField()
    similar_incidents = AisreSimilarIncidentOut(many=True)
    count = serializers.IntegerField()


class AisreSimilarIn(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=50, default=10)


class AisreIncidentSimilarApi(AisreApi):
    """GET /incidents/{incident_id}/similar?limit=10: past incidents like this one, best first."""

    @extend_schema(parameters=[OpenApiParameter("limit", int)], responses=AisreSimilarOut, tags=["aisre"])
    def get(self, request: Request, incident_id: str) -> Response:
        incoming = AisreSimilarIn(data=request.query_params)
        incoming.is_valid(raise_exception=True)
        incident = selectors.incident_get(organization=request.organization, incident_id=incident_id)
        similar = similar_incidents(incident=incident, limit=incoming.validated_data["limit"])
        body = {"incident_id": incident.pk, "similar_incidents": similar, "count": len(similar)}
        return Response(AisreSimilarOut(body).data)
