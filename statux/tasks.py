"""Core periodic tasks: the watchdog heartbeat, and a worker round-trip probe."""

from __future__ import annotations

import socket

from celery import shared_task

from statux.celery import Queue
from statux.health import WATCHDOG
from statux.services import heartbeat_record


@shared_task(
    name="statux.watchdog_tick",
    queue=Queue.DEFAULT,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def watchdog_tick_task() -> None:
    """Beat calls this every WATCHDOG_INTERVAL_SECONDS; safe to run twice (it only moves a timestamp)."""
    heartbeat_record(name=WATCHDOG, details={"host": socket.gethostname()})


@shared_task(
    name="statux.worker_probe",
    queue=Queue.DEFAULT,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def worker_probe_task(probe_name: str) -> None:
    """Records that a worker picked up and ran a task; used by the CI round trip and by operators."""
    heartbeat_record(name=probe_name, details={"host": socket.gethostname()})
