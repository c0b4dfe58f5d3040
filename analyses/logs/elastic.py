"""Elasticsearch / OpenSearch: `_search` over an index pattern of ECS-shaped log documents."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx
from django.conf import settings

from analyses.logs.base import HttpLogBackend, LogRecord, iso_utc, log_backends, parse_iso


@log_backends.register
class ElasticBackend(HttpLogBackend):
    name = "elastic"

    def __init__(
        self, *, client: httpx.Client, index: str = "logs-*", service_field: str = "service.name"
    ) -> None:
        super().__init__(client=client)
        self.index, self.service_field = index, service_field

    @classmethod
    def from_settings(cls) -> ElasticBackend:
        headers = (
            {"Authorization": f"ApiKey {settings.ELASTIC_API_KEY}"} if settings.ELASTIC_API_KEY else None
        )
        client = cls.build_client(base_url=settings.ELASTIC_URL, setting="ELASTIC_URL", headers=headers)
        return cls(client=client, index=settings.ELASTIC_INDEX, service_field=settings.ELASTIC_SERVICE_FIELD)

    def query(self, *, service: str, since: datetime, until: datetime, limit: int) -> dict[str, Any]:
        window = {"gte": iso_utc(since), "lte": iso_utc(until), "format": "strict_date_optional_time"}
        return {
            "size": limit,
            "sort": [{"@timestamp": {"order": "desc"}}],
            "query": {
                "bool": {
                    "filter": [{"term": {self.service_field: service}}, {"range": {"@timestamp": window}}]
                }
            },
            "_source": ["@timestamp", "message", "log.level", "log", "event.original"],
        }

    def _search(self, *, service: str, since: datetime, until: datetime, limit: int) -> list[LogRecord]:
        body = self.query(service=service, since=since, until=until, limit=limit)
        answer = self.request_json("POST", f"/{quote(self.index, safe='*,-_.')}/_search", json=body)
        return [self._record(hit["_source"]) for hit in answer["hits"]["hits"]]

    def _record(self, source: dict[str, Any]) -> LogRecord:
        # ECS documents carry `log.level` nested ({"log": {"level": …}}) or, from some shippers, dotted.
        level = source.get("log.level") or (source.get("log") or {}).get("level") or ""
        message = source.get("message") or source.get("event.original") or ""
        return self.record(timestamp=parse_iso(source["@timestamp"]), level=level, message=str(message))
