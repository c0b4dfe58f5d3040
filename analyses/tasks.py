"""Celery entry points for analyses; thin, and safe to run twice."""

from __future__ import annotations

from celery import shared_task

from analyses.services import analysis_requeue_stuck, analysis_run
from statux.celery import Queue

ANALYSIS_TASK = {
    "queue": Queue.ANALYSIS,
    "acks_late": True,
    "reject_on_worker_lost": True,
    "ignore_result": True,
}


@shared_task(name="analyses.run_analysis", **ANALYSIS_TASK)
def analysis_run_task(analysis_id: str) -> None:
    analysis_run(analysis_id=analysis_id)  # claims the row under a lock; a finished analysis is skipped


@shared_task(name="analyses.requeue_stuck_analyses", **ANALYSIS_TASK)
def analysis_requeue_stuck_task() -> None:
    analysis_requeue_stuck()
