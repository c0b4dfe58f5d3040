import pytest
from rest_framework.test import APIClient

from statux.audit import Actor
from statux.services import api_key_create
from statux.tenancy import Access

GENERIC_ALERT = {
    "title": "High CPU on payments-api",
    "description": "CPU usage > 90% for 5 minutes",
    "severity": "critical",
    "source": "prometheus",
    "namespace": "production",
    "pod": "payments-api-7d8f9c6b5-x2k4m",
    "deployment": "payments-api",
    "service": "payments-api",
}


def make_key_client(organization, scope="write") -> APIClient:
    access = Access(organization, "owner", 4, ("read", "write", "manage_keys", "manage_users"))
    _, raw = api_key_create(
        organization=organization, name=f"{scope} key", scope=scope, access=access, actor=Actor(system="test")
    )
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=raw)
    return client


@pytest.fixture
def ingest_client(org):
    return make_key_client(org, "ingestion")


@pytest.fixture
def reader(org):
    return make_key_client(org, "read")


@pytest.fixture
def post_alert(ingest_client):
    def post(payload, source="webhook", client=None, **headers):
        return (client or ingest_client).post(
            "/webhook", payload, format="json", HTTP_X_SOURCE=source, **headers
        )

    return post
