"""Celery entry points for ingestion; thin, and safe to run twice."""

from __future__ import annotations

from celery import Task, shared_task
from celery.utils.time import get_exponential_backoff_interval
from django.conf import settings

from statux.celery import Queue
from webhooks.normalizers.base import InvalidPayload
from webhooks.services import inbound_event_dead_letter, inbound_event_process


@shared_task(
    bind=True,
    name="webhooks.process_inbound_event",
    queue=Queue.INGEST,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=None,
    ignore_result=True,
)
def inbound_event_process_task(self: Task, event_id: str) -> None:
    try:
        inbound_event_process(event_id=event_id)  # locks the event; returns early once processed
    except InvalidPayload as exc:
        inbound_event_dead_letter(event_id=event_id, reason=str(exc))
    except Exception as exc:  # anything else (database, broker, a bug) is retried, then dead-lettered
        if self.request.retries >= settings.INGEST_MAX_RETRIES:
            inbound_event_dead_letter(
                event_id=event_id, reason=f"gave up after {self.request.retries} retries: {exc!r}"
            )
            return
        # Embedded mode runs tasks eagerly, where apply() replays a returned Retry inline; a worker raises it.
        return self.retry(
            exc=exc,
            countdown=get_exponential_backoff_interval(
                factor=2, retries=self.request.retries, maximum=300, full_jitter=True
            ),
            throw=not self.request.is_eager,
        )
