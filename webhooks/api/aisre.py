"""AI-SRE API (spec 002): POST /webhook (any source, X-Source picks the normalizer), the dead letter."""

from __future__ import annotations

import json

from drf_spectacular.utils import OpenApiParameter, OpenApiTypes, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import BaseParser
from rest_framework.request import Request
from rest_framework.response import Response

from statux.api.base import AisreApi
from statux.audit import Actor
from webhooks import selectors
from webhooks.api.common import PayloadRejected, read_body
from webhooks.models import InboundChannel
from webhooks.normalizers.base import InvalidPayload
from webhooks.services import deploy_event_record, inbound_event_receive


class RawBodyParser(BaseParser):
    """Ingestion reads the raw body itself (size limit, signature, store-first); DRF must not parse it."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        return {}


class AisreAlertOutcomeOut(serializers.Serializer):
    incident_id = serializers.CharField(allow_null=True)
    deduplicated = serializers.BooleanField()
    dedup_strategy = serializers.CharField(allow_null=True)
    group_id = serializers.CharField(allow_null=True)
    resolved = serializers.BooleanField()


class AisreWebhookOut(serializers.Serializer):
    ok = serializers.BooleanField()
    incident_id = serializers.CharField(allow_null=True)
    deduplicated = serializers.BooleanField()
    dedup_strategy = serializers.CharField(allow_null=True)
    group_id = serializers.CharField(allow_null=True)
    alerts_received = serializers.IntegerField()
    incidents = AisreAlertOutcomeOut(many=True)
    queued = serializers.BooleanField()
    event_id = serializers.CharField()


# The answer is built from plain values already of the documented types; a serializer instance per
# request cost about 0.5 ms (DRF deep-copies its fields). AisreWebhookOut still documents it, and a test
# holds the two equal.
OUTCOME_FIELDS = tuple(AisreAlertOutcomeOut().fields)


def webhook_answer(event, result) -> tuple[dict, int]:
    outcomes = [
        {name: outcome.get(name) for name in OUTCOME_FIELDS} for outcome in (result or {}).get("alerts", [])
    ]
    first = outcomes[0] if outcomes else {}
    body = {
        "ok": True,
        "incident_id": first.get("incident_id"),
        "deduplicated": first.get("deduplicated", False),
        "dedup_strategy": first.get("dedup_strategy"),
        "group_id": first.get("group_id"),
        "alerts_received": len(outcomes),
        "incidents": outcomes,
        "queued": result is None,
        "event_id": str(event.pk),
    }
    return body, status.HTTP_202_ACCEPTED if result is None else status.HTTP_200_OK


class AisreWebhookApi(AisreApi):
    """POST /webhook: store the alert, normalize it by X-Source, dedup and group it."""

    parser_classes = [RawBodyParser]
    required_permission = "ingest"
    channel = InboundChannel.AISRE_WEBHOOK

    def source(self, request: Request) -> str:
        return (request.headers.get("X-Source") or "webhook").strip().lower()

    @extend_schema(
        request={"application/json": OpenApiTypes.OBJECT},
        parameters=[
            OpenApiParameter(
                "X-Source",
                str,
                OpenApiParameter.HEADER,
                description="webhook (default), alertmanager, prometheus, pagerduty, opsgenie, "
                "datadog, grafana, newrelic, synthetics",
            ),
            OpenApiParameter("X-Workspace-Id", str, OpenApiParameter.HEADER),
        ],
        responses={200: AisreWebhookOut, 202: AisreWebhookOut},
        tags=["aisre"],
    )
    def post(self, request: Request) -> Response:
        body = read_body(request)
        try:
            event, result = inbound_event_receive(
                organization=request.organization,
                channel=self.channel,
                source=self.source(request),
                body=body,
            )
        except InvalidPayload as exc:
            raise PayloadRejected(exc, invalid_status=self.invalid_input_status) from None
        answer, code = webhook_answer(event, result)
        return Response(answer, status=code)


class AisreDeadLetterEntryOut(serializers.Serializer):
    id = serializers.CharField()
    payload = serializers.JSONField()
    source = serializers.CharField()
    channel = serializers.CharField()
    error = serializers.CharField()
    attempts = serializers.IntegerField()
    timestamp = serializers.DateTimeField(source="dead_lettered_at")
    received_at = serializers.DateTimeField(source="created_at")


class AisreDeadLetterOut(serializers.Serializer):
    entries = AisreDeadLetterEntryOut(many=True)
    count = serializers.IntegerField()


class AisreDeadLetterIn(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=1000, default=100)


def stored_payload(body: str):
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return body


class AisreDeadLetterApi(AisreApi):
    """GET /webhook/dead-letter: alerts that could not be processed, newest first."""

    @extend_schema(parameters=[OpenApiParameter("limit", int)], responses=AisreDeadLetterOut, tags=["aisre"])
    def get(self, request: Request) -> Response:
        incoming = AisreDeadLetterIn(data=request.query_params)
        incoming.is_valid(raise_exception=True)
        entries = list(
            selectors.dead_letter_list(organization=request.organization)[: incoming.validated_data["limit"]]
        )
        for entry in entries:
            entry.payload = stored_payload(entry.body)
        return Response(AisreDeadLetterOut({"entries": entries, "count": len(entries)}).data)


class AisrePagerDutyOut(serializers.Serializer):
    ok = serializers.BooleanField()
    event_type = serializers.CharField()
    pd_incident_id = serializers.CharField()
    local_incident_id = serializers.CharField(allow_null=True)
    action_taken = serializers.CharField()
    queued = serializers.BooleanField()


class AisrePagerDutyWebhookApi(AisreApi):
    """POST /webhook/pagerduty: PagerDuty v3 events create or update the linked local incident."""

    parser_classes = [RawBodyParser]
    required_permission = "ingest"

    @extend_schema(
        request={"application/json": OpenApiTypes.OBJECT},
        responses={200: AisrePagerDutyOut, 202: AisrePagerDutyOut},
        tags=["aisre"],
    )
    def post(self, request: Request) -> Response:
        body = read_body(request)
        try:
            event, result = inbound_event_receive(
                organization=request.organization,
                channel=InboundChannel.PAGERDUTY,
                source="pagerduty",
                body=body,
            )
        except InvalidPayload as exc:
            raise PayloadRejected(exc, invalid_status=self.invalid_input_status) from None
        if result is None:
            answer = {
                "ok": True,
                "event_type": "",
                "pd_incident_id": "",
                "local_incident_id": None,
                "action_taken": "queued",
                "queued": True,
            }
            return Response(AisrePagerDutyOut(answer).data, status=status.HTTP_202_ACCEPTED)
        return Response(AisrePagerDutyOut({"ok": True, "queued": False, **result}).data)


class AisreDeployIn(serializers.Serializer):
    service = serializers.CharField(max_length=200)
    namespace = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    environment = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    image = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    actor = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    commit_sha = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    timestamp = serializers.DateTimeField(required=False, allow_null=True, default=None)


class AisreDeployOut(serializers.Serializer):
    deploy_id = serializers.CharField(source="id")
    service = serializers.CharField()
    namespace = serializers.CharField()
    environment = serializers.CharField()
    image = serializers.CharField()
    actor = serializers.CharField()
    commit_sha = serializers.CharField()
    timestamp = serializers.DateTimeField(source="deployed_at")


class AisreDeployCreatedOut(serializers.Serializer):
    ok = serializers.BooleanField()
    deploy_id = serializers.CharField()
    stored = AisreDeployOut()


class AisreDeployWebhookApi(AisreApi):
    """POST /webhook/deploy: CI/CD reports a deploy; incidents look for one shortly before they began."""

    required_permission = "ingest"

    @extend_schema(request=AisreDeployIn, responses=AisreDeployCreatedOut, tags=["aisre"])
    def post(self, request: Request) -> Response:
        incoming = AisreDeployIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        deploy = deploy_event_record(
            organization=request.organization,
            service=data["service"],
            namespace=data["namespace"],
            environment=data["environment"],
            image=data["image"],
            actor_name=data["actor"],
            commit_sha=data["commit_sha"],
            deployed_at=data["timestamp"],
            actor=Actor.from_request(request),
        )
        return Response(AisreDeployCreatedOut({"ok": True, "deploy_id": deploy.pk, "stored": deploy}).data)


class AisreDeployRecentIn(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=500, default=20)
    service = serializers.CharField(max_length=200, required=False, default="")


class AisreDeployRecentOut(serializers.Serializer):
    deploys = AisreDeployOut(many=True)
    count = serializers.IntegerField()


class AisreDeployRecentApi(AisreApi):
    """GET /webhook/deploy/recent?limit=&service=: newest first."""

    @extend_schema(
        parameters=[OpenApiParameter("limit", int), OpenApiParameter("service", str)],
        responses=AisreDeployRecentOut,
        tags=["aisre"],
    )
    def get(self, request: Request) -> Response:
        incoming = AisreDeployRecentIn(data=request.query_params)
        incoming.is_valid(raise_exception=True)
        deploys = selectors.deploy_recent(
            organization=request.organization, service=incoming.validated_data["service"]
        )
        page = list(deploys[: incoming.validated_data["limit"]])
        return Response(AisreDeployRecentOut({"deploys": page, "count": len(page)}).data)
