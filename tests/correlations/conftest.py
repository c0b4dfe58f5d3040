"""Fixtures for anomalies and the service graph: rows made the way the app makes them."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from analyses.models import Anomaly, Incident
from statux.models import Organization
from tests.console.conftest import logged_in

START = datetime.fromisoformat("2026-10-01T00:00:00+00:00")


@pytest.fixture
def make_anomaly():
    def make(organization: Organization, *, detected_at: datetime, **fields) -> Anomaly:
        values = {"service_id": "payment-api", "metric_name": "HighCPU", "anomaly_score": 0.5, "z_score": 2.0}
        return Anomaly.objects.create(organization=organization, detected_at=detected_at, **(values | fields))

    return make


@pytest.fixture
def make_incidents():
    """Incidents of `service` starting at each of `starts`, one fingerprint each, as ingestion stores them."""

    def make(
        organization: Organization, service: str, starts: list[datetime], status: str = "resolved"
    ) -> None:
        Incident.objects.bulk_create(
            Incident(
                organization=organization,
                title=f"{service} failing",
                service=service,
                status=status,
                fingerprint=f"{service}-{index}",
                started_at=start,
                created_at=start + timedelta(seconds=5),
            )
            for index, start in enumerate(starts)
        )

    return make


@pytest.fixture
def viewer_console(viewer):
    return logged_in(viewer)
