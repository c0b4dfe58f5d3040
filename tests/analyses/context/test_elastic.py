from __future__ import annotations

from analyses.logs.base import log_backend_from_settings
from analyses.logs.elastic import ElasticBackend
from tests.analyses.context.conftest import SINCE, UNTIL, rows

SEARCH_ANSWER = {  # what Elasticsearch 8 answers for a sorted search of ECS log documents
    "took": 4,
    "timed_out": False,
    "_shards": {"total": 2, "successful": 2, "skipped": 0, "failed": 0},
    "hits": {
        "total": {"value": 2, "relation": "eq"},
        "max_score": None,
        "hits": [
            {
                "_index": ".ds-logs-checkout-production-2026.11.23-000001",
                "_id": "q2X1q5MBn0v0H1sB9k3c",
                "_score": None,
                "_source": {
                    "@timestamp": "2026-11-23T10:29:58.250Z",
                    "message": "java.lang.OutOfMemoryError: Java heap space",
                    "log": {"level": "error", "logger": "com.statux.demo.OrderCache"},
                },
                "sort": [1795429798250],
            },
            {
                "_index": ".ds-logs-checkout-production-2026.11.23-000001",
                "_id": "qmX1q5MBn0v0H1sB9k3b",
                "_score": None,
                "_source": {
                    "@timestamp": "2026-11-23T10:29:50.000Z",
                    "message": "heap at 91%",
                    "log.level": "warning",
                },
                "sort": [1795429790000],
            },
        ],
    },
}


def test_elastic_backend_filters_on_the_service_and_window_sorted_newest_first(httpserver, http_client):
    httpserver.expect_request("/logs-checkout-*/_search", method="POST").respond_with_json(SEARCH_ANSWER)

    ElasticBackend(client=http_client, index="logs-checkout-*", service_field="kubernetes.labels.app").search(
        service="checkout-api", since=SINCE, until=UNTIL, limit=20
    )

    assert httpserver.log[0][0].get_json() == {
        "size": 20,
        "sort": [{"@timestamp": {"order": "desc"}}],
        "query": {
            "bool": {
                "filter": [
                    {"term": {"kubernetes.labels.app": "checkout-api"}},
                    {
                        "range": {
                            "@timestamp": {
                                "gte": "2026-11-23T10:15:00.000+00:00",
                                "lte": "2026-11-23T10:30:00.000+00:00",
                                "format": "strict_date_optional_time",
                            }
                        }
                    },
                ]
            }
        },
        "_source": ["@timestamp", "message", "log.level", "log", "event.original"],
    }


def test_elastic_backend_reads_message_level_and_timestamp_of_each_hit(httpserver, http_client):
    httpserver.expect_request("/logs-*/_search", method="POST").respond_with_json(SEARCH_ANSWER)

    records = ElasticBackend(client=http_client).search(
        service="checkout-api", since=SINCE, until=UNTIL, limit=20
    )

    assert rows(records) == [
        ("2026-11-23T10:29:58.250+00:00", "ERROR", "java.lang.OutOfMemoryError: Java heap space", "elastic"),
        ("2026-11-23T10:29:50.000+00:00", "WARN", "heap at 91%", "elastic"),
    ]


def test_elastic_backend_from_settings_sends_the_api_key(httpserver, settings):
    settings.LOG_BACKEND, settings.ELASTIC_URL, settings.ELASTIC_API_KEY = (
        "elastic",
        httpserver.url_for("/"),
        "a2V5",
    )
    httpserver.expect_request("/logs-*/_search", headers={"Authorization": "ApiKey a2V5"}).respond_with_json(
        SEARCH_ANSWER
    )

    with log_backend_from_settings() as backend:
        records = backend.search(service="checkout-api", since=SINCE, until=UNTIL, limit=20)

    assert len(records) == 2
