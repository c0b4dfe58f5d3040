"""Self-hosted billing: the plan is set on the Organization by an operator; nothing is sold."""

from __future__ import annotations

from statux.models import Organization
from usage.billing.base import BillingProvider, CheckoutSession, billing_providers, console_usage_url


@billing_providers.register
class SelfHostedBilling(BillingProvider):
    name = "self_hosted"

    @classmethod
    def from_settings(cls) -> SelfHostedBilling:
        return cls()

    def checkout(
        self, *, organization: Organization, plan: str, customer_id: str, success_url: str, cancel_url: str
    ) -> CheckoutSession:
        # Changes nothing: the usage page says who sets plans on a self-hosted install.
        return CheckoutSession(url=console_usage_url(plan=plan))

    def portal(self, *, organization: Organization, customer_id: str, return_url: str) -> str:
        return console_usage_url()
