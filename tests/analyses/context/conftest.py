"""Context sources talk to local fake servers: a log backend's API, or a Kubernetes API server."""

from __future__ import annotations

import re
import socket
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

UNTIL = datetime(2026, 11, 23, 10, 30, tzinfo=UTC)
SINCE = UNTIL - timedelta(minutes=15)


def rows(records: list[dict]) -> list[tuple[str, str, str, str]]:
    return [(record["timestamp"], record["level"], record["message"], record["source"]) for record in records]


@pytest.fixture
def http_client(httpserver):
    with httpx.Client(base_url=httpserver.url_for("/").rstrip("/"), timeout=2) as client:
        yield client


@pytest.fixture
def closed_port_url() -> str:
    """The URL of a loopback port nothing listens on: connecting is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def slow_server():
    """A server of its own whose every answer takes half a second, longer than the tests' timeouts.

    Not the shared `httpserver`: its late answer would land in the next test's request log.
    """

    def slow(request: Request) -> Response:
        time.sleep(0.5)
        return Response("{}", content_type="application/json")

    server = HTTPServer()
    server.expect_request(re.compile(".*")).respond_with_handler(slow)
    server.start()
    yield server
    server.stop()  # waits for the answer in progress
