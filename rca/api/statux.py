"""Statux Insights API (spec 000): RCA documents, incident links, action items, drafts, export. camelCase."""

from __future__ import annotations

import re

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from analyses.selectors import incident_get
from rca import selectors, services
from rca.markdown import rca_export_markdown
from rca.models import (
    EXTERNAL_PRODUCTS,
    ActionItemPriority,
    ActionItemStatus,
    GenerationStatus,
    IncidentProduct,
    RcaStatus,
    RevisionSource,
)
from statux.api.base import OrgScopedApi, StatuxPagination
from statux.audit import Actor
from statux.errors import StatuxError

TEXT_MAX = 50_000
WIRE_NAMES = {"root_cause": "rootCause"}  # model field -> wire name, where they differ


def _wire(fields: list[str]) -> list[str]:
    return [WIRE_NAMES.get(field, field) for field in fields]


def _list_of(name: str, item: type[serializers.Serializer]) -> type[serializers.Serializer]:
    """The OpenAPI shape of a StatuxPagination page of `item`."""
    return type(
        name,
        (serializers.Serializer,),
        {
            "count": serializers.IntegerField(),
            "next": serializers.CharField(allow_null=True),
            "previous": serializers.CharField(allow_null=True),
            "results": item(many=True),
        },
    )


def _paginated(
    view: OrgScopedApi, request: Request, rows, serializer: type[serializers.Serializer]
) -> Response:
    paginator = StatuxPagination()
    page = paginator.paginate_queryset(rows, request, view)
    return paginator.get_paginated_response(serializer(page, many=True).data)


# --- Serializers ---------------------------------------------------------------------------------------


class StatuxRcaGenerationOut(serializers.Serializer):
    status = serializers.ChoiceField(source="generation_status", choices=GenerationStatus.choices)
    error = serializers.CharField(source="generation_error")
    requestedAt = serializers.DateTimeField(source="generation_requested_at", allow_null=True)
    startedAt = serializers.DateTimeField(source="generation_started_at", allow_null=True)
    completedAt = serializers.DateTimeField(source="generated_at", allow_null=True)
    provider = serializers.CharField(source="generation_provider")
    model = serializers.CharField(source="generation_model")
    inputTokens = serializers.IntegerField(source="generation_input_tokens")
    outputTokens = serializers.IntegerField(source="generation_output_tokens")
    skippedFields = serializers.SerializerMethodField()

    def get_skippedFields(self, rca) -> list[str]:  # noqa: N802 - the wire name
        return _wire(rca.generation_skipped_fields)


class StatuxRcaOut(serializers.Serializer):
    id = serializers.UUIDField()
    organizationId = serializers.UUIDField(source="organization_id")
    title = serializers.CharField()
    status = serializers.ChoiceField(choices=RcaStatus.choices)
    summary = serializers.CharField()
    rootCause = serializers.CharField(source="root_cause")
    impact = serializers.CharField()
    timeline = serializers.CharField()
    createdBy = serializers.CharField(source="created_by_label")
    createdById = serializers.UUIDField(source="created_by_id", allow_null=True)
    publishedAt = serializers.DateTimeField(source="published_at", allow_null=True)
    editedFields = serializers.SerializerMethodField()
    generation = StatuxRcaGenerationOut(source="*")
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")

    def get_editedFields(self, rca) -> list[str]:  # noqa: N802 - the wire name
        return _wire(rca.edited_fields)


class StatuxRcaCreateIn(serializers.Serializer):
    title = serializers.CharField(max_length=300)
    summary = serializers.CharField(max_length=TEXT_MAX, allow_blank=True, default="", trim_whitespace=False)
    rootCause = serializers.CharField(
        source="root_cause", max_length=TEXT_MAX, allow_blank=True, default="", trim_whitespace=False
    )
    impact = serializers.CharField(max_length=TEXT_MAX, allow_blank=True, default="", trim_whitespace=False)
    timeline = serializers.CharField(max_length=TEXT_MAX, allow_blank=True, default="", trim_whitespace=False)


class StatuxRcaUpdateIn(serializers.Serializer):
    title = serializers.CharField(max_length=300, required=False)
    status = serializers.ChoiceField(choices=RcaStatus.choices, required=False)
    summary = serializers.CharField(
        max_length=TEXT_MAX, allow_blank=True, required=False, trim_whitespace=False
    )
    rootCause = serializers.CharField(
        source="root_cause", max_length=TEXT_MAX, allow_blank=True, required=False, trim_whitespace=False
    )
    impact = serializers.CharField(
        max_length=TEXT_MAX, allow_blank=True, required=False, trim_whitespace=False
    )
    timeline = serializers.CharField(
        max_length=TEXT_MAX, allow_blank=True, required=False, trim_whitespace=False
    )


class StatuxRcaStatsActionItemsOut(serializers.Serializer):
    open = serializers.IntegerField()
    inProgress = serializers.IntegerField(source="in_progress")
    done = serializers.IntegerField()
    cancelled = serializers.IntegerField()
    overdue = serializers.IntegerField()


class StatuxRcaStatsMonthOut(serializers.Serializer):
    month = serializers.CharField()  # "2025-03"
    count = serializers.IntegerField()


class StatuxRcaStatsOut(serializers.Serializer):
    total = serializers.IntegerField()
    byStatus = serializers.DictField(source="by_status", child=serializers.IntegerField())
    actionItems = StatuxRcaStatsActionItemsOut(source="action_items")
    meanTimeToPublishHours = serializers.FloatField(source="mean_time_to_publish_hours", allow_null=True)
    perMonth = StatuxRcaStatsMonthOut(source="per_month", many=True)


class StatuxRcaIncidentCandidateOut(serializers.Serializer):
    product = serializers.ChoiceField(choices=IncidentProduct.choices)
    incidentId = serializers.CharField(source="incident_id", allow_null=True)
    externalId = serializers.CharField(source="external_id")
    title = serializers.CharField(allow_blank=True)
    service = serializers.CharField(allow_blank=True)
    severity = serializers.CharField(allow_null=True)
    status = serializers.CharField(allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at", allow_null=True)
    url = serializers.CharField(allow_blank=True)


class StatuxRcaIncidentSummaryOut(serializers.Serializer):
    title = serializers.CharField()
    service = serializers.CharField()
    severity = serializers.CharField()
    status = serializers.CharField()
    createdAt = serializers.DateTimeField(source="created_at")


class StatuxRcaIncidentLinkOut(serializers.Serializer):
    id = serializers.UUIDField()
    rcaId = serializers.UUIDField(source="rca_id")
    product = serializers.ChoiceField(choices=IncidentProduct.choices)
    incidentId = serializers.CharField(source="incident_id", allow_null=True)
    externalId = serializers.CharField(source="external_id")
    title = serializers.CharField()
    url = serializers.CharField()
    incident = StatuxRcaIncidentSummaryOut(allow_null=True)
    linkedBy = serializers.CharField(source="linked_by_label")
    linkedById = serializers.UUIDField(source="linked_by_id", allow_null=True)
    createdAt = serializers.DateTimeField(source="created_at")


class StatuxRcaIncidentLinkIn(serializers.Serializer):
    """A local incident ({"incidentId"}) or another product's ({"product", "externalId", "title", "url"})."""

    incidentId = serializers.CharField(max_length=24, required=False)
    product = serializers.ChoiceField(choices=EXTERNAL_PRODUCTS, required=False)
    externalId = serializers.CharField(source="external_id", max_length=200, required=False)
    title = serializers.CharField(max_length=500, allow_blank=True, default="")
    url = serializers.URLField(max_length=1000, allow_blank=True, default="")

    def validate(self, data: dict) -> dict:
        if "incidentId" in data and ("product" in data or "external_id" in data):
            raise serializers.ValidationError({"incidentId": ["give incidentId, or product and externalId"]})
        if "incidentId" not in data:
            missing = {
                name: ["required"] for name in ("product", "externalId") if name not in self.initial_data
            }
            if missing:
                raise serializers.ValidationError(missing)
        return data


class StatuxRcaUserOut(serializers.Serializer):
    id = serializers.UUIDField()
    email = serializers.EmailField()
    name = serializers.CharField()


class StatuxRcaActionItemOut(serializers.Serializer):
    id = serializers.UUIDField()
    rcaId = serializers.UUIDField(source="rca_id")
    title = serializers.CharField()
    description = serializers.CharField()
    assigneeId = serializers.UUIDField(source="assignee_id", allow_null=True)
    assignee = StatuxRcaUserOut(allow_null=True)
    status = serializers.ChoiceField(choices=ActionItemStatus.choices)
    priority = serializers.ChoiceField(choices=ActionItemPriority.choices)
    dueDate = serializers.DateField(source="due_date", allow_null=True)
    completedAt = serializers.DateTimeField(source="completed_at", allow_null=True)
    createdBy = serializers.CharField(source="created_by_label")
    createdAt = serializers.DateTimeField(source="created_at")
    updatedAt = serializers.DateTimeField(source="updated_at")


class StatuxRcaActionItemIn(serializers.Serializer):
    """POST takes it whole (defaults apply); PATCH partially, so absent fields stay as they are."""

    title = serializers.CharField(max_length=300)
    description = serializers.CharField(max_length=TEXT_MAX, allow_blank=True, default="")
    assigneeId = serializers.UUIDField(source="assignee_id", allow_null=True, default=None)
    status = serializers.ChoiceField(choices=ActionItemStatus.choices, default=ActionItemStatus.OPEN)
    priority = serializers.ChoiceField(choices=ActionItemPriority.choices, default=ActionItemPriority.MEDIUM)
    dueDate = serializers.DateField(source="due_date", allow_null=True, default=None)


class StatuxRcaRevisionOut(serializers.Serializer):
    id = serializers.IntegerField()
    field = serializers.SerializerMethodField()
    previousText = serializers.CharField(source="previous_text")
    newText = serializers.CharField(source="new_text")
    source = serializers.ChoiceField(choices=RevisionSource.choices)
    applied = serializers.BooleanField()
    actor = serializers.CharField()
    createdAt = serializers.DateTimeField(source="created_at")

    def get_field(self, revision) -> str:
        return WIRE_NAMES.get(revision.field, revision.field)


StatuxRcaListOut = _list_of("StatuxRcaListOut", StatuxRcaOut)
StatuxRcaIncidentSearchOut = _list_of("StatuxRcaIncidentSearchOut", StatuxRcaIncidentCandidateOut)
StatuxRcaIncidentLinkListOut = _list_of("StatuxRcaIncidentLinkListOut", StatuxRcaIncidentLinkOut)
StatuxRcaActionItemListOut = _list_of("StatuxRcaActionItemListOut", StatuxRcaActionItemOut)
StatuxRcaRevisionListOut = _list_of("StatuxRcaRevisionListOut", StatuxRcaRevisionOut)

LIST_PARAMETERS = [
    OpenApiParameter("status", str, enum=RcaStatus.values),
    OpenApiParameter("createdBy", str, description="A user id or the creator's email."),
    OpenApiParameter("q", str, description="Text in the title, summary or root cause."),
    OpenApiParameter("createdAfter", OpenApiTypes.DATETIME),
    OpenApiParameter("createdBefore", OpenApiTypes.DATETIME),
    OpenApiParameter(
        "ordering", str, enum=["createdAt", "-createdAt", "updatedAt", "-updatedAt", "title", "-title"]
    ),
]

# --- Views ---------------------------------------------------------------------------------------------


class StatuxRcaListApi(OrgScopedApi):
    """GET, POST /api/v1/organizations/{orgId}/rcas"""

    @extend_schema(parameters=LIST_PARAMETERS, responses=StatuxRcaListOut, tags=["statux"])
    def get(self, request: Request, org_id: str) -> Response:
        rcas = selectors.rca_list(organization=request.organization, filters=request.query_params)
        return _paginated(self, request, rcas, StatuxRcaOut)

    @extend_schema(request=StatuxRcaCreateIn, responses={201: StatuxRcaOut}, tags=["statux"])
    def post(self, request: Request, org_id: str) -> Response:
        incoming = StatuxRcaCreateIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        rca = services.rca_create(
            organization=request.organization, actor=Actor.from_request(request), **incoming.validated_data
        )
        return Response(StatuxRcaOut(rca).data, status=status.HTTP_201_CREATED)


class StatuxRcaStatsApi(OrgScopedApi):
    """GET /api/v1/organizations/{orgId}/rcas/stats"""

    @extend_schema(responses=StatuxRcaStatsOut, tags=["statux"])
    def get(self, request: Request, org_id: str) -> Response:
        return Response(StatuxRcaStatsOut(selectors.rca_stats(organization=request.organization)).data)


class StatuxRcaIncidentSearchApi(OrgScopedApi):
    """GET /api/v1/organizations/{orgId}/rcas/search-incidents: incidents to link, of every product."""

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "q", str, description="Title, service or id; `alerting:INC-42` names another product's."
            ),
            OpenApiParameter("limit", int, description=f"At most {selectors.SEARCH_LIMIT_MAX}."),
        ],
        responses=StatuxRcaIncidentSearchOut,
        tags=["statux"],
    )
    def get(self, request: Request, org_id: str) -> Response:
        limit = serializers.IntegerField(min_value=1, max_value=selectors.SEARCH_LIMIT_MAX)
        try:
            limit = limit.run_validation(request.query_params.get("limit", selectors.SEARCH_LIMIT_DEFAULT))
        except serializers.ValidationError as exc:
            raise serializers.ValidationError({"limit": exc.detail}) from None
        found = selectors.rca_incident_search(
            organization=request.organization, q=request.query_params.get("q", ""), limit=limit
        )
        return _paginated(self, request, found, StatuxRcaIncidentCandidateOut)


class StatuxRcaDetailApi(OrgScopedApi):
    """GET, PATCH, DELETE /api/v1/organizations/{orgId}/rcas/{rcaId}"""

    @extend_schema(responses=StatuxRcaOut, tags=["statux"])
    def get(self, request: Request, org_id: str, rca_id: str) -> Response:
        return Response(
            StatuxRcaOut(selectors.rca_get(organization=request.organization, rca_id=rca_id)).data
        )

    @extend_schema(request=StatuxRcaUpdateIn, responses=StatuxRcaOut, tags=["statux"])
    def patch(self, request: Request, org_id: str, rca_id: str) -> Response:
        rca = selectors.rca_get(organization=request.organization, rca_id=rca_id)
        incoming = StatuxRcaUpdateIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        rca = services.rca_update(rca=rca, actor=Actor.from_request(request), **incoming.validated_data)
        return Response(StatuxRcaOut(rca).data)

    @extend_schema(responses={204: None}, tags=["statux"])
    def delete(self, request: Request, org_id: str, rca_id: str) -> Response:
        rca = selectors.rca_get(organization=request.organization, rca_id=rca_id)
        services.rca_delete(rca=rca, actor=Actor.from_request(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class StatuxRcaRevisionListApi(OrgScopedApi):
    """GET /api/v1/organizations/{orgId}/rcas/{rcaId}/revisions: every text change and refused proposal."""

    @extend_schema(responses=StatuxRcaRevisionListOut, tags=["statux"])
    def get(self, request: Request, org_id: str, rca_id: str) -> Response:
        rca = selectors.rca_get(organization=request.organization, rca_id=rca_id)
        return _paginated(self, request, selectors.rca_revision_list(rca=rca), StatuxRcaRevisionOut)


class StatuxRcaIncidentLinkListApi(OrgScopedApi):
    """GET, POST /api/v1/organizations/{orgId}/rcas/{rcaId}/incidents"""

    @extend_schema(responses=StatuxRcaIncidentLinkListOut, tags=["statux"])
    def get(self, request: Request, org_id: str, rca_id: str) -> Response:
        rca = selectors.rca_get(organization=request.organization, rca_id=rca_id)
        return _paginated(self, request, selectors.rca_incident_link_list(rca=rca), StatuxRcaIncidentLinkOut)

    @extend_schema(
        request=StatuxRcaIncidentLinkIn, responses={201: StatuxRcaIncidentLinkOut}, tags=["statux"]
    )
    def post(self, request: Request, org_id: str, rca_id: str) -> Response:
        rca = selectors.rca_get(organization=request.organization, rca_id=rca_id)
        incoming = StatuxRcaIncidentLinkIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = dict(incoming.validated_data)
        if (incident_id := data.pop("incidentId", None)) is not None:
            data["incident"] = incident_get(organization=request.organization, incident_id=incident_id)
        link = services.rca_link_incident(rca=rca, actor=Actor.from_request(request), **data)
        return Response(StatuxRcaIncidentLinkOut(link).data, status=status.HTTP_201_CREATED)


class StatuxRcaIncidentLinkDetailApi(OrgScopedApi):
    """DELETE /api/v1/organizations/{orgId}/rcas/{rcaId}/incidents/{linkId}"""

    @extend_schema(responses={204: None}, tags=["statux"])
    def delete(self, request: Request, org_id: str, rca_id: str, link_id: str) -> Response:
        rca = selectors.rca_get(organization=request.organization, rca_id=rca_id)
        link = selectors.rca_incident_link_get(rca=rca, link_id=link_id)
        services.rca_unlink_incident(link=link, actor=Actor.from_request(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class StatuxRcaActionItemListApi(OrgScopedApi):
    """GET, POST /api/v1/organizations/{orgId}/rcas/{rcaId}/action-items"""

    @extend_schema(responses=StatuxRcaActionItemListOut, tags=["statux"])
    def get(self, request: Request, org_id: str, rca_id: str) -> Response:
        rca = selectors.rca_get(organization=request.organization, rca_id=rca_id)
        return _paginated(self, request, selectors.rca_action_item_list(rca=rca), StatuxRcaActionItemOut)

    @extend_schema(request=StatuxRcaActionItemIn, responses={201: StatuxRcaActionItemOut}, tags=["statux"])
    def post(self, request: Request, org_id: str, rca_id: str) -> Response:
        rca = selectors.rca_get(organization=request.organization, rca_id=rca_id)
        incoming = StatuxRcaActionItemIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        item = services.rca_action_item_create(
            rca=rca, actor=Actor.from_request(request), **incoming.validated_data
        )
        return Response(StatuxRcaActionItemOut(item).data, status=status.HTTP_201_CREATED)


class StatuxRcaActionItemDetailApi(OrgScopedApi):
    """PATCH, DELETE /api/v1/organizations/{orgId}/rcas/{rcaId}/action-items/{itemId}"""

    @extend_schema(request=StatuxRcaActionItemIn, responses=StatuxRcaActionItemOut, tags=["statux"])
    def patch(self, request: Request, org_id: str, rca_id: str, item_id: str) -> Response:
        rca = selectors.rca_get(organization=request.organization, rca_id=rca_id)
        item = selectors.rca_action_item_get(rca=rca, item_id=item_id)
        incoming = StatuxRcaActionItemIn(data=request.data, partial=True)
        incoming.is_valid(raise_exception=True)
        item = services.rca_action_item_update(
            item=item, actor=Actor.from_request(request), **incoming.validated_data
        )
        return Response(StatuxRcaActionItemOut(item).data)

    @extend_schema(responses={204: None}, tags=["statux"])
    def delete(self, request: Request, org_id: str, rca_id: str, item_id: str) -> Response:
        rca = selectors.rca_get(organization=request.organization, rca_id=rca_id)
        item = selectors.rca_action_item_get(rca=rca, item_id=item_id)
        services.rca_action_item_delete(item=item, actor=Actor.from_request(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class StatuxRcaGenerateApi(OrgScopedApi):
    """POST /api/v1/organizations/{orgId}/rcas/{rcaId}/generate: queues an AI draft (202)."""

    @extend_schema(request=None, responses={202: StatuxRcaOut}, tags=["statux"])
    def post(self, request: Request, org_id: str, rca_id: str) -> Response:
        rca = selectors.rca_get(organization=request.organization, rca_id=rca_id)
        services.rca_generation_request(rca=rca, actor=Actor.from_request(request))
        rca = selectors.rca_get(
            organization=request.organization, rca_id=rca_id
        )  # in-process runs finish early
        return Response(StatuxRcaOut(rca).data, status=status.HTTP_202_ACCEPTED)


class _JsonErrorsOnly(BaseContentNegotiation):
    """`?format=` names the export format here, not a DRF renderer; errors still answer in JSON."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return JSONRenderer(), JSONRenderer.media_type


class UnsupportedExportFormat(StatuxError):
    status, code = 400, "unsupported_format"


class StatuxRcaExportApi(OrgScopedApi):
    """GET /api/v1/organizations/{orgId}/rcas/{rcaId}/export?format=markdown: a post-mortem document."""

    content_negotiation_class = _JsonErrorsOnly
    formats = ("markdown",)

    @extend_schema(
        parameters=[OpenApiParameter("format", str, enum=["markdown"], description="Only markdown for now.")],
        responses={(200, "text/markdown"): OpenApiResponse(OpenApiTypes.STR, description="The document.")},
        tags=["statux"],
    )
    def get(self, request: Request, org_id: str, rca_id: str) -> HttpResponse:
        rca = selectors.rca_get(organization=request.organization, rca_id=rca_id)
        wanted = request.query_params.get("format", "markdown")
        if wanted not in self.formats:
            raise UnsupportedExportFormat(
                f"Export format '{wanted[:40]}' is not supported; supported: {', '.join(self.formats)}.",
                fields={"format": [f"one of: {', '.join(self.formats)}"]},
            )
        slug = re.sub(r"[^a-z0-9]+", "-", rca.title.lower()).strip("-")[:60] or "rca"
        response = HttpResponse(rca_export_markdown(rca), content_type="text/markdown; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{slug}-{str(rca.pk)[:8]}.md"'
        return response
