"""Real component checks for GET /api/v1/status: a component that is down says so."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
from django.conf import settings
from django.db import connection
from django.utils import timezone

from statux.models import Heartbeat

UNHEALTHY = {"down", "unreachable", "stale", "none", "not_configured"}
WATCHDOG = "watchdog"


@dataclass
class SystemStatus:
    components: dict[str, str]
    workers: list[str] = field(default_factory=list)
    watchdog: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> str:
        if self.components.get("database") == "down":
            return "down"
        return "degraded" if UNHEALTHY & set(self.components.values()) else "ok"


def check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:  # any driver error means the same thing to an operator: the database is down
        return "down"
    return "ok"


def check_broker() -> str:
    if not settings.REDIS_URL:
        return "in_process"
    import redis

    try:
        client = redis.Redis.from_url(
            settings.REDIS_URL,
            socket_timeout=settings.STATUS_CHECK_TIMEOUT_SECONDS,
            socket_connect_timeout=settings.STATUS_CHECK_TIMEOUT_SECONDS,
        )
        client.ping()
    except redis.RedisError:
        return "down"
    return "ok"


def check_workers(broker: str) -> tuple[str, list[str]]:
    if broker == "in_process":
        return "in_process", []
    if broker != "ok":
        return "unknown", []
    from statux.celery import app

    replies = app.control.ping(timeout=settings.STATUS_CHECK_TIMEOUT_SECONDS) or []
    names = sorted(name for reply in replies for name in reply)
    return ("running" if names else "none"), names


def check_llm() -> str:
    provider = settings.AI_PROVIDER
    if provider == "deterministic":
        return "deterministic"
    if provider == "openai":
        if not settings.OPENAI_BASE_URL:
            return "not_configured"
        headers = {"Authorization": f"Bearer {settings.OPENAI_API_KEY}"} if settings.OPENAI_API_KEY else {}
        try:
            response = httpx.get(
                f"{settings.OPENAI_BASE_URL.rstrip('/')}/models",
                headers=headers,
                timeout=settings.STATUS_CHECK_TIMEOUT_SECONDS,
            )
        except httpx.HTTPError:
            return "unreachable"
        return "connected" if response.status_code < 400 else "unreachable"
    if provider == "bedrock":
        import boto3

        credentials = boto3.Session(region_name=settings.AWS_REGION).get_credentials()
        return "configured" if credentials is not None else "not_configured"
    return "not_configured"


def check_watchdog() -> tuple[str, dict[str, Any]]:
    heartbeat = Heartbeat.objects.filter(name=WATCHDOG).first()
    if heartbeat is None:
        return ("not_started" if settings.REDIS_URL else "in_process"), {
            "last_run": None,
            "metrics_monitored": 0,
            "anomalies_last_hour": 0,
        }
    fresh = timezone.now() - heartbeat.last_seen_at <= timedelta(
        seconds=3 * settings.WATCHDOG_INTERVAL_SECONDS
    )
    details = {
        "last_run": heartbeat.last_seen_at,
        "metrics_monitored": heartbeat.details.get("metrics_monitored", 0),
        "anomalies_last_hour": heartbeat.details.get("anomalies_last_hour", 0),
    }
    return ("running" if fresh else "stale"), details


def system_status() -> SystemStatus:
    database = check_database()
    broker = check_broker()
    workers, names = check_workers(broker)
    watchdog, watchdog_details = check_watchdog() if database == "ok" else ("unknown", {})
    return SystemStatus(
        components={
            "database": database,
            "broker": broker,
            "workers": workers,
            "llm": check_llm(),
            "watchdog": watchdog,
        },
        workers=names,
        watchdog=watchdog_details,
    )
