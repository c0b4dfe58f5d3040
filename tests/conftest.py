"""Shared fixtures: organizations, people of every role, and API clients that log in for real."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.cache import cache
from rest_framework.test import APIClient

from statux.audit import Actor
from statux.celery import app as celery_app
from statux.models import Role
from statux.services import api_key_create
from statux.tenancy import Access
from tests.factories import PASSWORD, MembershipFactory, OrganizationFactory, UserFactory


def pytest_collection_modifyitems(config, items):
    skip_pg = pytest.mark.skip(reason="needs PostgreSQL (DATABASE_URL=postgres://…); runs in CI")
    skip_redis = pytest.mark.skip(reason="needs Redis (REDIS_URL) and a Celery worker; runs in CI")
    for item in items:
        if "postgres" in item.keywords and not settings.IS_POSTGRES:
            item.add_marker(skip_pg)
        if "redis" in item.keywords and not settings.REDIS_URL:
            item.add_marker(skip_redis)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # PBKDF2's million rounds cost ~0.3 s a login; the tests are about our code, not the hash.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _isolated_state(request):
    """Each test starts with empty rate-limit counters and runs Celery tasks in-process.

    The one test marked `redis` talks to a real worker instead.
    """
    cache.clear()
    eager = "redis" not in request.keywords
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = eager
    yield
    celery_app.conf.task_always_eager = previous
    cache.clear()


@pytest.fixture
def org(db):
    return OrganizationFactory(slug="acme", name="Acme Corporation")


@pytest.fixture
def other_org(db):
    return OrganizationFactory(slug="globex", name="Globex")


def _member(organization, role, email):
    return MembershipFactory(organization=organization, role=role, user=UserFactory(email=email)).user


@pytest.fixture
def owner(org):
    return _member(org, Role.OWNER, "owner@acme.test")


@pytest.fixture
def admin_user(org):
    return _member(org, Role.ADMIN, "admin@acme.test")


@pytest.fixture
def operator(org):
    return _member(org, Role.OPERATOR, "operator@acme.test")


@pytest.fixture
def viewer(org):
    return _member(org, Role.VIEWER, "viewer@acme.test")


@pytest.fixture
def other_admin(other_org):
    return _member(other_org, Role.ADMIN, "admin@globex.test")


@pytest.fixture
def superuser(db):
    from statux.models import User

    return User.objects.create_superuser(email="root@platform.test", password=PASSWORD)


def jwt_client(user, organization=None) -> APIClient:
    """A client holding a real access token obtained through the token endpoint."""
    client = APIClient()
    body = {"email": user.email, "password": PASSWORD}
    if organization is not None:
        body["organization"] = organization.slug
    response = client.post("/api/v1/auth/token/", body)
    assert response.status_code == 200, response.content
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['access']}")
    cache.clear()  # token issuance is throttled per IP; tests count only their own requests
    return client


@pytest.fixture
def owner_client(owner):
    return jwt_client(owner)


@pytest.fixture
def admin_client(admin_user):
    return jwt_client(admin_user)


@pytest.fixture
def operator_client(operator):
    return jwt_client(operator)


@pytest.fixture
def viewer_client(viewer):
    return jwt_client(viewer)


@pytest.fixture
def other_admin_client(other_admin):
    return jwt_client(other_admin)


@pytest.fixture
def superuser_client(superuser):
    return jwt_client(superuser)


@pytest.fixture
def api_client():
    return APIClient()


# --- Alert ingestion -----------------------------------------------------------------------------------

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
