"""Prometheus metrics: request, ingestion and task counters/histograms, plus gauges read at scrape time."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator

from django.http import HttpRequest, HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

HTTP_REQUESTS = Counter("statux_http_requests_total", "HTTP requests served.", ["method", "route", "status"])
HTTP_LATENCY = Histogram(
    "statux_http_request_duration_seconds",
    "Time to serve an HTTP request.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
ALERTS_INGESTED = Counter(
    "statux_alerts_ingested_total", "Alerts received by the ingestion endpoints.", ["source", "outcome"]
)
TASKS = Counter("statux_celery_tasks_total", "Celery tasks finished, by outcome.", ["task", "state"])
TASK_DURATION = Histogram(
    "statux_celery_task_duration_seconds",
    "Run time of Celery tasks.",
    ["task"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300),
)

# Gauges that later apps add: a callable returning [(name, help, {labels: value})].
_gauge_sources: list[Callable[[], list[tuple[str, str, dict[tuple[str, ...], float], tuple[str, ...]]]]] = []


def register_gauge_source(source: Callable) -> Callable:
    _gauge_sources.append(source)
    return source


class DatabaseGauges(Collector):
    """Counts read from the database at scrape time, so every web process reports the same truth."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        for source in _gauge_sources:
            for name, help_text, values, label_names in source():
                family = GaugeMetricFamily(name, help_text, labels=list(label_names))
                for labels, value in values.items():
                    family.add_metric(list(labels), value)
                yield family


def metrics_exposition() -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = CollectorRegistry()
        registry.register(_DefaultRegistryProxy())
    registry.register(DatabaseGauges())
    return generate_latest(registry)


class _DefaultRegistryProxy(Collector):
    def collect(self):
        return REGISTRY.collect()


KNOWN_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


class RequestMetricsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        route = ("/" + match.route) if match is not None and match.route else "unmatched"
        method = request.method if request.method in KNOWN_METHODS else "other"  # bounded label values
        HTTP_LATENCY.labels(method, route).observe(time.perf_counter() - started)
        HTTP_REQUESTS.labels(method, route, str(response.status_code)).inc()
        return response


def exposition_response() -> HttpResponse:
    return HttpResponse(metrics_exposition(), content_type=CONTENT_TYPE_LATEST)


@register_gauge_source
def core_gauges() -> list:
    from django.db.models import Count, Q
    from django.utils import timezone

    from statux.models import ApiKey, Organization

    now = timezone.now()
    active_keys = ApiKey.objects.filter(Q(expires_at=None) | Q(expires_at__gt=now), revoked_at=None)
    return [
        ("statux_organizations", "Organizations (tenants).", {(): Organization.objects.count()}, ()),
        (
            "statux_api_keys_active",
            "API keys neither revoked nor expired, by scope.",
            {(row["scope"],): row["n"] for row in active_keys.values("scope").annotate(n=Count("pk"))},
            ("scope",),
        ),
    ]
