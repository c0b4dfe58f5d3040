"""Incidents written straight to the database: these tests are about reading a history, not building it."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

from analyses.models import Incident

_numbers = itertools.count()


@pytest.fixture
def make_incident():
    def make(organization, title, *, service="", alertname="", status="resolved", days_ago=1, **fields):
        number = next(_numbers)
        created_at = timezone.now() - timedelta(days=days_ago, minutes=number)
        return Incident.objects.create(
            organization=organization,
            title=title,
            service=service,
            status=status,
            labels={"alertname": alertname} if alertname else {},
            fingerprint=f"similar-test-{number}",
            created_at=created_at,
            resolved_at=None if status in ("open", "acknowledged", "investigating") else created_at,
            **fields,
        )

    return make
