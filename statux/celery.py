"""The Celery app and its queues; without REDIS_URL tasks run in-process (CELERY_TASK_ALWAYS_EAGER)."""

from __future__ import annotations

import os
import time
from enum import StrEnum

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "statux.settings")


class Queue(StrEnum):
    INGEST = "ingest"
    ANALYSIS = "analysis"
    RCA = "rca"
    REMEDIATION = "remediation"
    NOTIFY = "notify"
    DEFAULT = "default"


app = Celery("statux")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

_started: dict[str, float] = {}


@signals.task_prerun.connect
def _task_started(task_id: str | None = None, **_: object) -> None:
    if task_id:
        _started[task_id] = time.perf_counter()


@signals.task_postrun.connect
def _task_finished(task_id: str | None = None, task=None, state: str | None = None, **_: object) -> None:
    from statux.metrics import TASK_DURATION, TASKS

    name = getattr(task, "name", "unknown")
    TASKS.labels(name, (state or "unknown").lower()).inc()
    started = _started.pop(task_id, None) if task_id else None
    if started is not None:
        TASK_DURATION.labels(name).observe(time.perf_counter() - started)
