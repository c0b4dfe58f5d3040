"""Statux Insights API (spec 000): insights = analyses of incidents. camelCase."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from analyses import selectors, services
from analyses.models import AnalysisStatus, AnalysisTrigger, SourceProduct
from statux.api.base import OrgScopedApi, StatuxPagination
from statux.audit import Actor
from statux.models import Severity


class InsightIncidentOut(serializers.Serializer):
    id = serializers.CharField()
    title = serializers.CharField()
    service = serializers.CharField()
    severity = serializers.CharField()
    status = serializers.CharField()


class InsightOut(serializers.Serializer):
    id = serializers.UUIDField()
    organizationId = serializers.UUIDField(source="organization_id")
    incidentId = serializers.CharField(source="incident_id")
    incident = InsightIncidentOut()
    status = serializers.ChoiceField(choices=AnalysisStatus.choices)
    trigger = serializers.ChoiceField(choices=AnalysisTrigger.choices)
    requestedBy = serializers.CharField(source="requested_by")
    sourceProduct = serializers.ChoiceField(source="source_product", choices=SourceProduct.choices)
    summary = serializers.CharField()
    rootCause = serializers.CharField(source="root_cause")
    recommendations = serializers.SerializerMethodField()
    recommendationList = serializers.ListField(source="recommendations", child=serializers.CharField())
    severity = serializers.CharField()
    confidence = serializers.FloatField(allow_null=True)
    evidence = serializers.ListField(child=serializers.CharField())
    suggestedActions = serializers.ListField(source="suggested_actions", child=serializers.DictField())
    signatures = serializers.ListField(child=serializers.DictField())
    matchedPlaybooks = serializers.ListField(source="matched_playbooks", child=serializers.CharField())
    provider = serializers.CharField()
    model = serializers.CharField()
    inputTokens = serializers.IntegerField(source="input_tokens")
    outputTokens = serializers.IntegerField(source="output_tokens")
    totalTokens = serializers.IntegerField(source="total_tokens")
    cacheHit = serializers.BooleanField(source="cache_hit")
    budgetLimited = serializers.BooleanField(source="budget_limited")
    error = serializers.CharField()
    processingTimeMs = serializers.IntegerField(source="processing_ms", allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at")
    startedAt = serializers.DateTimeField(source="started_at", allow_null=True)
    completedAt = serializers.DateTimeField(source="completed_at", allow_null=True)
    updatedAt = serializers.DateTimeField(source="updated_at")

    def get_recommendations(self, analysis) -> str:
        """The entity's `recommendations` is one string: a Markdown list, one step a line."""
        return "\n".join(f"- {step}" for step in analysis.recommendations)


class InsightListOut(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)
    results = InsightOut(many=True)


class InsightCreateIn(serializers.Serializer):
    incidentId = serializers.CharField(max_length=24)


class InsightEventOut(serializers.Serializer):
    id = serializers.IntegerField()
    eventType = serializers.CharField(source="event_type")
    provider = serializers.CharField()
    model = serializers.CharField()
    inputTokens = serializers.IntegerField(source="input_tokens")
    outputTokens = serializers.IntegerField(source="output_tokens")
    durationMs = serializers.IntegerField(source="duration_ms", allow_null=True)
    message = serializers.CharField()
    payload = serializers.DictField()
    createdAt = serializers.DateTimeField(source="created_at")


class InsightEventListOut(serializers.Serializer):
    insightId = serializers.UUIDField()
    events = InsightEventOut(many=True)
    count = serializers.IntegerField()


class InsightStatsOut(serializers.Serializer):
    total = serializers.IntegerField()
    byStatus = serializers.DictField(source="by_status", child=serializers.IntegerField())
    bySeverity = serializers.DictField(source="by_severity", child=serializers.IntegerField())
    bySourceProduct = serializers.DictField(source="by_source_product", child=serializers.IntegerField())
    averageProcessingTimeMs = serializers.FloatField(source="average_processing_ms", allow_null=True)
    cacheHits = serializers.IntegerField(source="cache_hits")
    cacheHitRate = serializers.FloatField(source="cache_hit_rate")
    budgetLimited = serializers.IntegerField(source="budget_limited")
    tokens = serializers.SerializerMethodField()

    def get_tokens(self, stats) -> dict[str, int]:
        return {
            "input": stats["input_tokens"],
            "output": stats["output_tokens"],
            "total": stats["input_tokens"] + stats["output_tokens"],
        }


LIST_PARAMETERS = [
    OpenApiParameter("status", str, enum=AnalysisStatus.values),
    OpenApiParameter("severity", str, enum=Severity.values),
    OpenApiParameter("sourceProduct", str, enum=SourceProduct.values),
    OpenApiParameter("incidentId", str),
    OpenApiParameter("provider", str),
    OpenApiParameter("trigger", str, enum=AnalysisTrigger.values),
    OpenApiParameter("createdAfter", str),
    OpenApiParameter("createdBefore", str),
    OpenApiParameter(
        "ordering",
        str,
        enum=["createdAt", "-createdAt", "completedAt", "-completedAt", "confidence", "-confidence"],
    ),
]


class InsightListApi(OrgScopedApi):
    """GET, POST /api/v1/organizations/{orgId}/insights: POST queues a manual analysis (202)."""

    @extend_schema(parameters=LIST_PARAMETERS, responses=InsightListOut, tags=["statux"])
    def get(self, request: Request, org_id: str) -> Response:
        paginator = StatuxPagination()
        analyses = selectors.analysis_list(organization=request.organization, filters=request.query_params)
        page = paginator.paginate_queryset(analyses, request, self)
        return paginator.get_paginated_response(InsightOut(page, many=True).data)

    @extend_schema(request=InsightCreateIn, responses={202: InsightOut}, tags=["statux"])
    def post(self, request: Request, org_id: str) -> Response:
        incoming = InsightCreateIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        incident = selectors.incident_get(
            organization=request.organization, incident_id=incoming.validated_data["incidentId"]
        )
        analysis, _ = services.analysis_request(
            incident=incident, trigger=AnalysisTrigger.MANUAL, requested_by=Actor.from_request(request).label
        )
        analysis.refresh_from_db()  # with tasks in-process it may have finished already
        return Response(InsightOut(analysis).data, status=status.HTTP_202_ACCEPTED)


class InsightStatsApi(OrgScopedApi):
    """GET /api/v1/organizations/{orgId}/insights/stats"""

    @extend_schema(responses=InsightStatsOut, tags=["statux"])
    def get(self, request: Request, org_id: str) -> Response:
        return Response(InsightStatsOut(selectors.analysis_stats(organization=request.organization)).data)


class InsightDetailApi(OrgScopedApi):
    """GET /api/v1/organizations/{orgId}/insights/{insightId}"""

    @extend_schema(responses=InsightOut, tags=["statux"])
    def get(self, request: Request, org_id: str, insight_id: str) -> Response:
        analysis = selectors.analysis_get(organization=request.organization, analysis_id=insight_id)
        return Response(InsightOut(analysis).data)


class InsightEventListApi(OrgScopedApi):
    """GET /api/v1/organizations/{orgId}/insights/{insightId}/events: the analysis's audit trail."""

    @extend_schema(responses=InsightEventListOut, tags=["statux"])
    def get(self, request: Request, org_id: str, insight_id: str) -> Response:
        analysis = selectors.analysis_get(organization=request.organization, analysis_id=insight_id)
        events = list(selectors.analysis_events(analysis=analysis))
        return Response(
            {
                "insightId": analysis.pk,
                "events": InsightEventOut(events, many=True).data,
                "count": len(events),
            }
        )
