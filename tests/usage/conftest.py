"""Usage fixtures: an organization on the free plan with small limits, set through the budget service,
and a fake Stripe API on loopback."""

from __future__ import annotations

import pytest

from statux.audit import Actor
from usage.services import usage_budget_update, usage_record_analysis


@pytest.fixture
def free_org(org):
    org.plan = "free"
    org.save(update_fields=["plan"])
    return org


@pytest.fixture
def small_budget(free_org, owner):
    """Five analyses a month, alerts at 80% and 100%."""
    return usage_budget_update(
        organization=free_org, actor=Actor(user=owner), analyses_limit=5, thresholds=[80, 100]
    )


@pytest.fixture
def record():
    def record(organization, times=1, *, paid=False, input_tokens=0, output_tokens=0, provider=None):
        crossed = []
        for _ in range(times):
            crossed = usage_record_analysis(
                organization=organization,
                provider=provider or ("bedrock" if paid else "deterministic"),
                paid=paid,
                input_tokens=input_tokens,
                output_tokens=output_tokens,
            )
        return crossed  # the last call's crossings

    return record


STRIPE_API_KEY = "sk_test_4eC39HqLyjWDarjtT1zdp7dc"
STRIPE_PRICE_IDS = {"pro": "price_pro_monthly", "enterprise": "price_ent"}


@pytest.fixture
def stripe_api(httpserver, settings):
    """BILLING_PROVIDER=stripe against a fake Stripe API that answers only what a test expects."""
    settings.BILLING_PROVIDER = "stripe"
    settings.STRIPE_API_KEY = STRIPE_API_KEY
    settings.STRIPE_API_BASE = httpserver.url_for("/").rstrip("/")
    settings.STRIPE_PRICE_IDS = STRIPE_PRICE_IDS
    return httpserver


@pytest.fixture
def stripe_checkout(stripe_api):
    """Stripe creates customer cus_Acme123 and checkout session cs_test_a1 when asked."""
    stripe_api.expect_request("/v1/customers", method="POST").respond_with_json(
        {"id": "cus_Acme123", "object": "customer"}
    )
    stripe_api.expect_request("/v1/checkout/sessions", method="POST").respond_with_json(
        {
            "id": "cs_test_a1",
            "object": "checkout.session",
            "url": "https://checkout.stripe.com/c/pay/cs_test_a1",
        }
    )
    return stripe_api
