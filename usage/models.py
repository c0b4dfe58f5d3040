from decimal import Decimal

from django.db import models

from statux.tenancy import TenantModel


class UsageMonth(TenantModel):
    """One organization's consumption in one calendar month (UTC); counters only ever grow."""

    month = models.DateField(help_text="First day of the month.")
    events = models.PositiveBigIntegerField(default=0)
    analyses = models.PositiveIntegerField(default=0)
    tokens = models.PositiveBigIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=12, decimal_places=4, default=Decimal("0"))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "month"], name="usage_month_one_per_org")
        ]

    def __str__(self) -> str:
        return f"{self.organization_id} {self.month:%Y-%m}"
