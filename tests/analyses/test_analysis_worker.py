"""A real Celery worker on Redis runs an analysis end to end (CI: PostgreSQL + Redis)."""

from __future__ import annotations

import time

import pytest

from analyses.models import Analysis, AnalysisStatus
from analyses.services import analysis_request
from tests.conftest import GENERIC_ALERT
from tests.statux.test_celery_worker import start_worker, stop

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_a_requested_analysis_is_run_by_a_worker_off_the_analysis_queue(settings, tmp_path, post_alert):
    log_path = tmp_path / "worker.log"
    worker = start_worker(settings.REDIS_URL, log_path, queues="analysis")
    try:
        settings.ANALYSIS_AUTO_MIN_SEVERITY = "off"
        incident_id = post_alert({**GENERIC_ALERT, "title": "OOMKilled: payments-api"}).json()["incident_id"]
        from analyses.models import Incident

        analysis, created = analysis_request(
            incident=Incident.objects.get(pk=incident_id), trigger="manual", requested_by="test"
        )
        assert created
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            analysis.refresh_from_db()
            if analysis.status in (AnalysisStatus.COMPLETED, AnalysisStatus.FAILED):
                break
            assert worker.poll() is None, log_path.read_text()
            time.sleep(0.2)

        assert analysis.status == AnalysisStatus.COMPLETED, log_path.read_text()
        assert (analysis.provider, analysis.incident_id) == ("deterministic", incident_id)
        assert "payments-api" in analysis.summary
        assert (
            list(analysis.events.order_by("created_at", "id").values_list("event_type", flat=True))[-1]
            == "completed"
        )
        assert Analysis.objects.filter(incident_id=incident_id).count() == 1
    finally:
        stop(worker)
