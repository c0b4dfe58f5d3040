"""Datadog Logs API v2: `POST /api/v2/logs/events/search` for one service."""

from __future__ import annotations

import re
from datetime import datetime

from django.conf import settings

from analyses.logs.base import HttpLogBackend, LogBackendError, LogRecord, iso_utc, log_backends, parse_iso

# The characters Datadog's search syntax documents as special, and spaces; a backslash makes them literal.
SPECIAL = re.compile(r'([-!&|><(){}\[\]"*?:\\#\s])')


@log_backends.register
class DatadogBackend(HttpLogBackend):
    name = "datadog"

    @classmethod
    def from_settings(cls) -> DatadogBackend:
        if not (settings.DATADOG_API_KEY and settings.DATADOG_APP_KEY):
            raise LogBackendError("DATADOG_API_KEY and DATADOG_APP_KEY must both be set")
        headers = {"DD-API-KEY": settings.DATADOG_API_KEY, "DD-APPLICATION-KEY": settings.DATADOG_APP_KEY}
        client = cls.build_client(
            base_url=settings.DATADOG_API_URL, setting="DATADOG_API_URL", headers=headers
        )
        return cls(client=client)

    def _search(self, *, service: str, since: datetime, until: datetime, limit: int) -> list[LogRecord]:
        query = "service:" + SPECIAL.sub(r"\\\1", service)
        body = {
            "filter": {"query": query, "from": iso_utc(since), "to": iso_utc(until)},
            "sort": "-timestamp",
            "page": {"limit": limit},
        }
        answer = self.request_json("POST", "/api/v2/logs/events/search", json=body)
        return [self._record(log["attributes"]) for log in answer["data"]]

    def _record(self, attributes: dict) -> LogRecord:
        return self.record(
            timestamp=parse_iso(attributes["timestamp"]),
            level=attributes.get("status") or "",
            message=str(attributes.get("message") or ""),
        )
