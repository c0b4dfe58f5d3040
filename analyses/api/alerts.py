"""Incidents API (spec 003): /api/alerts/incidents… — camelCase with `_id`."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from analyses import selectors, services
from analyses.models import Incident, IncidentStatus
from statux.api.base import OrgScopedApi
from statux.audit import Actor


class AlertsNoteOut(serializers.Serializer):
    userId = serializers.UUIDField(source="user_id", allow_null=True)
    userEmail = serializers.CharField(source="author")
    content = serializers.CharField()
    createdAt = serializers.DateTimeField(source="created_at")


class AlertsStatusChangeOut(serializers.Serializer):
    status = serializers.CharField()
    changedBy = serializers.CharField()
    changedAt = serializers.DateTimeField()


class AlertsIncidentOut(serializers.Serializer):
    _id = serializers.CharField(source="id")
    ruleId = serializers.CharField(source="rule_id")
    ruleName = serializers.CharField(source="rule_name")
    metric = serializers.CharField()
    threshold = serializers.FloatField(allow_null=True)
    actualValue = serializers.FloatField(source="actual_value", allow_null=True)
    severity = serializers.CharField()
    status = serializers.CharField()
    title = serializers.CharField()
    service = serializers.CharField()
    source = serializers.CharField()
    alertCount = serializers.IntegerField(source="alert_count")
    notes = AlertsNoteOut(many=True, source="notes.all")
    statusHistory = serializers.SerializerMethodField()
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")

    @extend_schema_field(AlertsStatusChangeOut(many=True))
    def get_statusHistory(self, incident: Incident) -> list[dict]:  # noqa: N802 - the wire name
        return AlertsStatusChangeOut(selectors.status_history(incident), many=True).data


class AlertsIncidentListOut(serializers.Serializer):
    incidents = AlertsIncidentOut(many=True)
    openCount = serializers.IntegerField()
    total = serializers.IntegerField()


class AlertsIncidentEnvelopeOut(serializers.Serializer):
    incident = AlertsIncidentOut()


class AlertsIncidentListIn(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=500, default=50)
    skip = serializers.IntegerField(min_value=0, max_value=1_000_000, default=0)


class AlertsIncidentListApi(OrgScopedApi):
    """GET /api/alerts/incidents"""

    @extend_schema(
        parameters=[
            OpenApiParameter("ruleId", str),
            OpenApiParameter("status", str, enum=IncidentStatus.values),
            OpenApiParameter("severity", str, enum=["critical", "high", "warning", "info"]),
            OpenApiParameter("limit", int),
            OpenApiParameter("skip", int),
        ],
        responses=AlertsIncidentListOut,
        tags=["alerts"],
    )
    def get(self, request: Request) -> Response:
        paging = AlertsIncidentListIn(data=request.query_params)
        paging.is_valid(raise_exception=True)
        limit, skip = paging.validated_data["limit"], paging.validated_data["skip"]
        incidents = selectors.incident_list_alerts(
            organization=request.organization, filters=request.query_params
        )
        body = {
            "incidents": list(incidents[skip : skip + limit]),
            "total": incidents.count(),
            "openCount": selectors.incident_open_count(organization=request.organization),
        }
        return Response(AlertsIncidentListOut(body).data)


class AlertsIncidentUpdateIn(serializers.Serializer):
    status = serializers.ChoiceField(choices=IncidentStatus.choices)


class AlertsIncidentDetailApi(OrgScopedApi):
    """GET, PATCH /api/alerts/incidents/{incidentId}"""

    @extend_schema(responses=AlertsIncidentEnvelopeOut, tags=["alerts"])
    def get(self, request: Request, incident_id: str) -> Response:
        incident = selectors.incident_get(
            organization=request.organization, incident_id=incident_id, history=True
        )
        return Response(AlertsIncidentEnvelopeOut({"incident": incident}).data)

    @extend_schema(request=AlertsIncidentUpdateIn, responses=AlertsIncidentEnvelopeOut, tags=["alerts"])
    def patch(self, request: Request, incident_id: str) -> Response:
        incident = selectors.incident_get(organization=request.organization, incident_id=incident_id)
        incoming = AlertsIncidentUpdateIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        services.incident_change_status(
            incident=incident, status=incoming.validated_data["status"], actor=Actor.from_request(request)
        )
        incident = selectors.incident_get(
            organization=request.organization, incident_id=incident_id, history=True
        )
        return Response(AlertsIncidentEnvelopeOut({"incident": incident}).data)


class AlertsNoteCreateIn(serializers.Serializer):
    content = serializers.CharField(max_length=20_000)  # blank and whitespace-only are refused


class AlertsIncidentNoteCreateApi(OrgScopedApi):
    """POST /api/alerts/incidents/{incidentId}/notes: answers the updated incident."""

    @extend_schema(request=AlertsNoteCreateIn, responses={201: AlertsIncidentEnvelopeOut}, tags=["alerts"])
    def post(self, request: Request, incident_id: str) -> Response:
        incident = selectors.incident_get(organization=request.organization, incident_id=incident_id)
        incoming = AlertsNoteCreateIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        services.incident_add_note(
            incident=incident, content=incoming.validated_data["content"], actor=Actor.from_request(request)
        )
        incident = selectors.incident_get(
            organization=request.organization, incident_id=incident_id, history=True
        )
        return Response(
            AlertsIncidentEnvelopeOut({"incident": incident}).data, status=status.HTTP_201_CREATED
        )
