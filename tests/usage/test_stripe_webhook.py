"""POST /api/v1/billing/stripe/webhook: signed Stripe events change the organization's plan, once, in order.

Payloads have the shape Stripe sends at API version 2025-10-29.clover (the stripe library's pinned one:
the billing period on each subscription item, the invoice's subscription under `parent`), plus the
older shape where the period and subscription sit at the top.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import httpx
import pytest
from django.test import override_settings

from statux.models import AuditLog
from tests.usage.conftest import STRIPE_PRICE_IDS
from usage.models import BillingAccount, StripeWebhookEvent

URL = "/api/v1/billing/stripe/webhook"
WEBHOOK_SECRET = "whsec_5f2b8c1e9a7d4f60b3c2e1d0a9f8e7d6"
CUSTOMER = "cus_Acme123"  # what the fake Stripe API answers to our checkout (tests/usage/conftest.py)
SUBSCRIPTION = "sub_1QAcmePro"
T0 = 1_767_225_600  # 2026-01-01 00:00 UTC: when the events were created at Stripe
PERIOD_END = 1_769_904_000  # 2026-02-01 00:00 UTC
EVENT_NUMBERS = itertools.count(1)


@pytest.fixture(autouse=True)
def _webhook_secret():
    with override_settings(
        STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
        STRIPE_WEBHOOK_TOLERANCE_SECONDS=300,
        STRIPE_PRICE_IDS=STRIPE_PRICE_IDS,  # {"pro": "price_pro_monthly", "enterprise": "price_ent"}
    ):
        yield


@pytest.fixture
def customer(free_org, owner_client, stripe_checkout):
    """A free organization that started a Stripe checkout: its customer is known, nothing is paid."""
    response = owner_client.post("/api/v1/users/me/subscription/checkout", {"plan": "pro"})
    assert response.status_code == 200, response.content
    return CUSTOMER


# --- Stripe-shaped payloads ----------------------------------------------------------------------------


def stripe_event(event_type, obj, *, created=T0):
    return {
        "id": f"evt_1QAcme{next(EVENT_NUMBERS):08d}",
        "object": "event",
        "api_version": "2025-10-29.clover",
        "created": created,
        "data": {"object": obj},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": "req_8Hk2LmQpZx", "idempotency_key": "7f6c2a9e-1b3d-4c5e-8f90-a1b2c3d4e5f6"},
        "type": event_type,
    }


def checkout_session(org, *, mode="subscription"):
    return {
        "id": "cs_test_a1",
        "object": "checkout.session",
        "amount_subtotal": 4900,
        "amount_total": 4900,
        "cancel_url": "http://127.0.0.1:8000/console/usage/?checkout=cancel",
        "client_reference_id": str(org.pk),
        "created": T0 - 60,
        "currency": "usd",
        "customer": CUSTOMER,
        "expires_at": T0 + 86_340,
        "invoice": "in_1QAcme0001",
        "livemode": False,
        "metadata": {"organization_id": str(org.pk), "plan": "pro"},
        "mode": mode,
        "payment_status": "paid",
        "status": "complete",
        "subscription": SUBSCRIPTION if mode == "subscription" else None,
        "success_url": "http://127.0.0.1:8000/console/usage/?checkout=success",
        "url": None,
    }


def subscription(org, *, price="price_pro_monthly", status="active", sub_id=SUBSCRIPTION, customer=CUSTOMER):
    return {
        "id": sub_id,
        "object": "subscription",
        "billing_cycle_anchor": T0,
        "cancel_at": None,
        "cancel_at_period_end": False,
        "canceled_at": None,
        "collection_method": "charge_automatically",
        "created": T0,
        "currency": "usd",
        "customer": customer,
        "ended_at": None,
        "items": {
            "object": "list",
            "data": [
                {
                    "id": "si_RAcme0001",
                    "object": "subscription_item",
                    "created": T0,
                    "current_period_end": PERIOD_END,
                    "current_period_start": T0,
                    "metadata": {},
                    "price": {
                        "id": price,
                        "object": "price",
                        "active": True,
                        "billing_scheme": "per_unit",
                        "currency": "usd",
                        "livemode": False,
                        "lookup_key": None,
                        "product": "prod_RAcmeStatux",
                        "recurring": {"interval": "month", "interval_count": 1, "usage_type": "licensed"},
                        "type": "recurring",
                        "unit_amount": 4900,
                    },
                    "quantity": 1,
                    "subscription": sub_id,
                }
            ],
            "has_more": False,
            "total_count": 1,
            "url": f"/v1/subscription_items?subscription={sub_id}",
        },
        "latest_invoice": "in_1QAcme0001",
        "livemode": False,
        "metadata": {"organization_id": str(org.pk), "plan": "pro"},
        "start_date": T0,
        "status": status,
    }


def invoice(org, *, sub_id=SUBSCRIPTION):
    return {
        "id": "in_1QAcme0002",
        "object": "invoice",
        "amount_due": 4900,
        "amount_paid": 0,
        "amount_remaining": 4900,
        "attempt_count": 1,
        "attempted": True,
        "billing_reason": "subscription_cycle",
        "collection_method": "charge_automatically",
        "currency": "usd",
        "customer": CUSTOMER,
        "livemode": False,
        "next_payment_attempt": PERIOD_END + 3 * 86_400,
        "parent": {
            "quote_details": None,
            "subscription_details": {
                "metadata": {"organization_id": str(org.pk), "plan": "pro"},
                "subscription": sub_id,
            },
            "type": "subscription_details",
        },
        "period_end": PERIOD_END,
        "period_start": T0,
        "status": "open",
    }


def sign(body: str, *, secret=WEBHOOK_SECRET, age_seconds=0) -> str:
    """The Stripe-Signature header as Stripe computes it: HMAC-SHA256 of "<t>.<body>"."""
    timestamp = int(time.time()) - age_seconds
    digest = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


@pytest.fixture
def deliver(api_client):
    def deliver(payload, *, signature=None):
        body = payload if isinstance(payload, str) else json.dumps(payload)
        headers = {} if signature == "" else {"HTTP_STRIPE_SIGNATURE": signature or sign(body)}
        return api_client.post(URL, body, content_type="application/json", **headers)

    return deliver


def account_of(org):
    return BillingAccount.objects.for_org(org).get()


def plan_changes(org):
    rows = AuditLog.objects.for_org(org).filter(action="billing.plan_changed").order_by("created_at")
    return [(row.metadata["from"], row.metadata["to"], row.actor) for row in rows]


# --- Configuration and signatures ----------------------------------------------------------------------


def test_without_a_webhook_secret_it_says_webhooks_are_not_configured(free_org, customer, deliver):
    with override_settings(STRIPE_WEBHOOK_SECRET=""):
        response = deliver(stripe_event("customer.subscription.created", subscription(free_org)))

    assert (response.status_code, response.json()) == (
        503,
        {
            "error": "Stripe webhooks are not configured: set STRIPE_WEBHOOK_SECRET to the endpoint's "
            "signing secret.",
            "code": "stripe_webhooks_not_configured",
        },
    )
    assert not StripeWebhookEvent.objects.exists()


@pytest.mark.parametrize(
    ("signing", "error"),
    [
        (
            {"secret": "whsec_someone_else"},
            "Stripe-Signature does not match the body and STRIPE_WEBHOOK_SECRET.",
        ),
        (
            {"age_seconds": 301},
            "The Stripe-Signature timestamp is more than 300 seconds old; replay refused.",
        ),
    ],
)
def test_a_wrong_or_expired_signature_is_refused(free_org, customer, deliver, signing, error):
    body = json.dumps(stripe_event("customer.subscription.created", subscription(free_org)))

    response = deliver(body, signature=sign(body, **signing))

    assert (response.status_code, response.json()) == (400, {"error": error, "code": "invalid_signature"})
    free_org.refresh_from_db()
    assert free_org.plan == "free"
    assert not StripeWebhookEvent.objects.exists()


def test_a_body_changed_after_signing_is_refused(free_org, customer, deliver):
    body = json.dumps(stripe_event("customer.subscription.created", subscription(free_org)))

    response = deliver(body.replace("price_pro_monthly", "price_ent"), signature=sign(body))

    assert (response.status_code, response.json()["code"]) == (400, "invalid_signature")


@pytest.mark.parametrize(
    "header", ["t=1767225600,v1=\u00e9\u00e9", "v1=abc", "t=notanumber,v1=abc", "t=1767225600"]
)
def test_a_missing_or_malformed_signature_header_is_refused(free_org, deliver, header):
    response = deliver(
        stripe_event("customer.subscription.created", subscription(free_org)), signature=header
    )

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_signature"


def test_a_missing_signature_header_says_so(free_org, deliver):
    response = deliver(stripe_event("customer.subscription.created", subscription(free_org)), signature="")

    assert response.json() == {
        "error": "The Stripe-Signature header is missing.",
        "code": "invalid_signature",
    }


def test_the_tolerance_is_stripe_webhook_tolerance_seconds(free_org, customer, deliver):
    body = json.dumps(stripe_event("customer.subscription.created", subscription(free_org)))

    with override_settings(STRIPE_WEBHOOK_TOLERANCE_SECONDS=900):
        response = deliver(body, signature=sign(body, age_seconds=600))

    assert (response.status_code, response.json()) == (200, {"received": True, "handled": True})


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("{not json", "The body is not JSON."),
        ('["evt_1"]', "The body is not a Stripe event: expected a JSON object."),
        (
            '{"id": "evt_1", "type": "invoice.paid", "created": "yesterday"}',
            "The body is not a Stripe event: it needs id, type and created.",
        ),
    ],
)
def test_a_signed_body_that_is_not_an_event_is_refused(deliver, body, error):
    response = deliver(body)

    assert (response.status_code, response.json()) == (400, {"error": error, "code": "invalid_payload"})


def test_a_body_that_is_not_utf8_is_refused_not_crashed(api_client):
    response = api_client.post(
        URL, b"\xff\xfe{}", content_type="application/json", HTTP_STRIPE_SIGNATURE="t=1,v1=00"
    )

    assert (response.status_code, response.json()["code"]) == (400, "invalid_signature")


# --- The subscription lifecycle ------------------------------------------------------------------------


def test_checkout_completed_links_the_subscription_to_the_organization(free_org, customer, deliver):
    completed = stripe_event("checkout.session.completed", checkout_session(free_org))

    response = deliver(completed)

    assert (response.status_code, response.json()) == (200, {"received": True, "handled": True})
    account = account_of(free_org)
    assert (account.provider, account.customer_id, account.subscription_id) == (
        "stripe",
        CUSTOMER,
        SUBSCRIPTION,
    )
    free_org.refresh_from_db()
    assert free_org.plan == "free"  # the subscription's own event says what was bought
    audit = AuditLog.objects.for_org(free_org).get(action="billing.subscription_linked")
    assert (audit.actor, audit.target_id) == ("system:stripe", str(account.pk))
    assert audit.metadata == {
        "provider": "stripe",
        "event_id": completed["id"],
        "event_type": "checkout.session.completed",
        "customer_id": CUSTOMER,
        "checkout_id": "cs_test_a1",
    }
    assert StripeWebhookEvent.objects.get().organization == free_org


def test_checkout_completed_finds_the_organization_by_client_reference_id_alone(free_org, deliver):
    response = deliver(stripe_event("checkout.session.completed", checkout_session(free_org)))

    assert response.json() == {"received": True, "handled": True}
    assert (account_of(free_org).customer_id, account_of(free_org).subscription_id) == (
        CUSTOMER,
        SUBSCRIPTION,
    )


def test_a_payment_mode_checkout_is_not_a_subscription(free_org, customer, deliver):
    response = deliver(stripe_event("checkout.session.completed", checkout_session(free_org, mode="payment")))

    assert response.json() == {"received": True, "handled": False}
    assert account_of(free_org).subscription_id == ""


def test_an_active_subscription_puts_the_organization_on_the_plan_it_pays_for(free_org, customer, deliver):
    created = stripe_event("customer.subscription.created", subscription(free_org))

    response = deliver(created)

    assert (response.status_code, response.json()) == (200, {"received": True, "handled": True})
    free_org.refresh_from_db()
    assert free_org.plan == "pro"
    account = account_of(free_org)
    assert (account.subscription_id, account.status) == (SUBSCRIPTION, "active")
    assert account.current_period_end == datetime(2026, 2, 1, tzinfo=UTC)
    audit = AuditLog.objects.for_org(free_org).get(action="billing.plan_changed")
    assert (audit.actor, audit.target_type, audit.target_id) == (
        "system:stripe",
        "statux.organization",
        str(free_org.pk),
    )
    assert audit.metadata == {
        "provider": "stripe",
        "event_id": created["id"],
        "event_type": "customer.subscription.created",
        "from": "free",
        "to": "pro",
        "subscription_id": SUBSCRIPTION,
        "status": "active",
    }


def test_an_updated_price_changes_the_plan(free_org, customer, deliver):
    deliver(stripe_event("customer.subscription.created", subscription(free_org)))

    response = deliver(
        stripe_event(
            "customer.subscription.updated", subscription(free_org, price="price_ent"), created=T0 + 60
        )
    )

    assert response.json() == {"received": True, "handled": True}
    free_org.refresh_from_db()
    assert free_org.plan == "enterprise"
    assert plan_changes(free_org) == [
        ("free", "pro", "system:stripe"),
        ("pro", "enterprise", "system:stripe"),
    ]


def test_the_older_api_shape_with_the_period_on_the_subscription_is_read_too(free_org, customer, deliver):
    legacy = subscription(free_org)
    for item in legacy["items"]["data"]:
        del item["current_period_end"], item["current_period_start"]
    legacy.update(current_period_start=T0, current_period_end=PERIOD_END + 86_400)

    deliver(stripe_event("customer.subscription.updated", legacy))

    assert account_of(free_org).current_period_end == datetime(2026, 2, 2, tzinfo=UTC)


def test_an_incomplete_subscription_grants_nothing_yet(free_org, customer, deliver):
    response = deliver(
        stripe_event("customer.subscription.created", subscription(free_org, status="incomplete"))
    )

    assert response.json() == {"received": True, "handled": True}
    free_org.refresh_from_db()
    assert (free_org.plan, account_of(free_org).status) == ("free", "incomplete")
    assert plan_changes(free_org) == []


def test_a_price_not_in_stripe_price_ids_keeps_the_plan(free_org, customer, deliver):
    deliver(stripe_event("customer.subscription.created", subscription(free_org, price="price_legacy_2019")))

    free_org.refresh_from_db()
    assert (free_org.plan, account_of(free_org).status) == ("free", "active")


def test_a_deleted_subscription_sends_the_organization_back_to_free(free_org, customer, deliver):
    deliver(stripe_event("customer.subscription.created", subscription(free_org)))
    ended = subscription(free_org, status="canceled") | {"canceled_at": T0 + 3600, "ended_at": T0 + 3600}

    response = deliver(stripe_event("customer.subscription.deleted", ended, created=T0 + 3600))

    assert response.json() == {"received": True, "handled": True}
    free_org.refresh_from_db()
    assert free_org.plan == "free"
    assert account_of(free_org).status == "canceled"
    assert plan_changes(free_org) == [("free", "pro", "system:stripe"), ("pro", "free", "system:stripe")]


def test_an_unpaid_subscription_loses_the_paid_plan(free_org, customer, deliver):
    deliver(stripe_event("customer.subscription.created", subscription(free_org)))

    deliver(
        stripe_event(
            "customer.subscription.updated", subscription(free_org, status="unpaid"), created=T0 + 60
        )
    )

    free_org.refresh_from_db()
    assert (free_org.plan, account_of(free_org).status) == ("free", "unpaid")


def test_a_failed_renewal_records_past_due_and_keeps_the_plan(free_org, customer, deliver):
    deliver(stripe_event("customer.subscription.created", subscription(free_org)))

    response = deliver(stripe_event("invoice.payment_failed", invoice(free_org), created=PERIOD_END + 60))

    assert response.json() == {"received": True, "handled": True}
    free_org.refresh_from_db()
    assert (free_org.plan, account_of(free_org).status) == ("pro", "past_due")
    audit = AuditLog.objects.for_org(free_org).get(action="billing.payment_failed")
    assert (audit.metadata["invoice_id"], audit.metadata["status"]) == ("in_1QAcme0002", "past_due")


def test_a_failed_invoice_of_the_older_api_shape_is_read_too(free_org, customer, deliver):
    deliver(stripe_event("customer.subscription.created", subscription(free_org)))
    legacy = invoice(free_org, sub_id="") | {"parent": None, "subscription": SUBSCRIPTION}

    deliver(stripe_event("invoice.payment_failed", legacy, created=PERIOD_END + 60))

    assert account_of(free_org).status == "past_due"


def test_the_subscription_endpoint_reports_what_stripe_said(free_org, customer, deliver, viewer):
    from tests.conftest import jwt_client

    deliver(stripe_event("checkout.session.completed", checkout_session(free_org)))
    deliver(stripe_event("customer.subscription.created", subscription(free_org, price="price_ent")))

    body = jwt_client(viewer).get("/api/v1/users/me/subscription").json()

    assert body == {
        "organizationId": str(free_org.pk),
        "plan": "enterprise",
        "provider": "stripe",
        "status": "active",
        "currentPeriodEnd": "2026-02-01T00:00:00Z",
        "planLimits": {"analyses": None, "tokens": None},
    }


# --- Redelivery, order, and events that are not ours ---------------------------------------------------


def test_a_redelivered_event_changes_nothing_the_second_time(free_org, customer, deliver):
    created = stripe_event("customer.subscription.created", subscription(free_org))
    deliver(created)

    again = deliver(created)

    assert (again.status_code, again.json()) == (200, {"received": True, "handled": False})
    assert plan_changes(free_org) == [("free", "pro", "system:stripe")]
    assert StripeWebhookEvent.objects.count() == 1


def test_a_redelivery_after_a_later_event_does_not_undo_it(free_org, customer, deliver):
    created = stripe_event("customer.subscription.created", subscription(free_org))
    deliver(created)
    deliver(
        stripe_event(
            "customer.subscription.deleted", subscription(free_org, status="canceled"), created=T0 + 9
        )
    )

    deliver(created)

    free_org.refresh_from_db()
    assert (free_org.plan, account_of(free_org).status) == ("free", "canceled")


def test_an_event_older_than_the_last_applied_is_ignored(free_org, customer, deliver):
    deliver(
        stripe_event(
            "customer.subscription.updated", subscription(free_org, price="price_ent"), created=T0 + 60
        )
    )

    late = deliver(stripe_event("customer.subscription.created", subscription(free_org, status="incomplete")))

    assert late.json() == {"received": True, "handled": False}
    free_org.refresh_from_db()
    account = account_of(free_org)
    assert (free_org.plan, account.status) == ("enterprise", "active")
    assert account.subscription_event_at == datetime.fromtimestamp(T0 + 60, tz=UTC)
    stored = StripeWebhookEvent.objects.get(type="customer.subscription.created")
    assert (stored.handled, stored.organization) == (False, free_org)
    assert "before the last event applied" in stored.outcome


def test_a_late_deletion_of_a_replaced_subscription_does_not_downgrade(free_org, customer, deliver):
    deliver(stripe_event("customer.subscription.created", subscription(free_org, sub_id="sub_1QOld")))
    deliver(
        stripe_event(
            "customer.subscription.created", subscription(free_org, price="price_ent"), created=T0 + 60
        )
    )

    old_gone = subscription(free_org, sub_id="sub_1QOld", status="canceled")
    response = deliver(stripe_event("customer.subscription.deleted", old_gone, created=T0 + 120))

    assert response.json() == {"received": True, "handled": False}
    free_org.refresh_from_db()
    assert (free_org.plan, account_of(free_org).subscription_id) == ("enterprise", SUBSCRIPTION)


def test_an_unknown_event_type_is_acknowledged_and_not_stored(free_org, customer, deliver):
    response = deliver(stripe_event("customer.updated", {"id": CUSTOMER, "object": "customer"}))

    assert (response.status_code, response.json()) == (200, {"received": True, "handled": False})
    assert not StripeWebhookEvent.objects.exists()


def test_an_event_about_an_unknown_customer_is_acknowledged_and_logged(free_org, deliver, caplog):
    stranger = subscription(free_org, customer="cus_Stranger") | {"metadata": {}}

    with caplog.at_level(logging.WARNING, logger="usage.services"):
        response = deliver(stripe_event("customer.subscription.created", stranger))

    assert (response.status_code, response.json()) == (200, {"received": True, "handled": False})
    free_org.refresh_from_db()
    assert free_org.plan == "free"
    assert not BillingAccount.objects.exists()
    stored = StripeWebhookEvent.objects.get()
    assert (stored.organization, stored.handled) == (None, False)
    assert "unknown customer 'cus_Stranger'" in caplog.text


def test_a_subscription_found_by_our_metadata_links_its_customer(free_org, deliver):
    response = deliver(stripe_event("customer.subscription.created", subscription(free_org)))

    assert response.json() == {"received": True, "handled": True}
    free_org.refresh_from_db()
    assert (free_org.plan, account_of(free_org).customer_id) == ("pro", CUSTOMER)


def test_a_failed_invoice_for_another_subscription_changes_nothing(free_org, customer, deliver):
    deliver(stripe_event("customer.subscription.created", subscription(free_org)))

    response = deliver(
        stripe_event("invoice.payment_failed", invoice(free_org, sub_id="sub_1QOther"), created=T0 + 9)
    )

    assert response.json() == {"received": True, "handled": False}
    assert account_of(free_org).status == "active"


@pytest.mark.parametrize(
    "obj",
    [{}, {"customer": 5, "items": "none", "status": ["active"]}, {"customer": {"id": None}, "metadata": "x"}],
)
def test_a_signed_event_with_odd_fields_is_acknowledged_not_crashed(free_org, customer, deliver, obj):
    response = deliver(stripe_event("customer.subscription.updated", obj))

    assert (response.status_code, response.json()) == (200, {"received": True, "handled": False})
    free_org.refresh_from_db()
    assert free_org.plan == "free"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_parallel_deliveries_of_one_event_apply_it_once(live_server, free_org, customer):
    body = json.dumps(stripe_event("customer.subscription.created", subscription(free_org)))

    def post(_: int) -> dict:
        response = httpx.post(
            f"{live_server.url}{URL}",
            content=body,
            timeout=60,
            headers={"Content-Type": "application/json", "Stripe-Signature": sign(body)},
        )
        assert response.status_code == 200, response.text
        return response.json()

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(post, range(20)))

    assert sorted(answer["handled"] for answer in answers) == [False] * 19 + [True]
    free_org.refresh_from_db()
    assert free_org.plan == "pro"
    assert plan_changes(free_org) == [("free", "pro", "system:stripe")]
    assert StripeWebhookEvent.objects.count() == 1
