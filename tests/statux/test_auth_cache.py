"""The per-process credential cache (statux.auth_cache): no SQL for user and tenant, never a stale answer.

Two web processes are played by swapping `auth_cache.process_cache`: each keeps its own entries, while
the auth version lives in one real Redis of this module's own, as in production.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from datetime import timedelta

import pytest
import redis
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from statux import auth_cache, throttling
from statux.audit import Actor
from statux.models import ApiKey, Role, hash_secret
from statux.services import api_key_create, api_key_revoke, membership_change_role, membership_remove
from statux.tenancy import Access
from tests.conftest import jwt_client, make_key_client

OWNER_ACCESS_LEVEL = 4


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("needs redis-server (CI installs it; bench/serve.sh up installs it too)")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"],
        cwd=tmp_path_factory.mktemp("redis"),
        stdout=subprocess.DEVNULL,
    )
    for _ in range(100):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    process.kill()
    process.wait()


@pytest.fixture
def shared_redis(redis_url, settings, monkeypatch):
    """Production's shape: REDIS_URL set, so throttles and the auth version live in Redis."""
    redis.Redis.from_url(redis_url).flushall()
    settings.REDIS_URL = redis_url
    throttling.redis_client.cache_clear()
    monkeypatch.setattr(auth_cache, "process_cache", auth_cache.ProcessCache())
    yield redis.Redis.from_url(redis_url)
    throttling.redis_client.cache_clear()


class Processes:
    """Switch the per-process cache between two simulated web processes."""

    def __init__(self, monkeypatch) -> None:
        self.monkeypatch = monkeypatch
        self.caches = {"a": auth_cache.process_cache, "b": auth_cache.ProcessCache()}

    def use(self, name: str) -> None:
        self.monkeypatch.setattr(auth_cache, "process_cache", self.caches[name])

    def warm_b(self, client, path: str) -> None:
        """Process b answers once and keeps the credentials; the test goes on in process a."""
        self.use("b")
        assert client.get(path).status_code == 200
        self.use("a")


@pytest.fixture
def processes(shared_redis, monkeypatch):
    return Processes(monkeypatch)


def owner_access(org):
    return Access(org, "owner", OWNER_ACCESS_LEVEL, ("read", "write", "manage_keys", "manage_users"))


def key_client(raw):
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=raw)
    return client


def members_path(org):
    return f"/api/v1/organizations/{org.pk}/users"


def test_a_repeated_jwt_read_asks_the_database_only_for_the_page(
    shared_redis, viewer, org, django_assert_num_queries
):
    client = jwt_client(viewer)
    assert client.get(members_path(org)).status_code == 200

    with django_assert_num_queries(1):  # the page; user, membership and tenant come from the cache
        response = client.get(members_path(org))

    assert response.status_code == 200
    assert [member["email"] for member in response.json()["results"]] == ["viewer@acme.test"]


def test_a_repeated_api_key_read_asks_the_database_only_for_the_page(
    shared_redis, viewer, org, django_assert_num_queries
):
    client = make_key_client(org, "read")
    assert client.get(members_path(org)).status_code == 200

    with django_assert_num_queries(1):
        response = client.get(members_path(org))

    assert (response.status_code, response.json()["count"]) == (200, 1)


def test_without_redis_nothing_is_cached(viewer, org, settings, django_assert_num_queries):
    settings.REDIS_URL = ""  # the embedded run: no version shared between processes, so no cache
    throttling.redis_client.cache_clear()
    client = jwt_client(viewer)
    client.get(members_path(org))

    with django_assert_num_queries(2):  # user with membership, then the page
        response = client.get(members_path(org))

    assert response.status_code == 200
    throttling.redis_client.cache_clear()


def test_a_member_removed_in_one_process_is_refused_by_the_next_request_in_another(
    processes, owner, viewer, org
):
    owner_client, viewer_client = jwt_client(owner), jwt_client(viewer)
    processes.warm_b(viewer_client, members_path(org))

    response = owner_client.delete(f"{members_path(org)}/{viewer.pk}")
    assert response.status_code == 204
    processes.use("b")
    refused = viewer_client.get(members_path(org))

    assert (refused.status_code, refused.json()["code"]) == (404, "not_found")


def test_a_member_removed_through_the_service_loses_access_in_a_process_holding_it(processes, viewer, org):
    client = jwt_client(viewer)
    processes.warm_b(client, members_path(org))

    membership_remove(
        membership=viewer.memberships.get(), access=owner_access(org), actor=Actor(system="test")
    )
    processes.use("b")
    refused = client.get(members_path(org))

    assert refused.status_code == 404


def test_a_demoted_admin_loses_manage_users_at_once(processes, admin_user, org):
    client = jwt_client(admin_user)
    processes.warm_b(client, members_path(org))

    membership_change_role(
        membership=admin_user.memberships.get(),
        role=Role.VIEWER,
        access=owner_access(org),
        actor=Actor(system="test"),
    )
    processes.use("b")
    refused = client.post(f"{members_path(org)}/invite", {"email": "new@acme.test", "role": "viewer"})

    assert (refused.status_code, refused.json()["code"]) == (403, "permission_denied")


def test_a_key_revoked_in_one_process_is_refused_by_the_next_request_in_another(processes, org):
    _, raw = api_key_create(
        organization=org, name="ci", scope="read", access=owner_access(org), actor=Actor(system="test")
    )
    client = key_client(raw)
    processes.warm_b(client, members_path(org))

    api_key_revoke(key=ApiKey.objects.for_org(org).get(key_hash=hash_secret(raw)), actor=Actor(system="test"))
    processes.use("b")
    refused = client.get(members_path(org))

    assert refused.status_code == 401
    assert refused.json() == {"error": "This API key has been revoked.", "code": "api_key_revoked"}


def test_a_cached_key_is_refused_the_moment_it_expires(shared_redis, org):
    _, raw = api_key_create(
        organization=org,
        name="short-lived",
        scope="read",
        expires_at=timezone.now() + timedelta(minutes=5),
        access=owner_access(org),
        actor=Actor(system="test"),
    )
    client = key_client(raw)
    assert client.get(members_path(org)).status_code == 200

    with time_machine.travel(timezone.now() + timedelta(minutes=6)):
        refused = client.get(members_path(org))

    assert refused.json() == {"error": "This API key has expired.", "code": "api_key_expired"}


def test_a_user_deactivated_by_a_plain_save_is_refused_at_once(processes, viewer, org):
    client = jwt_client(viewer)
    processes.warm_b(client, members_path(org))

    viewer.is_active = False
    viewer.save()  # what the admin does: no service, the signal bumps the version
    processes.use("b")
    refused = client.get(members_path(org))

    assert refused.status_code == 401
    assert refused.json() == {"error": "User is inactive", "code": "user_inactive"}


def test_a_superuser_who_is_demoted_loses_other_organizations_at_once(processes, superuser, other_org):
    client = jwt_client(superuser)
    path = members_path(other_org)
    processes.warm_b(client, path)

    superuser.is_superuser = False
    superuser.save(update_fields=["is_superuser"])
    processes.use("b")
    refused = client.get(path)

    assert refused.status_code == 404


def test_rows_read_while_a_change_commits_are_not_kept_under_the_new_version(shared_redis):
    request = type("Request", (), {})()

    def load_during_a_change():
        auth_cache.bump()  # the change commits while this process reads the old rows
        return "old rows"

    first = auth_cache.cached(request, ("test",), load_during_a_change)
    second = auth_cache.cached(type("Request", (), {})(), ("test",), lambda: "new rows")

    assert (first, second) == ("old rows", "new rows")


def test_a_redis_that_lost_the_version_does_not_revive_old_entries(shared_redis, viewer, org):
    client = jwt_client(viewer)
    assert client.get(members_path(org)).status_code == 200
    stamped = shared_redis.get(auth_cache.VERSION_KEY)

    shared_redis.flushall()  # a restart without persistence
    client.get(members_path(org))

    assert shared_redis.get(auth_cache.VERSION_KEY) not in (None, stamped)


def test_each_request_is_counted_once_against_the_rate_limit(shared_redis, viewer, org):
    client = jwt_client(viewer)

    remaining = [int(client.get(members_path(org))["X-RateLimit-Remaining"]) for _ in range(3)]

    assert remaining == [1199, 1198, 1197]


def test_a_keys_own_rate_is_counted_once_per_request(shared_redis, org):
    _, raw = api_key_create(
        organization=org,
        name="fast",
        scope="read",
        rate_limit_rps=50,
        access=owner_access(org),
        actor=Actor(system="test"),
    )
    client = key_client(raw)

    with time_machine.travel(timezone.now().replace(microsecond=0), tick=False):
        responses = [client.get(members_path(org)) for _ in range(3)]

    assert [r["X-RateLimit-Limit"] for r in responses] == ["50"] * 3
    assert [int(r["X-RateLimit-Remaining"]) for r in responses] == [49, 48, 47]


def test_a_token_verified_once_is_still_refused_when_it_expires(viewer, org):
    client = jwt_client(viewer)
    assert client.get(members_path(org)).status_code == 200  # verified, and remembered by this process

    with time_machine.travel(timezone.now() + timedelta(minutes=16)):  # access tokens live 15 minutes
        refused = client.get(members_path(org))

    assert (refused.status_code, refused.json()["code"]) == (401, "token_not_valid")


def test_a_token_altered_after_one_verified_is_refused(viewer, org):
    client = jwt_client(viewer)
    assert client.get(members_path(org)).status_code == 200
    access = client._credentials["HTTP_AUTHORIZATION"].removeprefix("Bearer ")

    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access[:-4]}abcd")
    refused = client.get(members_path(org))

    assert (refused.status_code, refused.json()["code"]) == (401, "token_not_valid")
