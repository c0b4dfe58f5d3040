"""What every log backend promises the context builder: LogBackendError for any failure, newest first."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from analyses.logs.base import LogBackendError, log_backend_from_settings, log_excerpt
from analyses.logs.datadog import DatadogBackend
from analyses.logs.elastic import ElasticBackend
from analyses.logs.loki import LokiBackend
from analyses.logs.mock import MockBackend
from tests.analyses.context.conftest import SINCE, UNTIL

HTTP_BACKENDS = [
    pytest.param(LokiBackend, "/loki/api/v1/query_range", id="loki"),
    pytest.param(ElasticBackend, "/logs-*/_search", id="elastic"),
    pytest.param(DatadogBackend, "/api/v2/logs/events/search", id="datadog"),
]
CRASH_LOOP = "checkout-api exited with code 2; CrashLoopBackOff back-off 40s restarting failed container"


def search(backend):
    return backend.search(service="checkout-api", since=SINCE, until=UNTIL, limit=10)


@pytest.mark.parametrize(("backend_class", "path"), HTTP_BACKENDS)
def test_a_server_error_becomes_a_log_backend_error_with_the_status(
    httpserver, http_client, backend_class, path
):
    httpserver.expect_request(path).respond_with_data("upstream connect error", status=502)

    with pytest.raises(LogBackendError) as raised:
        search(backend_class(client=http_client))

    assert str(raised.value) == f"{backend_class.name} answered HTTP 502: upstream connect error"


@pytest.mark.parametrize(("backend_class", "path"), HTTP_BACKENDS)
def test_a_body_that_is_not_json_becomes_a_log_backend_error(httpserver, http_client, backend_class, path):
    httpserver.expect_request(path).respond_with_data("<html>Sign in</html>", content_type="text/html")

    with pytest.raises(LogBackendError) as raised:
        search(backend_class(client=http_client))

    assert str(raised.value) == f"{backend_class.name} answered HTTP 200 without JSON"


@pytest.mark.parametrize(("backend_class", "path"), HTTP_BACKENDS)
def test_a_refused_connection_becomes_a_log_backend_error(closed_port_url, backend_class, path):
    with (
        httpx.Client(base_url=closed_port_url, timeout=2) as client,
        pytest.raises(LogBackendError) as raised,
    ):
        search(backend_class(client=client))

    assert str(raised.value).startswith(f"{backend_class.name} is unreachable at {closed_port_url}: ")


@pytest.mark.parametrize("backend_class", [LokiBackend, ElasticBackend, DatadogBackend])
def test_a_slow_server_becomes_a_log_backend_error_after_the_timeout(slow_server, backend_class):
    client = httpx.Client(base_url=slow_server.url_for("/").rstrip("/"), timeout=0.1)

    with client, pytest.raises(LogBackendError) as raised:
        search(backend_class(client=client))

    assert str(raised.value) == f"{backend_class.name} did not answer within 0.1s"


def test_the_mock_backend_tells_the_same_story_for_a_service_every_time():
    first = MockBackend().search(service="checkout-api", since=SINCE, until=UNTIL, limit=50)

    second = MockBackend().search(service="checkout-api", since=SINCE, until=UNTIL, limit=50)

    assert first == second
    assert [record["level"] for record in first] == ["ERROR", "ERROR", "WARN", "INFO", "INFO", "INFO"]
    assert first[0] == {
        "timestamp": "2026-11-23T10:30:00.000+00:00",
        "level": "ERROR",
        "message": CRASH_LOOP,
        "source": "mock",
    }


def test_the_mock_backend_picks_the_failure_from_the_service_name():
    messages = {
        service: MockBackend().search(service=service, since=SINCE, until=UNTIL, limit=1)[0]["message"]
        for service in ("checkout-api", "payments-api", "orders-api")
    }

    assert messages == {
        "checkout-api": CRASH_LOOP,
        "payments-api": "Container payments-api terminated: OOMKilled (exit code 137); restarting",
        "orders-api": "Circuit breaker OPEN for payments-api after 20 consecutive failures",
    }


def test_the_mock_backend_keeps_to_the_window_and_the_limit():
    records = MockBackend().search(
        service="checkout-api", since=UNTIL - timedelta(seconds=20), until=UNTIL, limit=2
    )

    assert [record["timestamp"] for record in records] == [
        "2026-11-23T10:30:00.000+00:00",
        "2026-11-23T10:29:53.000+00:00",
    ]


def test_a_search_without_a_service_is_refused_before_any_request():
    with pytest.raises(LogBackendError, match="^no service to search logs for$"):
        MockBackend().search(service="", since=SINCE, until=UNTIL, limit=5)


def test_log_excerpt_lists_the_newest_lines_that_fit_oldest_first():
    records = MockBackend().search(service="payments-api", since=SINCE, until=UNTIL, limit=50)

    excerpt = log_excerpt(records, max_chars=260)

    assert excerpt == (
        "2026-11-23T10:29:53.000+00:00 ERROR java.lang.OutOfMemoryError: Java heap space | "
        "at com.statux.demo.OrderCache.load(OrderCache.java:88)\n"
        "2026-11-23T10:30:00.000+00:00 ERROR "
        "Container payments-api terminated: OOMKilled (exit code 137); restarting"
    )
    assert len(excerpt) <= 260


def test_log_excerpt_cuts_a_single_line_longer_than_the_budget():
    records = MockBackend().search(service="payments-api", since=SINCE, until=UNTIL, limit=1)

    assert log_excerpt(records, max_chars=40) == "2026-11-23T10:30:00.000+00:00 ERROR Con…"


def test_no_log_backend_is_configured_by_default(settings):
    settings.LOG_BACKEND = ""

    assert log_backend_from_settings() is None


def test_an_unknown_log_backend_is_reported_with_the_known_ones(settings):
    settings.LOG_BACKEND = "splunk"

    with pytest.raises(LogBackendError) as raised:
        log_backend_from_settings()

    assert str(raised.value) == "Unknown log_backends 'splunk'; known: datadog, elastic, loki, mock."


@pytest.mark.parametrize(("name", "setting"), [("loki", "LOKI_URL"), ("elastic", "ELASTIC_URL")])
def test_a_log_backend_without_its_url_is_reported_by_setting_name(settings, name, setting):
    settings.LOG_BACKEND = name
    setattr(settings, setting, "")

    with pytest.raises(LogBackendError, match=f"^{setting} is not set$"):
        log_backend_from_settings()


def test_the_mock_log_backend_is_built_from_settings(settings):
    settings.LOG_BACKEND = "mock"

    assert isinstance(log_backend_from_settings(), MockBackend)
