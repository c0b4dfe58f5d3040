"""AI-SRE API (spec 002): incidents, timeline, group, metrics, actions. snake_case, `state` for status."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from analyses import selectors
from analyses.models import IncidentStatus
from statux.api.base import AisreApi
from webhooks.selectors import deploy_correlation


class AisreIncidentOut(serializers.Serializer):
    id = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField()
    severity = serializers.CharField()
    source = serializers.CharField()
    state = serializers.CharField(source="status")
    service = serializers.CharField()
    namespace = serializers.CharField()
    pod = serializers.CharField()
    deployment = serializers.CharField()
    alert_count = serializers.IntegerField()
    parent_id = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    last_seen_at = serializers.DateTimeField()
    resolved_at = serializers.DateTimeField(allow_null=True)
    workspace_id = serializers.CharField(source="organization.slug")


class AisreIncidentListOut(serializers.Serializer):
    incidents = AisreIncidentOut(many=True)
    count = serializers.IntegerField()


class AisreIncidentListIn(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=100, default=20)


class AisreIncidentListApi(AisreApi):
    """GET /incidents"""

    @extend_schema(
        parameters=[
            OpenApiParameter("limit", int),
            OpenApiParameter("state", str, enum=IncidentStatus.values),
            OpenApiParameter("workspace_id", str),
        ],
        responses=AisreIncidentListOut,
        tags=["aisre"],
    )
    def get(self, request: Request) -> Response:
        paging = AisreIncidentListIn(data=request.query_params)
        paging.is_valid(raise_exception=True)
        incidents = selectors.incident_list_aisre(
            organization=request.organization, filters=request.query_params
        )
        page = list(incidents.select_related("organization")[: paging.validated_data["limit"]])
        return Response(AisreIncidentListOut({"incidents": page, "count": len(page)}).data)


class AisreMetricsSummaryOut(serializers.Serializer):
    time_to_first_response_minutes = serializers.FloatField(allow_null=True)
    resolution_time_minutes = serializers.FloatField(allow_null=True)
    actions_taken = serializers.IntegerField()


class AisreActionOut(serializers.Serializer):
    action = serializers.CharField()
    outcome = serializers.CharField()
    dry_run = serializers.BooleanField()
    namespace = serializers.CharField()
    created_at = serializers.DateTimeField()


class AisreIncidentDetailOut(serializers.Serializer):
    incident = AisreIncidentOut()
    metrics = AisreMetricsSummaryOut()
    actions = AisreActionOut(many=True)


class AisreIncidentDetailApi(AisreApi):
    """GET /incidents/{incident_id}"""

    @extend_schema(responses=AisreIncidentDetailOut, tags=["aisre"])
    def get(self, request: Request, incident_id: str) -> Response:
        incident = selectors.incident_get(organization=request.organization, incident_id=incident_id)
        body = {"incident": incident, "metrics": selectors.incident_metrics(incident=incident), "actions": []}
        return Response(AisreIncidentDetailOut(body).data)


class AisreTimelineEventOut(serializers.Serializer):
    event_type = serializers.CharField()
    actor = serializers.CharField()
    payload = serializers.DictField()
    created_at = serializers.DateTimeField()


class AisreTimelineOut(serializers.Serializer):
    incident_id = serializers.CharField()
    events = AisreTimelineEventOut(many=True)
    count = serializers.IntegerField()


class AisreIncidentTimelineApi(AisreApi):
    """GET /incidents/{incident_id}/timeline: every alert, state change and note, oldest first."""

    @extend_schema(responses=AisreTimelineOut, tags=["aisre"])
    def get(self, request: Request, incident_id: str) -> Response:
        incident = selectors.incident_get(organization=request.organization, incident_id=incident_id)
        events = list(selectors.incident_timeline(incident=incident))
        return Response(
            AisreTimelineOut({"incident_id": incident.pk, "events": events, "count": len(events)}).data
        )


class AisreGroupChildOut(serializers.Serializer):
    incident_id = serializers.CharField(source="id")
    correlation_reason = serializers.CharField()


class AisreGroupOut(serializers.Serializer):
    incident_id = serializers.CharField()
    parent_id = serializers.CharField(allow_null=True)
    correlation_reason = serializers.CharField(allow_null=True)
    children = AisreGroupChildOut(many=True)
    is_parent = serializers.BooleanField()


class AisreIncidentGroupApi(AisreApi):
    """GET /incidents/{incident_id}/group"""

    @extend_schema(responses=AisreGroupOut, tags=["aisre"])
    def get(self, request: Request, incident_id: str) -> Response:
        incident = selectors.incident_get(organization=request.organization, incident_id=incident_id)
        children = list(selectors.incident_children(incident=incident))
        body = {
            "incident_id": incident.pk,
            "parent_id": incident.parent_id,
            "correlation_reason": incident.correlation_reason or None,
            "children": children,
            "is_parent": bool(children),
        }
        return Response(AisreGroupOut(body).data)


class AisreMetricPointOut(serializers.Serializer):
    metric_name = serializers.CharField()
    value = serializers.FloatField()
    created_at = serializers.DateTimeField()


class AisreIncidentMetricsOut(serializers.Serializer):
    incident_id = serializers.CharField()
    summary = AisreMetricsSummaryOut()
    timeline = AisreMetricPointOut(many=True)


class AisreIncidentMetricsApi(AisreApi):
    """GET /incidents/{incident_id}/metrics"""

    @extend_schema(responses=AisreIncidentMetricsOut, tags=["aisre"])
    def get(self, request: Request, incident_id: str) -> Response:
        incident = selectors.incident_get(organization=request.organization, incident_id=incident_id)
        metrics = selectors.incident_metrics(incident=incident)
        points = []
        if metrics.first_response_at is not None:
            points.append(
                {
                    "metric_name": "time_to_first_response_minutes",
                    "value": metrics.time_to_first_response_minutes,
                    "created_at": metrics.first_response_at,
                }
            )
        if incident.resolved_at is not None:
            points.append(
                {
                    "metric_name": "resolution_time_minutes",
                    "value": metrics.resolution_time_minutes,
                    "created_at": incident.resolved_at,
                }
            )
        body = {"incident_id": incident.pk, "summary": metrics, "timeline": points}
        return Response(AisreIncidentMetricsOut(body).data)


class AisreActionListOut(serializers.Serializer):
    incident_id = serializers.CharField()
    actions = AisreActionOut(many=True)
    count = serializers.IntegerField()


class AisreIncidentActionsApi(AisreApi):
    """GET /incidents/{incident_id}/actions: remediation actions on this incident."""

    @extend_schema(responses=AisreActionListOut, tags=["aisre"])
    def get(self, request: Request, incident_id: str) -> Response:
        incident = selectors.incident_get(organization=request.organization, incident_id=incident_id)
        return Response(AisreActionListOut({"incident_id": incident.pk, "actions": [], "count": 0}).data)


class AisreCorrelatedDeployOut(serializers.Serializer):
    deploy_id = serializers.CharField(source="deploy.id")
    service = serializers.CharField(source="deploy.service")
    actor = serializers.CharField(source="deploy.actor")
    image = serializers.CharField(source="deploy.image")
    minutes_before_incident = serializers.FloatField()


class AisreDeployCorrelationOut(serializers.Serializer):
    incident_id = serializers.CharField()
    has_correlation = serializers.BooleanField()
    correlated_deploy = AisreCorrelatedDeployOut(allow_null=True)
    lookback_minutes = serializers.IntegerField()
    message = serializers.CharField()


class AisreDeployCorrelationIn(serializers.Serializer):
    lookback_minutes = serializers.IntegerField(min_value=1, max_value=7 * 24 * 60, default=30)


class AisreIncidentDeployCorrelationApi(AisreApi):
    """GET /incidents/{incident_id}/deploy-correlation?lookback_minutes=30"""

    @extend_schema(
        parameters=[OpenApiParameter("lookback_minutes", int)],
        responses=AisreDeployCorrelationOut,
        tags=["aisre"],
    )
    def get(self, request: Request, incident_id: str) -> Response:
        incoming = AisreDeployCorrelationIn(data=request.query_params)
        incoming.is_valid(raise_exception=True)
        incident = selectors.incident_get(organization=request.organization, incident_id=incident_id)
        found = deploy_correlation(
            incident=incident, lookback_minutes=incoming.validated_data["lookback_minutes"]
        )
        body = {
            "incident_id": incident.pk,
            "has_correlation": found.deploy is not None,
            "correlated_deploy": found if found.deploy is not None else None,
            "lookback_minutes": found.lookback_minutes,
            "message": found.message,
        }
        return Response(AisreDeployCorrelationOut(body).data)


class AisreNoisyIncidentOut(serializers.Serializer):
    id = serializers.CharField()
    title = serializers.CharField()
    severity = serializers.CharField()
    state = serializers.CharField(source="status")
    service = serializers.CharField()
    alert_count = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    resolved_at = serializers.DateTimeField(allow_null=True)


class AisreNoisyOut(serializers.Serializer):
    noisy_incidents = AisreNoisyIncidentOut(many=True)
    count = serializers.IntegerField()
    max_duration_minutes = serializers.FloatField()
    note = serializers.CharField()


class AisreNoisyIn(serializers.Serializer):
    max_duration_minutes = serializers.FloatField(min_value=0.1, max_value=1440, default=5.0)
    limit = serializers.IntegerField(min_value=1, max_value=500, default=20)


class AisreNoisyIncidentsApi(AisreApi):
    """GET /incidents/noisy: incidents that resolved quickly with nobody acting on them."""

    @extend_schema(
        parameters=[OpenApiParameter("max_duration_minutes", float), OpenApiParameter("limit", int)],
        responses=AisreNoisyOut,
        tags=["aisre"],
    )
    def get(self, request: Request) -> Response:
        incoming = AisreNoisyIn(data=request.query_params)
        incoming.is_valid(raise_exception=True)
        limit, minutes = incoming.validated_data["limit"], incoming.validated_data["max_duration_minutes"]
        noisy = list(
            selectors.incident_list_noisy(organization=request.organization, max_minutes=minutes)[:limit]
        )
        body = {
            "noisy_incidents": noisy,
            "count": len(noisy),
            "max_duration_minutes": minutes,
            "note": "These incidents resolved with no actions -- review alert thresholds.",
        }
        return Response(AisreNoisyOut(body).data)


class AisreActivityItemOut(serializers.Serializer):
    action = serializers.CharField(source="event_type")
    incident_id = serializers.CharField()
    actor = serializers.CharField()
    outcome = serializers.CharField(default="success")
    payload = serializers.DictField()
    created_at = serializers.DateTimeField()


class AisreActivityOut(serializers.Serializer):
    activity = AisreActivityItemOut(many=True)
    count = serializers.IntegerField()


class AisreActivityIn(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=500, default=50)


class AisreActivityApi(AisreApi):
    """GET /activity: what people and automation did lately (status changes, notes, resolutions)."""

    @extend_schema(parameters=[OpenApiParameter("limit", int)], responses=AisreActivityOut, tags=["aisre"])
    def get(self, request: Request) -> Response:
        incoming = AisreActivityIn(data=request.query_params)
        incoming.is_valid(raise_exception=True)
        items = list(
            selectors.activity_list(organization=request.organization)[: incoming.validated_data["limit"]]
        )
        return Response(AisreActivityOut({"activity": items, "count": len(items)}).data)
