"""Stripe billing through the official library: Checkout in subscription mode, the billing portal, and
the verified reading of the webhook events that tell us what was paid."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import stripe
from django.conf import settings

from statux.errors import StatuxError
from statux.models import Organization, Plan
from usage.billing.base import (
    BillingNotConfigured,
    BillingProvider,
    BillingProviderError,
    CheckoutSession,
    PlanNotAvailable,
    billing_providers,
)

logger = logging.getLogger(__name__)
SECRET_PATTERN = re.compile(r"\b(sk|rk|pk)_(live|test)_\w+")


@billing_providers.register
class StripeBilling(BillingProvider):
    name = "stripe"
    needs_account = True

    def __init__(self, *, client: stripe.StripeClient, price_ids: dict[str, str]) -> None:
        self.client = client
        self.price_ids = price_ids

    @classmethod
    def from_settings(cls) -> StripeBilling:
        if not settings.STRIPE_API_KEY:
            raise BillingNotConfigured("BILLING_PROVIDER is 'stripe' but STRIPE_API_KEY is not set.")
        base = {"base_addresses": {"api": settings.STRIPE_API_BASE}} if settings.STRIPE_API_BASE else {}
        return cls(
            client=stripe.StripeClient(settings.STRIPE_API_KEY, **base), price_ids=settings.STRIPE_PRICE_IDS
        )

    def checkout(
        self, *, organization: Organization, plan: str, customer_id: str, success_url: str, cancel_url: str
    ) -> CheckoutSession:
        price_id = self.price_ids.get(plan)
        if not price_id:
            offered = ", ".join(sorted(self.price_ids)) or "none"
            raise PlanNotAvailable(
                f"Plan '{plan}' has no Stripe price (STRIPE_PRICE_IDS); offered: {offered}."
            )
        with _stripe_errors("create the checkout session"):
            if not customer_id:
                customer_id = self._customer_create(organization)
            session = self.client.v1.checkout.sessions.create(
                params={
                    "mode": "subscription",
                    "customer": customer_id,
                    "line_items": [{"price": price_id, "quantity": 1}],
                    "success_url": success_url,
                    "cancel_url": cancel_url,
                    "client_reference_id": str(organization.pk),
                    "metadata": {"organization_id": str(organization.pk), "plan": plan},
                    "subscription_data": {
                        "metadata": {"organization_id": str(organization.pk), "plan": plan}
                    },
                }
            )
        return CheckoutSession(url=session.url, customer_id=customer_id)

    def portal(self, *, organization: Organization, customer_id: str, return_url: str) -> str:
        if not customer_id:
            raise PlanNotAvailable("This organization has no Stripe customer yet; start a checkout first.")
        with _stripe_errors("open the billing portal"):
            session = self.client.v1.billing_portal.sessions.create(
                params={"customer": customer_id, "return_url": return_url}
            )
        return session.url

    def _customer_create(self, organization: Organization) -> str:
        params = {"name": organization.name, "metadata": {"organization_id": str(organization.pk)}}
        if organization.contact_email:
            params["email"] = organization.contact_email
        # Two checkouts racing within Stripe's 24 h idempotency window make one customer, not two.
        customer = self.client.v1.customers.create(
            params=params, options={"idempotency_key": f"statux-customer-{organization.pk}"}
        )
        return customer.id


@contextmanager
def _stripe_errors(action: str) -> Iterator[None]:
    """Turn a StripeError into a 502 that says what failed, without our key or Stripe's internals."""
    try:
        yield
    except stripe.StripeError as exc:
        logger.warning("Stripe could not %s: %r", action, exc)
        if isinstance(exc, (stripe.AuthenticationError, stripe.PermissionError)):
            detail = "the configured STRIPE_API_KEY was refused"
        elif isinstance(exc, stripe.APIConnectionError):
            detail = "Stripe could not be reached"
        else:
            detail = SECRET_PATTERN.sub("[redacted]", exc.user_message or exc.code or "no details")
        status = f" (HTTP {exc.http_status})" if exc.http_status else ""
        raise BillingProviderError(f"Stripe could not {action}{status}: {detail}") from None


# --- Webhooks: what Stripe tells us, verified and read into plain values --------------------------------

MAX_ID_LENGTH = 255  # BillingAccount and StripeWebhookEvent columns; Stripe's ids are far shorter
MAX_STATUS_LENGTH = 32
MAX_TYPE_LENGTH = 100


class StripeWebhooksNotConfigured(StatuxError):
    status, code = 503, "stripe_webhooks_not_configured"


class InvalidStripeSignature(StatuxError):
    status, code = 400, "invalid_signature"


class InvalidStripeEvent(StatuxError):
    status, code = 400, "invalid_payload"


@dataclass(frozen=True)
class StripeEvent:
    id: str
    type: str
    created_at: datetime
    object: Mapping[str, Any]  # data.object: the checkout session, subscription or invoice


@dataclass(frozen=True)
class StripeCheckout:
    id: str
    mode: str
    customer_id: str
    subscription_id: str
    organization_id: str  # client_reference_id, else metadata.organization_id; both set by checkout()


@dataclass(frozen=True)
class StripeSubscription:
    id: str
    customer_id: str
    status: str
    price_ids: tuple[str, ...]
    current_period_end: datetime | None
    organization_id: str  # metadata.organization_id, set through subscription_data by checkout()


@dataclass(frozen=True)
class StripeInvoice:
    id: str
    customer_id: str
    subscription_id: str


def stripe_event_verify(*, body: bytes, signature: str) -> StripeEvent:
    """The event in `body` once `signature` (the Stripe-Signature header) proves Stripe sent it recently.

    Raises StripeWebhooksNotConfigured without STRIPE_WEBHOOK_SECRET, InvalidStripeSignature for a
    missing, wrong or expired signature, InvalidStripeEvent for a signed body that is not an event.
    """
    secret, tolerance = settings.STRIPE_WEBHOOK_SECRET, settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS
    if not secret:
        raise StripeWebhooksNotConfigured(
            "Stripe webhooks are not configured: set STRIPE_WEBHOOK_SECRET to the endpoint's signing secret."
        )
    if not signature:
        raise InvalidStripeSignature("The Stripe-Signature header is missing.")
    if not signature.isascii():  # the library's compare_digest raises TypeError on anything else
        raise InvalidStripeSignature("Stripe-Signature is not ASCII, so Stripe did not send it.")
    try:
        payload = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidStripeSignature("The body is not UTF-8, so Stripe did not sign it.") from None
    try:
        stripe.WebhookSignature.verify_header(payload, signature, secret, tolerance)
    except stripe.SignatureVerificationError:
        try:  # again without the time limit, to say which of the two failed
            stripe.WebhookSignature.verify_header(payload, signature, secret)
        except stripe.SignatureVerificationError:
            raise InvalidStripeSignature(
                "Stripe-Signature does not match the body and STRIPE_WEBHOOK_SECRET."
            ) from None
        raise InvalidStripeSignature(
            f"The Stripe-Signature timestamp is more than {tolerance} seconds old; replay refused."
        ) from None
    return _event_read(payload)


def _event_read(payload: str) -> StripeEvent:
    try:
        data = json.loads(payload)
    except (ValueError, RecursionError):
        raise InvalidStripeEvent("The body is not JSON.") from None
    if not isinstance(data, dict):
        raise InvalidStripeEvent("The body is not a Stripe event: expected a JSON object.")
    event_id, event_type = _text(data, "id"), _text(data, "type", MAX_TYPE_LENGTH)
    created_at = _timestamp(data.get("created"))
    if not (event_id and event_type and created_at):
        raise InvalidStripeEvent("The body is not a Stripe event: it needs id, type and created.")
    inner = data.get("data")
    found = inner.get("object") if isinstance(inner, dict) else None
    return StripeEvent(event_id, event_type, created_at, found if isinstance(found, dict) else {})


def stripe_checkout_read(session: Mapping[str, Any]) -> StripeCheckout:
    return StripeCheckout(
        id=_text(session, "id"),
        mode=_text(session, "mode"),
        customer_id=_ref(session.get("customer")),
        subscription_id=_ref(session.get("subscription")),
        organization_id=_text(session, "client_reference_id") or _metadata_organization(session),
    )


def stripe_subscription_read(subscription: Mapping[str, Any]) -> StripeSubscription:
    items = [item for item in _list_data(subscription.get("items")) if isinstance(item, dict)]
    prices = (item.get("price") for item in items)
    # API versions before 2025-03-31 put the period on the subscription, later ones on each item.
    ends = [_timestamp(subscription.get("current_period_end"))]
    ends += [_timestamp(item.get("current_period_end")) for item in items]
    return StripeSubscription(
        id=_text(subscription, "id"),
        customer_id=_ref(subscription.get("customer")),
        status=_text(subscription, "status", MAX_STATUS_LENGTH),
        price_ids=tuple(price_id for price in prices if (price_id := _ref(price))),
        current_period_end=max((end for end in ends if end), default=None),
        organization_id=_metadata_organization(subscription),
    )


def stripe_invoice_read(invoice: Mapping[str, Any]) -> StripeInvoice:
    # API versions before 2025-03-31 name the subscription at the top, later ones under parent.
    parent = invoice.get("parent")
    details = parent.get("subscription_details") if isinstance(parent, dict) else None
    nested = _ref(details.get("subscription")) if isinstance(details, dict) else ""
    return StripeInvoice(
        id=_text(invoice, "id"),
        customer_id=_ref(invoice.get("customer")),
        subscription_id=_ref(invoice.get("subscription")) or nested,
    )


def stripe_price_plan(price_ids: Iterable[str]) -> str | None:
    """The plan the first of `price_ids` sells, by STRIPE_PRICE_IDS ({plan: price id}); None for none."""
    plans = {price: plan for plan, price in settings.STRIPE_PRICE_IDS.items() if plan in Plan.values}
    return next((plans[price_id] for price_id in price_ids if price_id in plans), None)


def _text(mapping: Mapping[str, Any], key: str, max_length: int = MAX_ID_LENGTH) -> str:
    return _plain_text(mapping.get(key), max_length)


def _ref(value: Any) -> str:
    """The id of an expandable field: Stripe sends either the id or the whole object."""
    return _text(value, "id") if isinstance(value, dict) else _plain_text(value, MAX_ID_LENGTH)


def _plain_text(value: Any, max_length: int) -> str:
    # A string that fits its column; PostgreSQL refuses NUL in text, so such a value is no id.
    return value if isinstance(value, str) and len(value) <= max_length and "\x00" not in value else ""


def _list_data(value: Any) -> list:
    data = value.get("data") if isinstance(value, dict) else None
    return data if isinstance(data, list) else []


def _metadata_organization(obj: Mapping[str, Any]) -> str:
    metadata = obj.get("metadata")
    return _text(metadata, "organization_id") if isinstance(metadata, dict) else ""


def _timestamp(value: Any) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None
