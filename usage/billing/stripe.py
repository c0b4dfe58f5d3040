"""Stripe billing through the official library: Checkout in subscription mode and the billing portal."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager

import stripe
from django.conf import settings

from statux.models import Organization
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
