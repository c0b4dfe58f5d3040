"""Celery entry points for RCA drafts; thin, and safe to run twice."""

from __future__ import annotations

from celery import shared_task

from rca.services import rca_generate, rca_generation_requeue_stuck
from statux.celery import Queue

RCA_TASK = {
    "queue": Queue.RCA,
    "acks_late": True,
    "reject_on_worker_lost": True,
    "ignore_result": True,
}


@shared_task(name="rca.generate_draft", **RCA_TASK)
def rca_generate_draft_task(rca_id: str) -> None:
    rca_generate(rca_id=rca_id)  # claims the row under a lock; a finished generation is skipped


@shared_task(name="rca.requeue_stuck_generations", **RCA_TASK)
def rca_generation_requeue_stuck_task() -> None:
    rca_generation_requeue_stuck()
