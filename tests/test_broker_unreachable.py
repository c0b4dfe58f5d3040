"""A broker that is down: requests that queue work still answer, nothing is lost, and the beat's
requeue hands the waiting work on once the broker is back.

The broker is made absent at the wire: the Celery app publishes to a loopback port nobody listens on.
"""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from analyses.models import Analysis, AnalysisStatus, Incident
from analyses.services import analysis_requeue_stuck
from rca.models import GenerationStatus, Rca
from rca.services import rca_create, rca_generation_requeue_stuck, rca_link_incident
from statux.audit import Actor
from statux.celery import app as celery_app
from tests.conftest import GENERIC_ALERT
from tests.rca.conftest import make_incident
from webhooks.models import InboundEvent, InboundStatus

pytestmark = pytest.mark.django_db


class Broker:
    """Down until `back()`; then tasks run in this process, so the test sees the requeued work finish."""

    def __init__(self) -> None:
        self.saved = {key: celery_app.conf[key] for key in ("broker_url", "task_always_eager")}
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            closed_port = sock.getsockname()[1]  # released on close: connecting is refused
        self._configure(broker_url=f"redis://127.0.0.1:{closed_port}/0", task_always_eager=False)

    def back(self) -> None:
        self._configure(broker_url=self.saved["broker_url"], task_always_eager=True)

    def restore(self) -> None:
        self._configure(**self.saved)

    @staticmethod
    def _configure(**conf) -> None:
        celery_app.conf.update(conf)
        celery_app._pool = None  # kombu's connection and producer pools keep the broker they were made for
        celery_app.amqp._producer_pool = None


@pytest.fixture
def broker():
    broker = Broker()
    yield broker
    broker.restore()


def test_an_alert_is_answered_and_its_analysis_waits_for_the_requeue(
    post_alert, settings, broker, django_capture_on_commit_callbacks
):
    settings.ANALYSIS_AUTO_MIN_SEVERITY = "warning"
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = post_alert({**GENERIC_ALERT, "title": "OOMKilled: payments-api", "severity": "critical"})

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["ok"], body["deduplicated"], body["queued"]) == (True, False, False)
    assert len(callbacks) == 2  # the analysis publish and the correlation refresh were both attempted
    analysis = Analysis.objects.get(incident=Incident.objects.get(pk=body["incident_id"]))
    assert analysis.status == AnalysisStatus.PENDING  # its task never reached a broker
    assert InboundEvent.objects.get(pk=body["event_id"]).status == InboundStatus.PROCESSED

    broker.back()
    later = time_machine.travel(timezone.now() + timedelta(minutes=6))
    with later, django_capture_on_commit_callbacks(execute=True):
        assert analysis_requeue_stuck() == 1

    analysis.refresh_from_db()
    assert analysis.status == AnalysisStatus.COMPLETED
    assert analysis.provider == "deterministic" and "payments-api" in analysis.summary


def test_requesting_an_analysis_answers_202_while_the_broker_is_down(
    operator_client, org, broker, django_capture_on_commit_callbacks
):
    incident = make_incident(org)
    with django_capture_on_commit_callbacks(execute=True):
        response = operator_client.post(
            f"/api/v1/organizations/{org.pk}/insights", {"incidentId": incident.pk}, format="json"
        )

    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "pending"
    assert Analysis.objects.get(pk=body["id"]).status == AnalysisStatus.PENDING


def test_requesting_an_rca_draft_answers_202_and_the_requeue_writes_it_later(
    operator_client, operator, org, broker, django_capture_on_commit_callbacks
):
    rca = rca_create(organization=org, title="Checkout outage", actor=Actor(user=operator))
    rca_link_incident(rca=rca, incident=make_incident(org), actor=Actor(user=operator))
    with django_capture_on_commit_callbacks(execute=True):
        response = operator_client.post(f"/api/v1/organizations/{org.pk}/rcas/{rca.pk}/generate")

    assert response.status_code == 202, response.content
    assert response.json()["generation"]["status"] == "pending"
    assert Rca.objects.get(pk=rca.pk).generation_status == GenerationStatus.PENDING

    broker.back()
    later = time_machine.travel(timezone.now() + timedelta(minutes=6))
    with later, django_capture_on_commit_callbacks(execute=True):
        assert rca_generation_requeue_stuck() == 1

    rca.refresh_from_db()
    assert rca.generation_status == GenerationStatus.COMPLETED
    assert "checkout-api" in rca.summary + rca.root_cause
