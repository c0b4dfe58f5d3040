"""The dashboard's incident summary: active incidents by severity and a bar chart of new incidents per hour.

Read-models only, built on the incident selectors; the chart's geometry is computed here so the template
draws an inline SVG without JavaScript.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db.models import Count, QuerySet
from django.db.models.functions import TruncHour
from django.utils import timezone

from analyses import selectors
from analyses.models import ACTIVE_STATUSES, Incident
from statux.models import Organization, Severity

CHART_HOURS = 24
# SVG user units: a slot per hour, room on the left for the scale and below for the hour labels.
CHART_LEFT, CHART_SLOT, CHART_BAR = 34, 28, 20
CHART_TOP, CHART_PLOT_HEIGHT, CHART_BOTTOM = 18, 120, 24
CHART_LABEL_EVERY_HOURS = 3


@dataclass(frozen=True)
class HourBar:
    start: datetime
    count: int
    x: float
    y: float
    height: float

    @property
    def label(self) -> str:
        return f"{self.start:%H}:00"

    @property
    def center(self) -> float:
        return self.x + CHART_BAR / 2

    @property
    def slot_x(self) -> float:
        return self.x - (CHART_SLOT - CHART_BAR) / 2

    @property
    def value_y(self) -> float:
        return self.y - 4


@dataclass(frozen=True)
class HourlyChart:
    bars: list[HourBar]
    scale_max: int
    total: int

    width = CHART_LEFT + CHART_HOURS * CHART_SLOT + 4
    height = CHART_TOP + CHART_PLOT_HEIGHT + CHART_BOTTOM
    left = CHART_LEFT
    top = CHART_TOP
    plot_height = CHART_PLOT_HEIGHT
    baseline = CHART_TOP + CHART_PLOT_HEIGHT
    bar_width = CHART_BAR
    slot_width = CHART_SLOT
    scale_x = CHART_LEFT - 6
    label_y = CHART_TOP + CHART_PLOT_HEIGHT + 16

    @property
    def busiest(self) -> HourBar | None:
        return max(self.bars, key=lambda bar: (bar.count, bar.start)) if self.total else None

    @property
    def labels(self) -> list[tuple[float, str]]:
        """(x, text) under the axis: every third hour, and "now" under the current hour."""
        every = [
            (bar.center, bar.label)
            for bar in self.bars[:-2]  # the last two slots leave room for "now"
            if bar.start.hour % CHART_LABEL_EVERY_HOURS == 0
        ]
        return [*every, (self.bars[-1].center, "now")]


def _incidents(organization: Organization) -> QuerySet[Incident]:
    return selectors.incident_list_aisre(organization=organization, filters={}).order_by()


def incident_severity_counts(*, organization: Organization) -> list[tuple[str, int]]:
    """[(severity, active incidents)] for every severity, worst first, zeros included."""
    counts = dict(
        _incidents(organization)
        .filter(status__in=ACTIVE_STATUSES)
        .values_list("severity")
        .annotate(count=Count("pk"))
    )
    return [(severity, counts.get(severity, 0)) for severity in Severity.values]


def _scale(largest: int) -> int:
    """A round top for the y axis: 1, 2, 5, 10, 20, 50 … at least `largest`."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= largest:
                return step * factor
        step *= 10


def incident_hourly_chart(*, organization: Organization, now: datetime | None = None) -> HourlyChart:
    """Incidents created in each of the last 24 hours (UTC), the current partial hour last."""
    now = now or timezone.now()
    first_hour = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(
        hours=CHART_HOURS - 1
    )
    rows = (
        _incidents(organization)
        .filter(created_at__gte=first_hour)
        .annotate(hour=TruncHour("created_at", tzinfo=UTC))
        .values_list("hour")
        .annotate(count=Count("pk"))
    )
    per_hour = {hour.astimezone(UTC): count for hour, count in rows}
    counts = [per_hour.get(first_hour + timedelta(hours=i), 0) for i in range(CHART_HOURS)]
    scale_max = _scale(max(counts))
    bars = []
    for i, count in enumerate(counts):
        height = CHART_PLOT_HEIGHT * count / scale_max
        bars.append(
            HourBar(
                start=first_hour + timedelta(hours=i),
                count=count,
                x=CHART_LEFT + i * CHART_SLOT + (CHART_SLOT - CHART_BAR) / 2,
                y=round(CHART_TOP + CHART_PLOT_HEIGHT - height, 2),
                height=round(height, 2),
            )
        )
    return HourlyChart(bars=bars, scale_max=scale_max, total=sum(counts))


def incident_summary(*, organization: Organization) -> dict:
    """Dashboard context: active incidents by severity, their total, and the hourly chart."""
    severity_counts = incident_severity_counts(organization=organization)
    return {
        "incident_severity_counts": severity_counts,
        "active_incident_count": sum(count for _, count in severity_counts),
        "incident_chart": incident_hourly_chart(organization=organization),
    }
