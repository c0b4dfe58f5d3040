"""An incident context as the context builder would assemble it, for provider and engine tests."""

from __future__ import annotations

import pytest

from analyses.providers.base import IncidentContext
from remediation.catalog import action_catalog_for_prompt


@pytest.fixture
def incident_context() -> IncidentContext:
    return IncidentContext(
        incident_id="inc-0123456789ab",
        organization_id="00000000-0000-0000-0000-000000000001",
        title="KubePodCrashLooping: checkout-api",
        description="Pod checkout-api-7d8f9c6b5-x2k4m restarted 5 times in 10 minutes.",
        severity="critical",
        source="alertmanager",
        service="checkout-api",
        namespace="production",
        pod="checkout-api-7d8f9c6b5-x2k4m",
        deployment="checkout-api",
        labels={"alertname": "KubePodCrashLooping", "severity": "critical", "namespace": "production"},
        alert_count=4,
        started_at="2026-11-23T10:30:00+00:00",
        kubernetes={
            "pod_status": "CrashLoopBackOff",
            "restart_count": 5,
            "last_termination_reason": "OOMKilled",
        },
        log_excerpt="2026-11-23 10:29:45 ERROR java.lang.OutOfMemoryError: Java heap space",
        action_catalog=action_catalog_for_prompt(),
    )
