"""Grafana Loki: `query_range` over one service's streams."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import httpx
from django.conf import settings

from analyses.logs.base import HttpLogBackend, LogBackendError, LogRecord, level_in_text, log_backends

LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
LEVEL_LABELS = ("level", "detected_level", "severity", "severity_text")


@log_backends.register
class LokiBackend(HttpLogBackend):
    name = "loki"

    def __init__(self, *, client: httpx.Client, service_label: str = "app") -> None:
        if not LABEL_NAME.fullmatch(service_label):
            raise LogBackendError(f"LOKI_SERVICE_LABEL '{service_label}' is not a Loki label name")
        super().__init__(client=client)
        self.service_label = service_label

    @classmethod
    def from_settings(cls) -> LokiBackend:
        client = cls.build_client(base_url=settings.LOKI_URL, setting="LOKI_URL")
        return cls(client=client, service_label=settings.LOKI_SERVICE_LABEL)

    def selector(self, service: str) -> str:
        # A LogQL string is a Go string literal; JSON's escapes (\" \\ \n \uXXXX) are all valid in one.
        return f"{{{self.service_label}={json.dumps(service, ensure_ascii=False)}}}"

    def _search(self, *, service: str, since: datetime, until: datetime, limit: int) -> list[LogRecord]:
        body = self.request_json(
            "GET",
            "/loki/api/v1/query_range",
            params={
                "query": self.selector(service),
                "start": str(nanoseconds(since)),
                "end": str(nanoseconds(until)),
                "limit": str(limit),
                "direction": "backward",
            },
        )
        return [
            self.record(
                timestamp=from_nanoseconds(value[0]), level=stream_level(stream, value[1]), message=value[1]
            )
            for stream in body["data"]["result"]
            for value in stream["values"]
        ]


def stream_level(stream: dict, line: str) -> str:
    labels = stream.get("stream") or {}
    return next((labels[key] for key in LEVEL_LABELS if labels.get(key)), "") or level_in_text(line)


def nanoseconds(moment: datetime) -> int:
    return int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1000


def from_nanoseconds(value: str) -> datetime:
    seconds, remainder = divmod(int(value), 1_000_000_000)
    return datetime.fromtimestamp(seconds, tz=UTC).replace(microsecond=remainder // 1000)
