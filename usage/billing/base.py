"""Billing providers: where an organization buys a plan. One module per provider registers itself."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from django.conf import settings

from statux.errors import StatuxError
from statux.models import Organization
from statux.registry import Registry, UnknownIntegration

billing_providers = Registry("billing_providers")

CONSOLE_USAGE_PATH = "/console/usage/"


class BillingNotConfigured(StatuxError):
    status, code = 503, "billing_not_configured"


class BillingProviderError(StatuxError):
    """The provider refused or could not be reached; the message never carries our credentials."""

    status, code = 502, "billing_provider_error"


class PlanNotAvailable(StatuxError):
    status, code = 400, "plan_not_available"


class SubscriptionExists(StatuxError):
    """A second checkout would start a second subscription, billed next to the first."""

    status, code = 409, "subscription_exists"


@dataclass(frozen=True)
class CheckoutSession:
    url: str
    customer_id: str = ""  # the provider's customer, to remember in BillingAccount


class BillingProvider(ABC):
    """Sells plans. Clients arrive through the constructor; `from_settings()` builds the real ones."""

    name: str
    needs_account: bool = False  # keeps a BillingAccount (customer id) per organization

    @classmethod
    @abstractmethod
    def from_settings(cls) -> BillingProvider:
        """Build the provider from settings; raise BillingNotConfigured when it cannot."""

    @abstractmethod
    def checkout(
        self, *, organization: Organization, plan: str, customer_id: str, success_url: str, cancel_url: str
    ) -> CheckoutSession:
        """Where the buyer goes to pay for `plan`; raise PlanNotAvailable or BillingProviderError."""

    @abstractmethod
    def portal(self, *, organization: Organization, customer_id: str, return_url: str) -> str:
        """Where the customer manages the subscription; raise BillingProviderError."""


def console_usage_url(**query: str) -> str:
    from urllib.parse import urlencode

    suffix = f"?{urlencode(query)}" if query else ""
    return f"{settings.SITE_URL}{CONSOLE_USAGE_PATH}{suffix}"


def billing_provider_get(name: str | None = None) -> BillingProvider:
    """The configured provider (BILLING_PROVIDER), built from settings."""
    name = name or settings.BILLING_PROVIDER
    try:
        provider_class = billing_providers.get(name)
    except UnknownIntegration as exc:
        raise BillingNotConfigured(f"BILLING_PROVIDER: {exc}") from None
    return provider_class.from_settings()
