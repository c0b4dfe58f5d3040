"""Statux Insights API (spec 000): webhook configs and the keyed ingest endpoint. camelCase."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, OpenApiTypes, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from statux.api.base import OrgScopedApi, PublicApi
from statux.audit import Actor
from statux.errors import Forbidden, StatuxError
from webhooks import selectors, services
from webhooks.api.aisre import RawBodyParser
from webhooks.api.common import PayloadRejected, read_body
from webhooks.models import InboundChannel, SourceProduct
from webhooks.normalizers.base import InvalidPayload


class StatuxWebhookConfigOut(serializers.Serializer):
    id = serializers.UUIDField()
    organizationId = serializers.UUIDField(source="organization_id")
    name = serializers.CharField()
    sourceProduct = serializers.CharField(source="source_product")
    normalizer = serializers.CharField()
    keyPrefix = serializers.CharField(source="key_prefix")
    hasSecret = serializers.SerializerMethodField()
    enabled = serializers.BooleanField()
    lastReceivedAt = serializers.DateTimeField(source="last_received_at", allow_null=True)
    receivedCount = serializers.IntegerField(source="received_count")
    rejectedCount = serializers.IntegerField(source="rejected_count")
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")

    def get_hasSecret(self, config) -> bool:  # noqa: N802 - the wire name
        return bool(config.secret)


class StatuxWebhookConfigWithKeyOut(StatuxWebhookConfigOut):
    apiKey = serializers.CharField(source="api_key")
    ingestUrl = serializers.SerializerMethodField()

    def get_ingestUrl(self, config) -> str:  # noqa: N802 - the wire name
        return f"{settings.SITE_URL}/api/v1/webhooks/ingest/{config.api_key}"


class StatuxWebhookConfigCreateIn(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    sourceProduct = serializers.ChoiceField(
        source="source_product", choices=SourceProduct.choices, default=SourceProduct.ALERTING
    )
    normalizer = serializers.CharField(max_length=64, default="webhook")
    secret = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default="", trim_whitespace=False
    )
    enabled = serializers.BooleanField(default=True)


class StatuxWebhookConfigUpdateIn(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    sourceProduct = serializers.ChoiceField(
        source="source_product", choices=SourceProduct.choices, required=False
    )
    normalizer = serializers.CharField(max_length=64, required=False)
    secret = serializers.CharField(max_length=200, required=False, allow_blank=True, trim_whitespace=False)
    enabled = serializers.BooleanField(required=False)


class StatuxWebhookConfigListOut(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.CharField(allow_null=True)
    previous = serializers.CharField(allow_null=True)
    results = StatuxWebhookConfigOut(many=True)


class StatuxWebhookConfigListApi(OrgScopedApi):
    """GET, POST /api/v1/organizations/{orgId}/webhook-configs: the key is in the POST answer only."""

    @extend_schema(responses=StatuxWebhookConfigListOut, tags=["statux"])
    def get(self, request: Request, org_id: str) -> Response:
        from statux.api.base import StatuxPagination

        paginator = StatuxPagination()
        configs = selectors.webhook_config_list(organization=request.organization)
        page = paginator.paginate_queryset(configs, request, self)
        return paginator.get_paginated_response(StatuxWebhookConfigOut(page, many=True).data)

    @extend_schema(
        request=StatuxWebhookConfigCreateIn, responses={201: StatuxWebhookConfigWithKeyOut}, tags=["statux"]
    )
    def post(self, request: Request, org_id: str) -> Response:
        incoming = StatuxWebhookConfigCreateIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        config, raw = services.webhook_config_create(
            organization=request.organization, actor=Actor.from_request(request), **incoming.validated_data
        )
        config.api_key = raw
        return Response(StatuxWebhookConfigWithKeyOut(config).data, status=status.HTTP_201_CREATED)


class StatuxWebhookConfigDetailApi(OrgScopedApi):
    """GET, PATCH, DELETE /api/v1/organizations/{orgId}/webhook-configs/{configId}"""

    @extend_schema(responses=StatuxWebhookConfigOut, tags=["statux"])
    def get(self, request: Request, org_id: str, config_id: str) -> Response:
        config = selectors.webhook_config_get(organization=request.organization, config_id=config_id)
        return Response(StatuxWebhookConfigOut(config).data)

    @extend_schema(request=StatuxWebhookConfigUpdateIn, responses=StatuxWebhookConfigOut, tags=["statux"])
    def patch(self, request: Request, org_id: str, config_id: str) -> Response:
        config = selectors.webhook_config_get(organization=request.organization, config_id=config_id)
        incoming = StatuxWebhookConfigUpdateIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        config = services.webhook_config_update(
            config=config, actor=Actor.from_request(request), **incoming.validated_data
        )
        return Response(StatuxWebhookConfigOut(config).data)

    @extend_schema(responses={204: None}, tags=["statux"])
    def delete(self, request: Request, org_id: str, config_id: str) -> Response:
        config = selectors.webhook_config_get(organization=request.organization, config_id=config_id)
        services.webhook_config_delete(config=config, actor=Actor.from_request(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class StatuxWebhookConfigRegenerateKeyApi(OrgScopedApi):
    """POST /api/v1/organizations/{orgId}/webhook-configs/{configId}/regenerate-key: the old key stops now."""

    @extend_schema(request=None, responses=StatuxWebhookConfigWithKeyOut, tags=["statux"])
    def post(self, request: Request, org_id: str, config_id: str) -> Response:
        config = selectors.webhook_config_get(organization=request.organization, config_id=config_id)
        config, raw = services.webhook_config_regenerate_key(config=config, actor=Actor.from_request(request))
        config.api_key = raw
        return Response(StatuxWebhookConfigWithKeyOut(config).data)


class StatuxIngestOutcomeOut(serializers.Serializer):
    incidentId = serializers.CharField(source="incident_id", allow_null=True)
    deduplicated = serializers.BooleanField()
    dedupStrategy = serializers.CharField(source="dedup_strategy", allow_null=True)
    groupId = serializers.CharField(source="group_id", allow_null=True)
    resolved = serializers.BooleanField()


class StatuxIngestOut(serializers.Serializer):
    accepted = serializers.BooleanField()
    eventId = serializers.CharField()
    status = serializers.ChoiceField(choices=["processed", "queued"])
    incidents = StatuxIngestOutcomeOut(many=True)


class InvalidIngestKey(StatuxError):
    status, code = 401, "invalid_api_key"


class StatuxWebhookIngestApi(PublicApi):
    """POST /api/v1/webhooks/ingest/{apiKey}: public, the `ins_…` key in the path is the credential."""

    parser_classes = [RawBodyParser]

    @extend_schema(
        request={"application/json": OpenApiTypes.OBJECT},
        parameters=[
            OpenApiParameter("x-webhook-signature", str, OpenApiParameter.HEADER),
            OpenApiParameter("x-webhook-timestamp", str, OpenApiParameter.HEADER),
        ],
        responses={202: StatuxIngestOut},
        tags=["statux"],
    )
    def post(self, request: Request, api_key: str) -> Response:
        config = selectors.webhook_config_by_key(raw_key=api_key)
        if config is None:
            raise InvalidIngestKey("Unknown ingest key.")
        if not config.enabled:
            raise Forbidden("This webhook config is disabled.")
        body = read_body(request)
        try:
            services.webhook_config_verify_signature(
                config=config,
                body=body,
                signature=request.headers.get("x-webhook-signature", ""),
                timestamp=request.headers.get("x-webhook-timestamp", ""),
            )
        except services.SignatureRejected:
            services.webhook_config_record_receipt(config=config, accepted=False)
            raise
        services.webhook_config_record_receipt(config=config, accepted=True)
        try:
            event, result = services.inbound_event_receive(
                organization=config.organization,
                channel=InboundChannel.STATUX_INGEST,
                source=config.normalizer,
                body=body,
                webhook_config=config,
            )
        except InvalidPayload as exc:
            raise PayloadRejected(exc, invalid_status=400) from None
        answer = {
            "accepted": True,
            "eventId": str(event.pk),
            "status": "queued" if result is None else "processed",
            "incidents": (result or {}).get("alerts", []),
        }
        return Response(StatuxIngestOut(answer).data, status=status.HTTP_202_ACCEPTED)
