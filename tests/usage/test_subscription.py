"""/api/v1/users/me/subscription[/checkout|/portal]: self-hosted, and Stripe on the wire."""

from __future__ import annotations

import pytest

from statux.models import AuditLog
from tests.conftest import jwt_client
from tests.usage.conftest import STRIPE_API_KEY as SECRET
from usage.models import BillingAccount

SITE_URL = "http://127.0.0.1:8000"


@pytest.fixture(autouse=True)
def _site_url(settings):
    settings.SITE_URL = SITE_URL


# --- Self-hosted (the default) ---------------------------------------------------------------------


def test_subscription_shows_the_plan_of_the_current_organization(org, viewer_client):
    response = viewer_client.get("/api/v1/users/me/subscription")

    assert response.status_code == 200
    assert response.json() == {
        "organizationId": str(org.pk),
        "plan": "pro",
        "provider": "self_hosted",
        "status": "active",
        "currentPeriodEnd": None,
        "planLimits": {"analyses": 2000, "tokens": 10_000_000},
    }


def test_subscription_follows_the_organization_in_the_token(org, other_org, owner):
    from tests.factories import MembershipFactory

    MembershipFactory(organization=other_org, user=owner, role="viewer")
    other_org.plan = "enterprise"
    other_org.save(update_fields=["plan"])

    response = jwt_client(owner, other_org).get("/api/v1/users/me/subscription/")

    assert (response.json()["organizationId"], response.json()["plan"]) == (str(other_org.pk), "enterprise")


def test_self_hosted_checkout_changes_nothing_and_points_at_the_usage_page(org, owner_client):
    response = owner_client.post("/api/v1/users/me/subscription/checkout", {"plan": "enterprise"})

    assert response.status_code == 200
    assert response.json() == {
        "url": f"{SITE_URL}/console/usage/?plan=enterprise",
        "provider": "self_hosted",
        "plan": "enterprise",
    }
    org.refresh_from_db()
    assert org.plan == "pro"
    assert not BillingAccount.objects.exists()
    audit = AuditLog.objects.for_org(org).get(action="billing.checkout_started")
    assert audit.metadata == {"plan": "enterprise", "provider": "self_hosted"}


def test_self_hosted_portal_is_the_usage_page(org, owner_client):
    response = owner_client.post("/api/v1/users/me/subscription/portal", {})

    assert (response.status_code, response.json()) == (
        200,
        {"url": f"{SITE_URL}/console/usage/", "provider": "self_hosted"},
    )


def test_checkout_refuses_an_unknown_plan(org, owner_client):
    response = owner_client.post("/api/v1/users/me/subscription/checkout", {"plan": "platinum"})

    assert response.status_code == 400
    assert response.json()["fields"] == {"plan": ['"platinum" is not a valid choice.']}


@pytest.mark.parametrize("action", ["checkout", "portal"])
def test_checkout_and_portal_need_the_billing_permission(org, admin_client, action):
    response = admin_client.post(f"/api/v1/users/me/subscription/{action}", {"plan": "pro"})

    assert response.status_code == 403
    assert response.json()["error"].startswith("This needs the 'billing' permission")


# --- Stripe, against a fake Stripe API -------------------------------------------------------------


def sent(stripe_api, path):
    return [request for request, _ in stripe_api.log if request.path == path]


def test_stripe_checkout_creates_a_customer_and_a_subscription_session(
    org, owner_client, stripe_api, stripe_checkout
):
    response = owner_client.post(
        "/api/v1/users/me/subscription/checkout", {"plan": "pro", "successUrl": f"{SITE_URL}/ok"}
    )

    assert response.status_code == 200, response.content
    assert response.json() == {
        "url": "https://checkout.stripe.com/c/pay/cs_test_a1",
        "provider": "stripe",
        "plan": "pro",
    }
    (customer,) = sent(stripe_api, "/v1/customers")
    assert customer.headers["Authorization"] == f"Bearer {SECRET}"
    assert customer.headers["Idempotency-Key"] == f"statux-customer-{org.pk}"
    assert (customer.form["name"], customer.form["metadata[organization_id]"]) == (org.name, str(org.pk))
    (session,) = sent(stripe_api, "/v1/checkout/sessions")
    assert session.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert session.form["mode"] == "subscription"
    assert session.form["customer"] == "cus_Acme123"
    assert session.form["line_items[0][price]"] == "price_pro_monthly"
    assert session.form["line_items[0][quantity]"] == "1"
    assert session.form["success_url"] == f"{SITE_URL}/ok"
    assert session.form["cancel_url"] == f"{SITE_URL}/console/usage/?checkout=cancel"
    assert session.form["client_reference_id"] == str(org.pk)
    account = BillingAccount.objects.for_org(org).get()
    assert (account.provider, account.customer_id) == ("stripe", "cus_Acme123")


def test_stripe_checkout_reuses_the_customer(org, owner_client, stripe_api, stripe_checkout):
    owner_client.post("/api/v1/users/me/subscription/checkout", {"plan": "pro"})

    response = owner_client.post("/api/v1/users/me/subscription/checkout", {"plan": "enterprise"})

    assert response.status_code == 200
    assert len(sent(stripe_api, "/v1/customers")) == 1
    second = sent(stripe_api, "/v1/checkout/sessions")[-1]
    assert (second.form["customer"], second.form["line_items[0][price]"]) == ("cus_Acme123", "price_ent")


def test_stripe_portal_opens_a_billing_portal_session_for_the_customer(
    org, owner_client, stripe_api, stripe_checkout
):
    owner_client.post("/api/v1/users/me/subscription/checkout", {"plan": "pro"})
    stripe_api.expect_request("/v1/billing_portal/sessions", method="POST").respond_with_json(
        {
            "id": "bps_1",
            "object": "billing_portal.session",
            "url": "https://billing.stripe.com/p/session/bps_1",
        }
    )

    response = owner_client.post("/api/v1/users/me/subscription/portal", {})

    assert (response.status_code, response.json()) == (
        200,
        {"url": "https://billing.stripe.com/p/session/bps_1", "provider": "stripe"},
    )
    (portal,) = sent(stripe_api, "/v1/billing_portal/sessions")
    assert portal.form["customer"] == "cus_Acme123"
    assert portal.form["return_url"] == f"{SITE_URL}/console/usage/"


def test_stripe_portal_before_any_checkout_says_what_to_do(org, owner_client, stripe_api):
    response = owner_client.post("/api/v1/users/me/subscription/portal", {})

    assert (response.status_code, response.json()) == (
        400,
        {
            "error": "This organization has no Stripe customer yet; start a checkout first.",
            "code": "plan_not_available",
        },
    )
    assert stripe_api.log == []


def test_stripe_refusal_is_a_clear_502(org, owner_client, stripe_api):
    stripe_api.expect_request("/v1/customers", method="POST").respond_with_json(
        {"id": "cus_Acme123", "object": "customer"}
    )
    stripe_api.expect_request("/v1/checkout/sessions", method="POST").respond_with_json(
        {
            "error": {
                "type": "invalid_request_error",
                "code": "resource_missing",
                "param": "line_items[0][price]",
                "message": "No such price: 'price_pro_monthly'",
            }
        },
        status=400,
    )

    response = owner_client.post("/api/v1/users/me/subscription/checkout", {"plan": "pro"})

    assert (response.status_code, response.json()) == (
        502,
        {
            "error": "Stripe could not create the checkout session (HTTP 400): "
            "No such price: 'price_pro_monthly'",
            "code": "billing_provider_error",
        },
    )


def test_a_refused_stripe_key_is_not_echoed(org, owner_client, stripe_api):
    stripe_api.expect_request("/v1/customers", method="POST").respond_with_json(
        {
            "error": {
                "type": "invalid_request_error",
                "message": f"Invalid API Key provided: {SECRET[:8]}********{SECRET[-4:]}",
            }
        },
        status=401,
    )

    response = owner_client.post("/api/v1/users/me/subscription/checkout", {"plan": "pro"})

    assert response.status_code == 502
    assert response.json()["error"] == (
        "Stripe could not create the checkout session (HTTP 401): the configured STRIPE_API_KEY was refused"
    )
    assert SECRET[-4:] not in response.content.decode()


def test_stripe_without_a_price_for_the_plan_is_refused_before_calling_stripe(org, owner_client, stripe_api):
    response = owner_client.post("/api/v1/users/me/subscription/checkout", {"plan": "free"})

    assert response.status_code == 400
    assert response.json() == {
        "error": "Plan 'free' has no Stripe price (STRIPE_PRICE_IDS); offered: enterprise, pro.",
        "code": "plan_not_available",
    }
    assert stripe_api.log == []


def test_stripe_without_a_key_says_billing_is_not_configured(org, owner_client, stripe_api, settings):
    settings.STRIPE_API_KEY = ""

    response = owner_client.post("/api/v1/users/me/subscription/checkout", {"plan": "pro"})

    assert (response.status_code, response.json()) == (
        503,
        {
            "error": "BILLING_PROVIDER is 'stripe' but STRIPE_API_KEY is not set.",
            "code": "billing_not_configured",
        },
    )


def test_an_unknown_billing_provider_says_so(org, owner_client, settings):
    settings.BILLING_PROVIDER = "paddle"

    response = owner_client.post("/api/v1/users/me/subscription/portal", {})

    assert (response.status_code, response.json()["code"]) == (503, "billing_not_configured")
    assert "known: self_hosted, stripe" in response.json()["error"]


def test_stripe_subscription_without_an_account_has_status_none(org, viewer_client, stripe_api):
    body = viewer_client.get("/api/v1/users/me/subscription").json()

    assert (body["provider"], body["status"], body["plan"]) == ("stripe", "none", "pro")


@pytest.mark.parametrize("field", ["successUrl", "cancelUrl"])
def test_checkout_refuses_to_send_people_to_another_host(owner_client, stripe_api, settings, field):
    settings.SITE_URL = "https://app.acme.test"

    response = owner_client.post(
        "/api/v1/users/me/subscription/checkout", {"plan": "pro", field: "https://evil.example/ok"}
    )

    assert response.status_code == 400
    assert response.json()["fields"] == {field: ["Must be a URL on app.acme.test (SITE_URL)."]}
    assert stripe_api.log == []


def test_the_portal_refuses_a_return_url_on_another_host(owner_client, settings):
    settings.SITE_URL = "https://app.acme.test"

    response = owner_client.post(
        "/api/v1/users/me/subscription/portal", {"returnUrl": "https://evil.example/"}
    )

    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["returnUrl"]


@pytest.mark.parametrize("status", ["active", "trialing", "past_due"])
def test_stripe_checkout_refuses_a_second_live_subscription(org, owner_client, stripe_api, status):
    BillingAccount.objects.create(
        organization=org, provider="stripe", customer_id="cus_Acme123", subscription_id="sub_1", status=status
    )
    org.plan = "pro"
    org.save(update_fields=["plan"])

    response = owner_client.post("/api/v1/users/me/subscription/checkout", {"plan": "enterprise"})

    assert response.status_code == 409
    assert response.json() == {
        "error": f"This organization already has a {status} pro subscription; change or cancel it in the "
        "billing portal (POST /api/v1/users/me/subscription/portal).",
        "code": "subscription_exists",
    }
    assert sent(stripe_api, "/v1/checkout/sessions") == []


def test_stripe_checkout_after_a_canceled_subscription_starts_a_new_one(
    org, owner_client, stripe_api, stripe_checkout
):
    BillingAccount.objects.create(
        organization=org,
        provider="stripe",
        customer_id="cus_Acme123",
        subscription_id="sub_1",
        status="canceled",
    )

    response = owner_client.post("/api/v1/users/me/subscription/checkout", {"plan": "pro"})

    assert response.status_code == 200, response.content
    (session,) = sent(stripe_api, "/v1/checkout/sessions")
    assert session.form["customer"] == "cus_Acme123"
