"""AIops Engine API (spec 001): the Alertmanager webhook that records anomalies."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import OpenApiTypes, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from statux.api.base import OrgScopedApi
from statux.models import Organization
from statux.tenancy import Access
from webhooks.api.aisre import RawBodyParser
from webhooks.api.common import PayloadRejected, read_body
from webhooks.models import InboundChannel
from webhooks.normalizers.base import InvalidPayload
from webhooks.services import inbound_event_receive


class AiopsAlertWebhookOut(serializers.Serializer):
    status = serializers.CharField()
    rca_triggered = serializers.BooleanField()
    anomaly_id = serializers.CharField(allow_null=True)


class AiopsAlertWebhookApi(OrgScopedApi):
    """POST /api/v1/alerts/webhook (Alertmanager format): an API key, or keyless for the default tenant."""

    parser_classes = [RawBodyParser]
    required_permission = "ingest"

    def anonymous_access(self, request: Request) -> Access:
        slug = settings.ALERTMANAGER_DEFAULT_TENANT
        organization = Organization.objects.filter(slug=slug).first() if slug else None
        if organization is None:
            raise NotAuthenticated("Send an API key (bearer, X-API-Key or ?api_key=).")
        return Access(organization, "ingestion", 0, ("ingest",))

    @extend_schema(
        request={"application/json": OpenApiTypes.OBJECT}, responses=AiopsAlertWebhookOut, tags=["aiops"]
    )
    def post(self, request: Request) -> Response:
        body = read_body(request)
        try:
            _, result = inbound_event_receive(
                organization=request.organization,
                channel=InboundChannel.AIOPS_ALERTS,
                source="alertmanager",
                body=body,
            )
        except InvalidPayload as exc:
            raise PayloadRejected(exc, invalid_status=400) from None
        anomalies = [
            item["anomaly_id"] for item in (result or {}).get("alerts", []) if item.get("anomaly_id")
        ]
        answer = {
            "status": "ok" if result is not None else "queued",
            "rca_triggered": bool(anomalies),
            "anomaly_id": anomalies[0] if anomalies else None,
        }
        return Response(AiopsAlertWebhookOut(answer).data)
