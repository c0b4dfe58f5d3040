"""Reads of RCA documents: lists with their filters, stats, links, action items, incident search, history."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import django_filters
from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, Q, QuerySet
from django.db.models.functions import TruncMonth
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from analyses.models import Incident
from rca.models import (
    EXTERNAL_PRODUCTS,
    ActionItemStatus,
    Rca,
    RcaActionItem,
    RcaGenerationEvent,
    RcaIncidentLink,
    RcaRevision,
    RcaStatus,
)
from statux.errors import NotFound
from statux.models import Organization

SEARCH_LIMIT_DEFAULT = 20
SEARCH_LIMIT_MAX = 50
STATS_MONTHS = 12
# "alerting:INC-42": another product's incident, named by its own id.
EXTERNAL_REFERENCE = re.compile(rf"^\s*({'|'.join(EXTERNAL_PRODUCTS)})\s*:\s*(\S.{{0,199}}?)\s*$", re.I)


def _uuid_or_none(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


class RcaFilter(django_filters.FilterSet):
    """Statux RCA list filters, named as on the wire (camelCase)."""

    status = django_filters.ChoiceFilter(field_name="status", choices=RcaStatus.choices)
    createdBy = django_filters.CharFilter(method="filter_created_by")
    q = django_filters.CharFilter(method="filter_text")
    createdAfter = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    createdBefore = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    ordering = django_filters.OrderingFilter(
        fields=(("created_at", "createdAt"), ("updated_at", "updatedAt"), ("title", "title"))
    )

    class Meta:
        model = Rca
        fields: list[str] = []

    def filter_created_by(self, queryset: QuerySet[Rca], name: str, value: str) -> QuerySet[Rca]:
        """A user id, or the email (label) the RCA was created under."""
        if (user_id := _uuid_or_none(value)) is not None:
            return queryset.filter(created_by_id=user_id)
        return queryset.filter(created_by_label__iexact=value.strip())

    def filter_text(self, queryset: QuerySet[Rca], name: str, value: str) -> QuerySet[Rca]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(title__icontains=value) | Q(summary__icontains=value) | Q(root_cause__icontains=value)
        )


def rca_list(*, organization: Organization, filters: Mapping[str, str]) -> QuerySet[Rca]:
    rcas = Rca.objects.for_org(organization).select_related("created_by").order_by("-created_at")
    filterset = RcaFilter(filters, queryset=rcas)
    if not filterset.is_valid():
        raise ValidationError(filterset.errors)
    return filterset.qs


def rca_get(*, organization: Organization, rca_id: Any) -> Rca:
    rca = (
        Rca.objects.for_org(organization)
        .select_related("created_by")
        .filter(pk=_uuid_or_none(rca_id))
        .first()
    )
    if rca is None:
        raise NotFound(f"RCA {rca_id} not found.")
    return rca


def rca_for_incident(*, incident: Incident) -> Rca | None:
    """The newest RCA linked to the local incident, if any (the AI-SRE postmortem of that incident)."""
    link = (
        RcaIncidentLink.objects.for_org_id(incident.organization_id)
        .filter(incident=incident)
        .select_related("rca")
        .order_by("-rca__created_at")
        .first()
    )
    return link.rca if link is not None else None


def _children(model: type, rca: Rca, *related: str) -> QuerySet:
    """Rows of one RCA, oldest first, with what their serializer reads."""
    rows = model.objects.for_org_id(rca.organization_id).filter(rca=rca)
    return rows.select_related(*related).order_by("created_at", "id")


def _child_get(rows: QuerySet, row_id: Any, what: str, rca: Rca) -> Any:
    row = rows.filter(pk=_uuid_or_none(row_id)).first()
    if row is None:
        raise NotFound(f"{what} {row_id} not found on RCA {rca.pk}.")
    return row


def rca_incident_link_list(*, rca: Rca) -> QuerySet[RcaIncidentLink]:
    return _children(RcaIncidentLink, rca, "incident", "linked_by")


def rca_incident_link_get(*, rca: Rca, link_id: Any) -> RcaIncidentLink:
    return _child_get(rca_incident_link_list(rca=rca), link_id, "Incident link", rca)


def rca_action_item_list(*, rca: Rca) -> QuerySet[RcaActionItem]:
    return _children(RcaActionItem, rca, "assignee", "created_by")


def rca_action_item_get(*, rca: Rca, item_id: Any) -> RcaActionItem:
    return _child_get(rca_action_item_list(rca=rca), item_id, "Action item", rca)


def rca_revision_list(*, rca: Rca) -> QuerySet[RcaRevision]:
    return _children(RcaRevision, rca)


def rca_generation_event_list(*, rca: Rca) -> QuerySet[RcaGenerationEvent]:
    return _children(RcaGenerationEvent, rca)


# --- Stats ---------------------------------------------------------------------------------------------


def _month_starts(today: date, count: int) -> list[date]:
    """The first days of the last `count` months, oldest first, ending with this month."""
    year, month = today.year, today.month
    months = []
    for _ in range(count):
        months.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months[::-1]


def rca_stats(*, organization: Organization) -> dict[str, Any]:
    """Counts by status, action items by status and overdue, mean hours to publish, RCAs per month.

    Four queries whatever the history's size. Overdue: open or in progress with a due date before today.
    """
    rcas = Rca.objects.for_org(organization)
    by_status = {status: 0 for status in RcaStatus.values} | dict(
        rcas.order_by().values_list("status").annotate(n=Count("pk"))
    )
    today = timezone.localdate()
    items = RcaActionItem.objects.for_org(organization).aggregate(
        open=Count("pk", filter=Q(status=ActionItemStatus.OPEN)),
        in_progress=Count("pk", filter=Q(status=ActionItemStatus.IN_PROGRESS)),
        done=Count("pk", filter=Q(status=ActionItemStatus.DONE)),
        cancelled=Count("pk", filter=Q(status=ActionItemStatus.CANCELLED)),
        overdue=Count(
            "pk",
            filter=Q(status__in=[ActionItemStatus.OPEN, ActionItemStatus.IN_PROGRESS], due_date__lt=today),
        ),
    )
    mean = rcas.filter(published_at__isnull=False).aggregate(
        mean=Avg(ExpressionWrapper(F("published_at") - F("created_at"), output_field=DurationField()))
    )["mean"]
    months = _month_starts(today, STATS_MONTHS)
    first = timezone.make_aware(datetime.combine(months[0], datetime.min.time()))
    counted = {
        _as_date(month): n
        for month, n in rcas.filter(created_at__gte=first)
        .annotate(month=TruncMonth("created_at"))
        .order_by()
        .values_list("month")
        .annotate(n=Count("pk"))
    }
    return {
        "total": sum(by_status.values()),
        "by_status": by_status,
        "action_items": items,
        "mean_time_to_publish_hours": round(_hours(mean), 2) if mean is not None else None,
        "per_month": [{"month": month.strftime("%Y-%m"), "count": counted.get(month, 0)} for month in months],
    }


def _as_date(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def _hours(value: timedelta | float) -> float:
    # SQLite returns the average of a duration as microseconds, PostgreSQL as a timedelta.
    if isinstance(value, timedelta):
        return value.total_seconds() / 3600
    return float(value) / 3_600_000_000


# --- Incident search (what to link) --------------------------------------------------------------------


@dataclass(frozen=True)
class IncidentCandidate:
    product: str
    incident_id: str | None
    external_id: str
    title: str
    service: str = ""
    severity: str | None = None
    status: str | None = None
    created_at: datetime | None = None
    url: str = ""


def rca_incident_search(
    *, organization: Organization, q: str, limit: int = SEARCH_LIMIT_DEFAULT
) -> list[IncidentCandidate]:
    """This organization's incidents by title, service or id (newest first), plus, when `q` reads
    `product:external_id` for another product (`alerting:INC-42`), that reference first. Two queries at most.
    """
    q = q.strip()
    found: list[IncidentCandidate] = []
    if (match := EXTERNAL_REFERENCE.match(q)) is not None:
        product, external_id = match.group(1).lower(), match.group(2)
        found.append(IncidentCandidate(product=product, incident_id=None, external_id=external_id, title=""))
        q = external_id
    incidents = Incident.objects.for_org(organization).only(
        "id", "title", "service", "severity", "status", "created_at"
    )
    if q:
        incidents = incidents.filter(
            Q(id__iexact=q) | Q(title__icontains=q) | Q(service__icontains=q) | Q(external_id__iexact=q)
        )
    for incident in incidents.order_by("-created_at")[: max(0, limit - len(found))]:
        found.append(
            IncidentCandidate(
                product="statux",
                incident_id=incident.pk,
                external_id=incident.pk,
                title=incident.title,
                service=incident.service,
                severity=incident.severity,
                status=incident.status,
                created_at=incident.created_at,
            )
        )
    return found
