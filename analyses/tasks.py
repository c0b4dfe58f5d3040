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


@shared_task(
    name="analyses.learn_service_correlations",
    queue=Queue.RCA,  # batch work for the RCA surface: it never delays an incident's analysis
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def service_correlations_learn_task(organization_id: str | None = None) -> None:
    """Beat runs it without an id and it fans out, one task per organization: a slow or broken tenant
    delays nobody else. With an id it re-learns that organization; replacing its rows is idempotent."""
    from analyses.correlations import service_correlation_organizations, service_correlations_learn

    if organization_id is None:
        for organization in service_correlation_organizations():
            service_correlations_learn_task.delay(str(organization))
        return
    service_correlations_learn(organization_id=organization_id)
