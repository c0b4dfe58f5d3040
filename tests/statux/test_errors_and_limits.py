import pytest
from rest_framework.test import APIClient


def test_malformed_json_is_a_400_in_the_error_format(owner_client):
    response = owner_client.generic("PATCH", "/api/v1/users/me", "{not json", content_type="application/json")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "parse_error" and body["error"].startswith("JSON parse error")


def test_a_body_that_is_not_an_object_is_a_400(owner_client):
    response = owner_client.patch("/api/v1/users/me", [1, 2], format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_an_unsupported_media_type_is_415(owner_client):
    response = owner_client.generic("PATCH", "/api/v1/users/me", "name=x", content_type="text/plain")

    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


def test_an_unknown_api_path_is_a_json_404(api_client, db):
    response = api_client.get("/api/v1/nothing-here")

    assert response.status_code == 404
    assert response.json() == {"error": "No endpoint at /api/v1/nothing-here.", "code": "not_found"}


def test_a_wrong_method_is_405_in_the_error_format(owner_client):
    response = owner_client.delete("/api/v1/users/me")

    assert response.status_code == 405
    assert response.json() == {"error": 'Method "DELETE" not allowed.', "code": "method_not_allowed"}


def test_every_authenticated_response_carries_rate_limit_headers(viewer_client, org):
    for path in [
        "/api/v1/users/me",
        "/api/v1/rbac/permissions",
        f"/api/v1/organizations/{org.slug}/users",
        "/api/v1/status",
        "/adapters",
    ]:
        response = viewer_client.get(path)
        assert response.status_code == 200, path
        assert int(response["X-RateLimit-Limit"]) == 1200, path
        assert 0 <= int(response["X-RateLimit-Remaining"]) < 1200, path
        assert int(response["X-RateLimit-Reset"]) > 1_700_000_000, path


def test_errors_carry_rate_limit_headers_too(viewer_client):
    response = viewer_client.get("/api/v1/apikeys")

    assert response.status_code == 403
    assert response["X-RateLimit-Remaining"] == "1199"


def test_the_user_rate_limit_answers_429_with_retry_after(viewer_client, monkeypatch):
    from statux.throttling import ClientRateThrottle

    monkeypatch.setattr(ClientRateThrottle, "THROTTLE_RATES", {"client": "2/min"})

    codes = [viewer_client.get("/api/v1/users/me").status_code for _ in range(3)]
    limited = viewer_client.get("/api/v1/users/me")

    assert codes == [200, 200, 429]
    assert limited.json()["error"].startswith("Rate limit exceeded; retry in ")
    assert limited.json()["retry_after"] == int(limited["Retry-After"]) > 0
    assert (limited["X-RateLimit-Limit"], limited["X-RateLimit-Remaining"]) == ("2", "0")


def test_two_users_have_separate_budgets(viewer_client, operator_client, monkeypatch):
    from statux.throttling import ClientRateThrottle

    monkeypatch.setattr(ClientRateThrottle, "THROTTLE_RATES", {"client": "1/min"})

    first = viewer_client.get("/api/v1/users/me").status_code
    other = operator_client.get("/api/v1/users/me").status_code

    assert (first, other) == (200, 200)


@pytest.mark.parametrize("path", ["/health", "/health/", "/api/v1/health", "/api/v1/health/"])
def test_health_is_public_and_answers_with_and_without_slash(path, db):
    response = APIClient().get(path)

    assert response.status_code == 200
    assert set(response.json()) == {"status", "version", "timestamp"}


def test_a_user_without_any_organization_is_told_why(db):
    from tests.conftest import jwt_client
    from tests.factories import UserFactory

    client = jwt_client(UserFactory(email="loner@nowhere.test"))

    response = client.get("/api/v1/rbac/permissions")

    assert response.status_code == 403
    assert (
        response.json()["error"]
        == "You do not belong to any organization yet; ask an admin for an invitation."
    )


def test_the_budget_comes_back_in_the_next_window(reader, monkeypatch, time_machine):
    from statux.throttling import ClientRateThrottle

    monkeypatch.setattr(ClientRateThrottle, "THROTTLE_RATES", {"client": "1/min"})
    time_machine.move_to("2026-11-23T10:00:10Z", tick=False)
    first = reader.get("/api/v1/rbac/permissions")
    refused = reader.get("/api/v1/rbac/permissions")
    time_machine.move_to("2026-11-23T10:01:00Z", tick=False)
    later = reader.get("/api/v1/rbac/permissions")

    assert (first.status_code, refused.status_code, later.status_code) == (200, 429, 200)
    assert refused.json()["retry_after"] == int(refused["Retry-After"]) == 50
    assert refused["X-RateLimit-Reset"] == "1795428060"  # 10:01:00Z, when the window ends
    assert later["X-RateLimit-Reset"] == "1795428120"
