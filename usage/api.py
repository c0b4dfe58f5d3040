"""Statux Insights API (spec 000): usage and limits of an organization, and its subscription. camelCase.

GET /api/v1/organizations/{orgId}/usage answers (the PATCH answers the same):
  organizationId, plan, period {start, end} (this calendar month, UTC, inclusive dates),
  analyses {used, limit, percent}, tokens {used, limit, percent}, costUsd {used, limit, percent}
  (limit null: unlimited; analyses and tokens count every analysis, cost only paid providers),
  paidAnalyses, thresholds [percent], thresholdsCrossed [{percent, metric: analyses|tokens|cost,
  crossedAt}], hardLimitEnabled, hardLimitReached, budget {analysesLimit, tokensLimit, costLimitUsd}
  (the organization's overrides, null: the plan's default), planLimits {analyses, tokens},
  daily [{date, analyses, tokens, costUsd}] (the last 30 days, oldest first, zero days included).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.parsers import BaseParser
from rest_framework.request import Request
from rest_framework.response import Response

from statux.api.base import OrgScopedApi, PublicApi
from statux.api.statux import ErrorOut
from statux.audit import Actor
from statux.models import Plan
from usage import selectors, services
from usage.billing.stripe import stripe_event_verify
from usage.models import THRESHOLD_MAX_PERCENT, THRESHOLD_MIN_PERCENT, UsageMetric
from usage.plans import plan_limits
from webhooks.api.common import read_body

MONEY = {"max_digits": 12, "decimal_places": 4, "coerce_to_string": False}
MAX_THRESHOLDS = 20


class StatuxUsageMeterOut(serializers.Serializer):
    used = serializers.IntegerField()
    limit = serializers.IntegerField(allow_null=True)
    percent = serializers.FloatField(allow_null=True)


class StatuxUsageCostOut(serializers.Serializer):
    used = serializers.DecimalField(**MONEY)
    limit = serializers.DecimalField(**MONEY, allow_null=True)
    percent = serializers.FloatField(allow_null=True)


class StatuxUsagePeriodOut(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()


class StatuxUsageCrossingOut(serializers.Serializer):
    percent = serializers.IntegerField()
    metric = serializers.ChoiceField(choices=UsageMetric.choices)
    crossedAt = serializers.DateTimeField(source="crossed_at")


class StatuxUsageBudgetOut(serializers.Serializer):
    analysesLimit = serializers.IntegerField(source="analyses_limit", allow_null=True)
    tokensLimit = serializers.IntegerField(source="tokens_limit", allow_null=True)
    costLimitUsd = serializers.DecimalField(source="cost_limit_usd", **MONEY, allow_null=True)


class StatuxPlanLimitsOut(serializers.Serializer):
    analyses = serializers.IntegerField(allow_null=True)
    tokens = serializers.IntegerField(allow_null=True)


class StatuxUsageDayOut(serializers.Serializer):
    date = serializers.DateField(source="day")
    analyses = serializers.IntegerField()
    tokens = serializers.IntegerField()
    costUsd = serializers.DecimalField(source="cost_usd", **MONEY)


class StatuxUsageOut(serializers.Serializer):
    organizationId = serializers.UUIDField(source="organization_id")
    plan = serializers.ChoiceField(choices=Plan.choices)
    period = StatuxUsagePeriodOut()
    analyses = StatuxUsageMeterOut(source="meters.analyses")
    tokens = StatuxUsageMeterOut(source="meters.tokens")
    costUsd = StatuxUsageCostOut(source="meters.cost")
    paidAnalyses = serializers.IntegerField(source="paid_analyses")
    thresholds = serializers.ListField(child=serializers.IntegerField())
    thresholdsCrossed = StatuxUsageCrossingOut(source="thresholds_crossed", many=True)
    hardLimitEnabled = serializers.BooleanField(source="hard_limit_enabled")
    hardLimitReached = serializers.BooleanField(source="hard_limit_reached")
    budget = serializers.SerializerMethodField()
    planLimits = serializers.SerializerMethodField()
    daily = StatuxUsageDayOut(many=True)

    @extend_schema(responses=StatuxUsageBudgetOut)
    def get_budget(self, summary: dict) -> dict:
        budget = summary["budget"]
        overrides = {name: getattr(budget, name, None) for name in ("analyses_limit", "tokens_limit")}
        return StatuxUsageBudgetOut({**overrides, "cost_limit_usd": summary["limits"].cost_usd}).data

    @extend_schema(responses=StatuxPlanLimitsOut)
    def get_planLimits(self, summary: dict) -> dict:  # noqa: N802 - the wire name
        return StatuxPlanLimitsOut(plan_limits(summary["plan"])).data


class StatuxUsageUpdateIn(serializers.Serializer):
    analysesLimit = serializers.IntegerField(
        source="analyses_limit", min_value=0, max_value=2**31 - 1, allow_null=True, required=False
    )
    tokensLimit = serializers.IntegerField(
        source="tokens_limit", min_value=0, max_value=2**63 - 1, allow_null=True, required=False
    )
    costLimitUsd = serializers.DecimalField(
        source="cost_limit_usd", max_digits=12, decimal_places=4, min_value=0, allow_null=True, required=False
    )
    thresholds = serializers.ListField(
        child=serializers.IntegerField(min_value=THRESHOLD_MIN_PERCENT, max_value=THRESHOLD_MAX_PERCENT),
        max_length=MAX_THRESHOLDS,
        required=False,
    )
    hardLimitEnabled = serializers.BooleanField(source="hard_limit_enabled", required=False)


def _usage_response(request: Request) -> Response:
    return Response(StatuxUsageOut(selectors.usage_summary(organization=request.organization)).data)


class StatuxUsageApi(OrgScopedApi):
    """GET, PATCH /api/v1/organizations/{orgId}/usage: any member reads; owners (billing) set limits."""

    required_permission = {"PATCH": "billing"}

    @extend_schema(responses={200: StatuxUsageOut, 404: ErrorOut}, tags=["statux"])
    def get(self, request: Request, org_id: str) -> Response:
        return _usage_response(request)

    @extend_schema(
        request=StatuxUsageUpdateIn,
        responses={200: StatuxUsageOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut},
        tags=["statux"],
    )
    def patch(self, request: Request, org_id: str) -> Response:
        incoming = StatuxUsageUpdateIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        services.usage_budget_update(
            organization=request.organization, actor=Actor.from_request(request), **incoming.validated_data
        )
        return _usage_response(request)


# --- Subscription: the caller's current organization (JWT claim, X-Workspace-Id, session, first one) ---


class StatuxSubscriptionOut(serializers.Serializer):
    organizationId = serializers.UUIDField(source="organization_id")
    plan = serializers.ChoiceField(choices=Plan.choices)
    provider = serializers.CharField()
    status = serializers.CharField(help_text="active on self-hosted; the provider's status, or none.")
    currentPeriodEnd = serializers.DateTimeField(source="current_period_end", allow_null=True)
    planLimits = serializers.SerializerMethodField()

    @extend_schema(responses=StatuxPlanLimitsOut)
    def get_planLimits(self, state: selectors.SubscriptionState) -> dict:  # noqa: N802 - the wire name
        return StatuxPlanLimitsOut(plan_limits(state.plan)).data


class SiteUrlField(serializers.URLField):
    """A URL on this deployment's own host (SITE_URL): payment pages must not send people elsewhere."""

    def to_internal_value(self, data):
        url = super().to_internal_value(data)
        site = urlsplit(settings.SITE_URL)
        if urlsplit(url).netloc.lower() != site.netloc.lower():
            raise serializers.ValidationError(f"Must be a URL on {site.netloc} (SITE_URL).")
        return url


class StatuxSubscriptionCheckoutIn(serializers.Serializer):
    plan = serializers.ChoiceField(choices=Plan.choices)
    successUrl = SiteUrlField(source="success_url", max_length=2000, required=False)
    cancelUrl = SiteUrlField(source="cancel_url", max_length=2000, required=False)


class StatuxSubscriptionCheckoutOut(serializers.Serializer):
    url = serializers.URLField()
    provider = serializers.CharField()
    plan = serializers.ChoiceField(choices=Plan.choices)


class StatuxSubscriptionPortalIn(serializers.Serializer):
    returnUrl = SiteUrlField(source="return_url", max_length=2000, required=False)


class StatuxSubscriptionPortalOut(serializers.Serializer):
    url = serializers.URLField()
    provider = serializers.CharField()


class StatuxSubscriptionApi(OrgScopedApi):
    """GET /api/v1/users/me/subscription: the plan of your current organization."""

    @extend_schema(responses={200: StatuxSubscriptionOut, 403: ErrorOut}, tags=["statux"])
    def get(self, request: Request) -> Response:
        return Response(
            StatuxSubscriptionOut(selectors.subscription_get(organization=request.organization)).data
        )


class StatuxSubscriptionCheckoutApi(OrgScopedApi):
    """POST /api/v1/users/me/subscription/checkout: a payment page for a plan (owners: billing)."""

    required_permission = "billing"

    @extend_schema(
        request=StatuxSubscriptionCheckoutIn,
        responses={
            200: StatuxSubscriptionCheckoutOut,
            400: ErrorOut,
            403: ErrorOut,
            502: ErrorOut,
            503: ErrorOut,
        },
        tags=["statux"],
    )
    def post(self, request: Request) -> Response:
        incoming = StatuxSubscriptionCheckoutIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        link = services.subscription_checkout(
            organization=request.organization, actor=Actor.from_request(request), **incoming.validated_data
        )
        return Response(StatuxSubscriptionCheckoutOut(link).data)


class StatuxSubscriptionPortalApi(OrgScopedApi):
    """POST /api/v1/users/me/subscription/portal: where to manage the subscription (owners: billing)."""

    required_permission = "billing"

    @extend_schema(
        request=StatuxSubscriptionPortalIn,
        responses={
            200: StatuxSubscriptionPortalOut,
            400: ErrorOut,
            403: ErrorOut,
            502: ErrorOut,
            503: ErrorOut,
        },
        tags=["statux"],
    )
    def post(self, request: Request) -> Response:
        incoming = StatuxSubscriptionPortalIn(data=request.data)
        incoming.is_valid(raise_exception=True)
        link = services.subscription_portal(organization=request.organization, **incoming.validated_data)
        return Response(StatuxSubscriptionPortalOut(link).data)


# --- Stripe webhook: public, the signature over the body is the credential ------------------------------


class StripeBodyParser(BaseParser):
    """The signature covers the raw bytes, so DRF must leave the body alone."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        return {}


class StatuxStripeWebhookOut(serializers.Serializer):
    received = serializers.BooleanField()
    handled = serializers.BooleanField(
        help_text="false: a type we do not use, a redelivery, an older event, a customer we do not know."
    )


class StatuxStripeWebhookApi(PublicApi):
    """POST /api/v1/billing/stripe/webhook: Stripe's subscription events; any 2xx stops its retries."""

    parser_classes = [StripeBodyParser]

    @extend_schema(
        request={"application/json": OpenApiTypes.OBJECT},
        parameters=[OpenApiParameter("Stripe-Signature", str, OpenApiParameter.HEADER, required=True)],
        responses={200: StatuxStripeWebhookOut, 400: ErrorOut, 413: ErrorOut, 503: ErrorOut},
        tags=["statux"],
    )
    def post(self, request: Request) -> Response:
        body = read_body(request)  # the ingestion size limit, 413 above it
        event = stripe_event_verify(body=body, signature=request.headers.get("Stripe-Signature", ""))
        outcome = services.subscription_apply_stripe_event(event=event)
        return Response(StatuxStripeWebhookOut({"received": True, "handled": outcome.handled}).data)
