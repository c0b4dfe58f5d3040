import pytest
from rest_framework.test import APIClient

from tests.factories import PASSWORD, MembershipFactory


def decode(token: str) -> dict:
    from rest_framework_simplejwt.tokens import UntypedToken

    return UntypedToken(token).payload


def test_token_pair_names_the_users_first_organization(api_client, owner, org):
    response = api_client.post("/api/v1/auth/token/", {"email": owner.email, "password": PASSWORD})

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access", "refresh"}
    assert decode(body["access"])["org"] == str(org.pk)
    assert decode(body["access"])["user_id"] == str(owner.pk)


def test_token_can_be_issued_for_another_organization_the_user_belongs_to(api_client, owner, other_org):
    MembershipFactory(organization=other_org, user=owner, role="viewer")

    response = api_client.post(
        "/api/v1/auth/token", {"email": owner.email, "password": PASSWORD, "organization": "globex"}
    )

    assert response.status_code == 200
    assert decode(response.json()["access"])["org"] == str(other_org.pk)


def test_token_for_an_organization_the_user_is_not_in_is_refused(api_client, owner, other_org):
    response = api_client.post(
        "/api/v1/auth/token/", {"email": owner.email, "password": PASSWORD, "organization": "globex"}
    )

    assert response.status_code == 400
    assert response.json()["fields"] == {"organization": ["You are not a member of 'globex'."]}


def test_wrong_password_answers_401_in_the_error_format(api_client, owner):
    response = api_client.post("/api/v1/auth/token/", {"email": owner.email, "password": "nope"})

    assert response.status_code == 401
    assert response.json() == {
        "error": "No active account found with the given credentials",
        "code": "no_active_account",
    }


def test_refresh_returns_a_new_access_token_keeping_the_organization(api_client, owner, org):
    pair = api_client.post("/api/v1/auth/token/", {"email": owner.email, "password": PASSWORD}).json()

    response = api_client.post("/api/v1/auth/token/refresh/", {"refresh": pair["refresh"]})

    assert response.status_code == 200
    assert decode(response.json()["access"])["org"] == str(org.pk)


def test_verify_accepts_a_valid_token_and_rejects_a_forged_one(api_client, owner):
    access = api_client.post("/api/v1/auth/token/", {"email": owner.email, "password": PASSWORD}).json()[
        "access"
    ]

    ok = api_client.post("/api/v1/auth/token/verify/", {"token": access})
    forged = api_client.post("/api/v1/auth/token/verify/", {"token": access[:-4] + "abcd"})

    assert (ok.status_code, ok.json()) == (200, {})
    assert forged.status_code == 401
    assert forged.json()["code"] == "token_not_valid"


def test_a_garbage_bearer_token_answers_401(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer not.a.jwt")

    response = client.get("/api/v1/users/me")

    assert response.status_code == 401
    assert response.json()["code"] == "token_not_valid"
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_no_credentials_answers_401_not_403(api_client, db):
    response = api_client.get("/api/v1/rbac/permissions")

    assert response.status_code == 401
    assert response.json() == {
        "error": "Authentication credentials were not provided.",
        "code": "not_authenticated",
    }


def test_session_login_works_for_the_api_with_csrf_enforced_on_writes(owner):
    client = APIClient(enforce_csrf_checks=True)
    client.login(email=owner.email, password=PASSWORD)

    read = client.get("/api/v1/users/me")
    write = client.patch("/api/v1/users/me", {"name": "Ops"})

    assert (read.status_code, read.json()["email"]) == (200, owner.email)
    assert write.status_code == 403
    assert "CSRF" in write.json()["error"]


@pytest.mark.parametrize("path", ["/api/v1/auth/token", "/api/v1/auth/token/"])
def test_token_issuance_is_rate_limited_per_client(api_client, owner, monkeypatch, path):
    from statux.throttling import AnonAuthThrottle

    monkeypatch.setattr(AnonAuthThrottle, "THROTTLE_RATES", {"anon": "3/min"})

    codes = [api_client.post(path, {"email": owner.email, "password": "x"}).status_code for _ in range(4)]

    assert codes == [401, 401, 401, 429]
