"""Incident gauges for /metrics, read from the database at scrape time."""

from __future__ import annotations

from django.db.models import Count

from statux.metrics import register_gauge_source


@register_gauge_source
def incident_gauges() -> list:
    from analyses.models import Incident

    rows = Incident.objects.values("status", "severity").annotate(n=Count("pk"))
    return [
        (
            "statux_incidents",
            "Incidents by status and severity (all organizations).",
            {(row["status"], row["severity"]): row["n"] for row in rows},
            ("status", "severity"),
        ),
    ]
