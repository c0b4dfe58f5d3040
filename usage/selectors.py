from __future__ import annotations

from collections.abc import Iterable

from django.utils import timezone

from statux.models import Organization
from usage.models import UsageMonth


def current_month():
    return timezone.now().date().replace(day=1)


def usage_events_this_month(*, organizations: Iterable[Organization]) -> dict:
    """{organization_id: events} for the current month, in one query."""
    ids = [organization.pk for organization in organizations]
    rows = UsageMonth.objects.filter(organization_id__in=ids, month=current_month())
    return dict(rows.values_list("organization_id", "events"))
