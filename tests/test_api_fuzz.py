"""Property-based fuzzing of every documented endpoint from /api/schema/: no input may cause a 500,
and every answer must match the schema's description of it."""

from contextlib import contextmanager

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from statux.wsgi import application
from tests.conftest import jwt_client

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)  # the schema view reads no database


@contextmanager
def connection_kept_open():
    """Calling the WSGI app directly fires the request signals that close connections; the test's
    transaction lives on that connection, so (like Django's test client) keep them quiet meanwhile."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture(autouse=True)
def _stripe_webhooks_configured(settings):
    # Unconfigured, POST /api/v1/billing/stripe/webhook answers 503 by design; fuzz it configured.
    settings.STRIPE_WEBHOOK_SECRET = "whsec_fuzz"


@pytest.fixture
def owner_token(owner):
    client = jwt_client(owner)
    return client._credentials["HTTP_AUTHORIZATION"]


@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_no_input_breaks_an_endpoint(case, owner_token, org):
    if "org_id" in (case.path_parameters or {}) and case.path_parameters["org_id"] == "":
        case.path_parameters["org_id"] = org.slug
    with connection_kept_open():
        response = case.call(headers={"Authorization": owner_token})

    case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
