"""Demo log lines for the embedded run: the same plausible failure for a service every time, no network."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from analyses.logs.base import LogBackend, LogRecord, log_backends

STARTUP = [
    ("INFO", "Started {service} v2.14.3 in 4.2 seconds (pid 1)"),
    ("INFO", "GET /healthz 200 2ms"),
    ("INFO", "POST /api/v1/orders 201 87ms"),
]
# One failure story per scenario, oldest line first; the service name picks the scenario.
SCENARIOS = [
    [
        ("WARN", "Heap usage at 91% of the 512Mi container limit; full GC took 1840ms"),
        (
            "ERROR",
            "java.lang.OutOfMemoryError: Java heap space\n"
            "\tat com.statux.demo.OrderCache.load(OrderCache.java:88)",
        ),
        ("ERROR", "Container {service} terminated: OOMKilled (exit code 137); restarting"),
    ],
    [
        ("WARN", "Upstream payments-api slow: POST /charge took 2400ms (p99 budget 800ms)"),
        ("ERROR", "Timeout after 5000ms calling payments-api POST /charge (request id 7f3a9c)"),
        ("ERROR", "Circuit breaker OPEN for payments-api after 20 consecutive failures"),
    ],
    [
        ("WARN", "Database connection pool at 48/50 connections in use"),
        ("ERROR", "Could not obtain a database connection within 30s: pool exhausted (50/50 in use)"),
        ("ERROR", "POST /api/v1/orders 503 30012ms: OperationalError: connection pool exhausted"),
    ],
    [
        ("WARN", "Retrying GET http://inventory-api/stock (attempt 3/3): connection refused"),
        ("ERROR", "panic: runtime error: invalid memory address or nil pointer dereference"),
        ("ERROR", "{service} exited with code 2; CrashLoopBackOff back-off 40s restarting failed container"),
    ],
]
LINE_SPACING = timedelta(seconds=7)


@log_backends.register
class MockBackend(LogBackend):
    name = "mock"

    @classmethod
    def from_settings(cls) -> MockBackend:
        return cls()

    def scenario(self, service: str) -> list[tuple[str, str]]:
        digest = hashlib.sha256(service.encode()).digest()  # stable across runs, unlike hash()
        return STARTUP + SCENARIOS[digest[0] % len(SCENARIOS)]

    def _search(self, *, service: str, since: datetime, until: datetime, limit: int) -> list[LogRecord]:
        lines = self.scenario(service)
        records = []
        for age, (level, message) in enumerate(reversed(lines)):  # the failure ends at `until`
            timestamp = until - age * LINE_SPACING
            if timestamp >= since:
                records.append(
                    self.record(timestamp=timestamp, level=level, message=message.format(service=service))
                )
        return records
