from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import F

from statux.models import Organization
from usage.models import UsageMonth
from usage.selectors import current_month


def usage_record_events(*, organization: Organization, count: int = 1) -> None:
    """Add `count` ingested events to this month; concurrent callers never lose a count (F expression)."""
    month = current_month()
    updated = UsageMonth.objects.for_org(organization).filter(month=month).update(events=F("events") + count)
    if updated:
        return
    try:
        with transaction.atomic():
            UsageMonth.objects.create(organization=organization, month=month, events=count)
    except IntegrityError:  # another request created the month first
        UsageMonth.objects.for_org(organization).filter(month=month).update(events=F("events") + count)
