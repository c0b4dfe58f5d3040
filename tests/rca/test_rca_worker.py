"""A real Celery worker on Redis writes an RCA draft off the rca queue (CI: PostgreSQL + Redis)."""

from __future__ import annotations

import time

import pytest

from rca.models import GenerationStatus, Rca
from rca.services import rca_create, rca_generation_request, rca_link_incident
from statux.audit import Actor
from tests.rca.conftest import make_incident
from tests.statux.test_celery_worker import start_worker, stop

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_a_requested_draft_is_written_by_a_worker_off_the_rca_queue(settings, tmp_path, org, operator):
    log_path = tmp_path / "worker.log"
    worker = start_worker(settings.REDIS_URL, log_path, queues="rca")
    try:
        actor = Actor(user=operator)
        incident = make_incident(org, title="OOMKilled: payments-api", service="payments-api")
        rca = rca_create(organization=org, title="Payments outage", actor=actor)
        rca_link_incident(rca=rca, incident=incident, actor=actor)

        rca_generation_request(rca=rca, actor=actor)  # commits: the task is sent on commit
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            rca.refresh_from_db()
            if rca.generation_status in (GenerationStatus.COMPLETED, GenerationStatus.FAILED):
                break
            assert worker.poll() is None, log_path.read_text()
            time.sleep(0.2)

        assert rca.generation_status == GenerationStatus.COMPLETED, (
            rca.generation_error,
            log_path.read_text(),
        )
        assert rca.generation_provider == "deterministic"
        assert "payments-api" in rca.summary + rca.root_cause + rca.impact
        assert (
            list(rca.generation_events.order_by("id").values_list("event_type", flat=True))[-1] == "completed"
        )
        assert Rca.objects.filter(organization=org).count() == 1
    finally:
        stop(worker)
