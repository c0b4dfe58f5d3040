from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from statux.models import ApiKey, AuditLog, hash_secret


def key_client(raw: str, how: str = "header") -> APIClient:
    client = APIClient()
    if how == "header":
        client.credentials(HTTP_X_API_KEY=raw)
    elif how == "bearer":
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture
def create_key(admin_client):
    def create(**body):
        response = admin_client.post("/api/v1/apikeys", {"name": "CI", **body})
        assert response.status_code == 201, response.json()
        return response.json()

    return create


def test_create_returns_the_full_key_once_and_stores_only_its_hash(admin_client, org):
    response = admin_client.post(
        "/api/v1/apikeys",
        {
            "name": "Production Ingestion",
            "scope": "ingestion",
            "rate_limit_rps": 1000,
            "expires_at": "2099-01-01T00:00:00Z",
        },
    )

    assert response.status_code == 201
    body = response.json()
    assert body["key_id"].startswith("isage_key_") and body["api_key"].startswith("isage_")
    assert (body["scope"], body["rate_limit_rps"], body["status"]) == ("ingestion", 1000, "active")
    stored = ApiKey.objects.get(key_id=body["key_id"])
    assert stored.organization == org
    assert stored.key_hash == hash_secret(body["api_key"])
    assert body["api_key"] not in {getattr(stored, f.attname) for f in ApiKey._meta.fields}


def test_list_shows_prefixes_never_the_key(admin_client, create_key):
    created = create_key(scope="read")

    listing = admin_client.get("/api/v1/apikeys").json()

    assert listing["total"] == 1
    (item,) = listing["api_keys"]
    assert item["prefix"] == created["api_key"][:12]
    assert "api_key" not in item
    assert created["api_key"] not in str(listing)


@pytest.mark.parametrize("how", ["header", "bearer", "query"])
def test_a_key_authenticates_by_header_bearer_or_query(create_key, org, how):
    raw = create_key(scope="read")["api_key"]
    client = key_client(raw, how)

    response = client.get("/api/v1/rbac/permissions" + (f"?api_key={raw}" if how == "query" else ""))

    assert response.status_code == 200
    assert response.json()["tenant_id"] == org.slug
    assert (response.json()["role"], response.json()["permissions"]) == ("read", ["read"])


def test_revoked_key_answers_401_and_revocation_is_audited(admin_client, create_key, admin_user):
    created = create_key(scope="read")

    revoked = admin_client.delete(f"/api/v1/apikeys/{created['key_id']}")
    response = key_client(created["api_key"]).get("/api/v1/rbac/permissions")

    assert (revoked.status_code, revoked.json()["status"]) == (200, "revoked")
    assert response.status_code == 401
    assert response.json() == {"error": "This API key has been revoked.", "code": "api_key_revoked"}
    assert (
        AuditLog.objects.filter(
            action="apikey.revoked", target_id=created["key_id"], actor=admin_user.email
        ).count()
        == 1
    )


def test_revoking_twice_is_harmless(admin_client, create_key):
    created = create_key()

    first = admin_client.delete(f"/api/v1/apikeys/{created['key_id']}")
    second = admin_client.delete(f"/api/v1/apikeys/{created['key_id']}/")

    assert first.json()["revoked_at"] == second.json()["revoked_at"]
    assert AuditLog.objects.filter(action="apikey.revoked").count() == 1


def test_expired_key_answers_401(create_key):
    created = create_key(scope="read")
    ApiKey.objects.filter(key_id=created["key_id"]).update(expires_at=timezone.now() - timedelta(seconds=1))

    response = key_client(created["api_key"]).get("/api/v1/rbac/permissions")

    assert response.status_code == 401
    assert response.json() == {"error": "This API key has expired.", "code": "api_key_expired"}


def test_unknown_key_answers_401(db):
    response = key_client("isage_made-up").get("/api/v1/rbac/permissions")

    assert (response.status_code, response.json()["code"]) == (401, "invalid_api_key")


def test_expiry_in_the_past_is_rejected(admin_client):
    response = admin_client.post("/api/v1/apikeys", {"name": "old", "expires_at": "2000-01-01T00:00:00Z"})

    assert response.status_code == 400
    assert response.json()["fields"] == {"expires_at": ["must be in the future"]}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"scope": "root"}, "scope"),
        ({"rate_limit_rps": 0}, "rate_limit_rps"),
        ({"name": ""}, "name"),
        ({"expires_at": "soon"}, "expires_at"),
    ],
)
def test_invalid_key_requests_name_the_bad_field(admin_client, body, field):
    response = admin_client.post("/api/v1/apikeys", {"name": "k", **body})

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert list(response.json()["fields"]) == [field]


def test_read_scope_cannot_write(create_key):
    client = key_client(create_key(scope="read")["api_key"])

    response = client.post("/api/v1/apikeys", {"name": "escalate"})

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert "manage_keys" in response.json()["error"]


def test_ingestion_scope_cannot_read(create_key, org):
    client = key_client(create_key(scope="ingestion")["api_key"])

    response = client.get(f"/api/v1/organizations/{org.slug}/users")

    assert response.status_code == 403
    assert response.json()["error"].startswith("This needs the 'read' permission")


def test_admin_scope_key_can_manage_keys(create_key):
    client = key_client(create_key(scope="admin")["api_key"])

    response = client.post("/api/v1/apikeys", {"name": "minted", "scope": "write"})

    assert response.status_code == 201
    assert ApiKey.objects.get(key_id=response.json()["key_id"]).created_by is None


def test_key_rate_limit_rps_is_enforced_with_headers(create_key):
    client = key_client(create_key(scope="read", rate_limit_rps=2)["api_key"])

    with time_machine.travel(timezone.now().replace(microsecond=100), tick=False):  # one 1-second window
        responses = [client.get("/api/v1/rbac/permissions") for _ in range(3)]

    assert [r.status_code for r in responses] == [200, 200, 429]
    assert [r["X-RateLimit-Limit"] for r in responses] == ["2", "2", "2"]
    assert [r["X-RateLimit-Remaining"] for r in responses] == ["1", "0", "0"]
    assert responses[2].json()["code"] == "throttled"
    assert responses[2].json()["retry_after"] >= 1
    assert int(responses[2]["Retry-After"]) == responses[2].json()["retry_after"]


def test_operator_cannot_manage_keys(operator_client):
    response = operator_client.get("/api/v1/apikeys")

    assert response.status_code == 403
    assert response.json() == {
        "error": "This needs the 'manage_keys' permission; your role 'operator' has read, write.",
        "code": "permission_denied",
    }


def test_last_used_is_recorded(create_key):
    created = create_key(scope="read")

    key_client(created["api_key"]).get("/api/v1/rbac/permissions")

    assert ApiKey.objects.get(key_id=created["key_id"]).last_used_at is not None
