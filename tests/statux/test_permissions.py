"""Role permissions per endpoint: the ARCHITECTURE roles table, enforced."""

import pytest

from tests.conftest import jwt_client


def test_rbac_permissions_follow_the_roles_table(org, viewer, operator, admin_user, owner):
    expected = {
        viewer: ("viewer", 1, ["read"]),
        operator: ("operator", 2, ["read", "write"]),
        admin_user: ("admin", 3, ["read", "write", "manage_keys", "manage_users"]),
        owner: ("owner", 4, ["read", "write", "manage_keys", "manage_users", "billing"]),
    }

    for user, (role, level, permissions) in expected.items():
        body = jwt_client(user).get("/api/v1/rbac/permissions").json()
        assert body == {
            "tenant_id": "acme",
            "user_id": user.email,
            "role": role,
            "level": level,
            "permissions": permissions,
        }


# (method, path, body, lowest role allowed)
MATRIX = [
    ("get", "/api/v1/organizations/acme/users", None, "viewer"),
    ("post", "/api/v1/organizations/acme/users/invite", {"email": "n@acme.test", "role": "viewer"}, "admin"),
    ("get", "/api/v1/apikeys", None, "admin"),
    ("post", "/api/v1/apikeys", {"name": "k"}, "admin"),
    ("get", "/api/v1/status", None, "viewer"),
    ("get", "/adapters", None, "viewer"),
    ("get", "/api/v1/rbac/permissions", None, "viewer"),
]
ROLES = ["viewer", "operator", "admin", "owner"]


@pytest.mark.parametrize(("method", "path", "body", "lowest"), MATRIX)
def test_each_endpoint_admits_exactly_the_roles_that_may_use_it(
    method, path, body, lowest, viewer, operator, admin_user, owner
):
    people = dict(zip(ROLES, [viewer, operator, admin_user, owner], strict=True))

    outcomes = {}
    for role, user in people.items():
        response = getattr(jwt_client(user), method)(path, body or {})
        outcomes[role] = response.status_code < 400

    assert outcomes == {role: ROLES.index(role) >= ROLES.index(lowest) for role in ROLES}
