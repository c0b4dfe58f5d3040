from __future__ import annotations

from datetime import UTC, datetime

import pytest

from analyses.logs.base import LogBackendError
from analyses.logs.loki import LokiBackend
from tests.analyses.context.conftest import SINCE, UNTIL, rows


def ns(iso: str) -> str:
    moment = datetime.fromisoformat(iso).replace(tzinfo=UTC)
    return str(int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1000)


def loki_streams(*streams: tuple[dict, list[tuple[str, str]]]) -> dict:
    """A query_range answer as Loki 3 sends it for a log query (direction=backward: newest first)."""
    return {
        "status": "success",
        "data": {
            "resultType": "streams",
            "result": [
                {"stream": labels, "values": [[ns(at), line] for at, line in values]}
                for labels, values in streams
            ],
            "stats": {
                "summary": {"bytesProcessedPerSecond": 48213, "execTime": 0.0021, "totalEntriesReturned": 3}
            },
        },
    }


def test_loki_backend_sends_the_service_selector_and_window_in_epoch_nanoseconds(httpserver, http_client):
    # 2026-11-23T10:15:00Z and 10:30:00Z are 1795428900 and 1795429800 seconds after the epoch (date -u +%s).
    httpserver.expect_request("/loki/api/v1/query_range", method="GET").respond_with_json(loki_streams())

    LokiBackend(client=http_client, service_label="app").search(
        service="checkout-api", since=SINCE, until=UNTIL, limit=50
    )

    assert dict(httpserver.log[0][0].args) == {
        "query": '{app="checkout-api"}',
        "start": "1795428900000000000",
        "end": "1795429800000000000",
        "limit": "50",
        "direction": "backward",
    }


def test_loki_backend_escapes_quotes_and_backslashes_in_the_service(httpserver, http_client):
    httpserver.expect_request("/loki/api/v1/query_range").respond_with_json(loki_streams())

    LokiBackend(client=http_client, service_label="service_name").search(
        service='we"ird\\svc', since=SINCE, until=UNTIL, limit=5
    )

    assert httpserver.log[0][0].args["query"] == '{service_name="we\\"ird\\\\svc"}'


def test_loki_backend_merges_streams_newest_first_with_their_levels(httpserver, http_client):
    httpserver.expect_request("/loki/api/v1/query_range").respond_with_json(
        loki_streams(
            (
                {"app": "checkout-api", "pod": "checkout-api-7d8f9c6b5-x2k4m", "level": "error"},
                [
                    ("2026-11-23T10:29:58.250000", "java.lang.OutOfMemoryError: Java heap space"),
                    ("2026-11-23T10:29:40", "Failed to allocate order cache"),
                ],
            ),
            (
                {"app": "checkout-api", "pod": "checkout-api-7d8f9c6b5-p9q2r"},
                [
                    ("2026-11-23T10:29:50", 'ts=2026-11-23T10:29:50Z level=warn msg="heap at 91%"'),
                    ("2026-11-23T10:29:10", "GET /healthz 200 2ms"),
                ],
            ),
        )
    )

    records = LokiBackend(client=http_client).search(
        service="checkout-api", since=SINCE, until=UNTIL, limit=50
    )

    assert rows(records) == [
        ("2026-11-23T10:29:58.250+00:00", "ERROR", "java.lang.OutOfMemoryError: Java heap space", "loki"),
        (
            "2026-11-23T10:29:50.000+00:00",
            "WARN",
            'ts=2026-11-23T10:29:50Z level=warn msg="heap at 91%"',
            "loki",
        ),
        ("2026-11-23T10:29:40.000+00:00", "ERROR", "Failed to allocate order cache", "loki"),
        ("2026-11-23T10:29:10.000+00:00", "", "GET /healthz 200 2ms", "loki"),
    ]


def test_loki_backend_keeps_at_most_limit_records_and_truncates_long_lines(httpserver, http_client):
    lines = [(f"2026-11-23T10:2{second}:00", "x" * 5000) for second in range(5)]
    httpserver.expect_request("/loki/api/v1/query_range").respond_with_json(
        loki_streams(({"app": "a"}, lines))
    )

    records = LokiBackend(client=http_client).search(service="a", since=SINCE, until=UNTIL, limit=3)

    assert [record["timestamp"][11:19] for record in records] == ["10:24:00", "10:23:00", "10:22:00"]
    assert {len(record["message"]) for record in records} == {2000}
    assert records[0]["message"].endswith("x…")


def test_loki_backend_refuses_a_label_name_logql_cannot_hold(http_client):
    with pytest.raises(LogBackendError, match="LOKI_SERVICE_LABEL 'service.name' is not a Loki label name"):
        LokiBackend(client=http_client, service_label="service.name")


def test_loki_backend_reports_a_body_that_is_not_a_streams_answer(httpserver, http_client):
    httpserver.expect_request("/loki/api/v1/query_range").respond_with_json({"status": "success", "data": {}})

    with pytest.raises(
        LogBackendError, match=r"^loki answered in an unexpected shape \(KeyError\('result'\)\)$"
    ):
        LokiBackend(client=http_client).search(service="a", since=SINCE, until=UNTIL, limit=3)
