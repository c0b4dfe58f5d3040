from __future__ import annotations

import pytest

from analyses.logs.base import LogBackendError, log_backend_from_settings
from analyses.logs.datadog import DatadogBackend
from tests.analyses.context.conftest import SINCE, UNTIL, rows

SEARCH_ANSWER = {  # what POST /api/v2/logs/events/search answers, sort=-timestamp
    "data": [
        {
            "id": "AQAAAZNVdkZfnJp0BwAAAABBWk5WZGtaZkFBQ3BpT0JvdXhKc2FnQUE",
            "type": "log",
            "attributes": {
                "attributes": {"http": {"status_code": 503, "method": "POST"}, "duration": 30012000000},
                "host": "ip-10-0-3-17.ec2.internal",
                "message": "Could not obtain a database connection within 30s: pool exhausted",
                "service": "checkout-api",
                "status": "error",
                "tags": ["env:production", "kube_namespace:production"],
                "timestamp": "2026-11-23T10:29:58.250Z",
            },
        },
        {
            "id": "AQAAAZNVdj8AnJp0BgAAAABBWk5WZGo4QUFBQ3BpT0JvdXhKc2FnQUE",
            "type": "log",
            "attributes": {
                "host": "ip-10-0-3-17.ec2.internal",
                "message": "Database connection pool at 48/50 connections in use",
                "service": "checkout-api",
                "status": "warn",
                "tags": ["env:production"],
                "timestamp": "2026-11-23T10:29:40.000Z",
            },
        },
    ],
    "links": {
        "next": "https://api.datadoghq.com/api/v2/logs/events?page[cursor]=eyJhZnRlciI6IkFRQUFBWk5WZGo4In0"
    },
    "meta": {
        "elapsed": 132,
        "page": {"after": "eyJhZnRlciI6IkFRQUFBWk5WZGo4In0"},
        "request_id": "pddv1ChZ2VkF3b1RmUlNqR3RnNmlYTzBTdmciLQoddGhfX0h",
        "status": "done",
    },
}


@pytest.fixture
def datadog_settings(settings, httpserver):
    settings.LOG_BACKEND, settings.DATADOG_API_URL = "datadog", httpserver.url_for("/")
    settings.DATADOG_API_KEY, settings.DATADOG_APP_KEY = "dd-api-key", "dd-app-key"
    return settings


def test_datadog_backend_sends_keys_and_the_service_filter(httpserver, datadog_settings):
    httpserver.expect_request(
        "/api/v2/logs/events/search",
        method="POST",
        headers={"DD-API-KEY": "dd-api-key", "DD-APPLICATION-KEY": "dd-app-key"},
    ).respond_with_json(SEARCH_ANSWER)

    with log_backend_from_settings() as backend:
        backend.search(service="checkout-api", since=SINCE, until=UNTIL, limit=25)

    assert httpserver.log[0][0].get_json() == {
        "filter": {
            "query": "service:checkout\\-api",
            "from": "2026-11-23T10:15:00.000+00:00",
            "to": "2026-11-23T10:30:00.000+00:00",
        },
        "sort": "-timestamp",
        "page": {"limit": 25},
    }


def test_datadog_backend_escapes_search_syntax_in_the_service(httpserver, http_client):
    httpserver.expect_request("/api/v2/logs/events/search").respond_with_json({"data": []})

    DatadogBackend(client=http_client).search(service="a b:c*", since=SINCE, until=UNTIL, limit=5)

    assert httpserver.log[0][0].get_json()["filter"]["query"] == "service:a\\ b\\:c\\*"


def test_datadog_backend_reads_the_attributes_of_each_log(httpserver, http_client):
    httpserver.expect_request("/api/v2/logs/events/search").respond_with_json(SEARCH_ANSWER)

    records = DatadogBackend(client=http_client).search(
        service="checkout-api", since=SINCE, until=UNTIL, limit=25
    )

    assert rows(records) == [
        (
            "2026-11-23T10:29:58.250+00:00",
            "ERROR",
            "Could not obtain a database connection within 30s: pool exhausted",
            "datadog",
        ),
        (
            "2026-11-23T10:29:40.000+00:00",
            "WARN",
            "Database connection pool at 48/50 connections in use",
            "datadog",
        ),
    ]


def test_datadog_backend_needs_both_keys(datadog_settings):
    datadog_settings.DATADOG_APP_KEY = ""

    with pytest.raises(LogBackendError, match="^DATADOG_API_KEY and DATADOG_APP_KEY must both be set$"):
        log_backend_from_settings()


def test_datadog_backend_reports_forbidden_with_datadogs_reason(httpserver, http_client):
    httpserver.expect_request("/api/v2/logs/events/search").respond_with_data(
        '{"errors":["Forbidden"]}', status=403, content_type="application/json"
    )

    with pytest.raises(LogBackendError) as raised:
        DatadogBackend(client=http_client).search(service="checkout-api", since=SINCE, until=UNTIL, limit=25)

    assert str(raised.value) == 'datadog answered HTTP 403: {"errors":["Forbidden"]}'
