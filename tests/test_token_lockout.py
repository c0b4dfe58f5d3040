"""Password guessing on POST /api/v1/auth/token/: failures per email and address lock that pair (429)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from statux.models import AuditLog
from tests.factories import PASSWORD

TOKEN = "/api/v1/auth/token/"
ADDRESS, OTHER_ADDRESS = "203.0.113.7", "198.51.100.4"
LOCKED = "Too many failed sign-ins for this account from your address. Try again in 10 minutes."
WRONG = {"error": "No active account found with the given credentials", "code": "no_active_account"}


@pytest.fixture(autouse=True)
def limits(settings, time_machine):
    settings.LOGIN_FAILURE_LIMIT = 3  # the address ceiling is five times that: 15
    settings.LOGIN_FAILURE_WINDOW_SECONDS = 600
    time_machine.move_to(timezone.now(), tick=False)


def ask(email: str, password: str, address: str = ADDRESS):
    return APIClient(REMOTE_ADDR=address).post(TOKEN, {"email": email, "password": password})


def fail(email: str, times: int, address: str = ADDRESS) -> None:
    for _ in range(times):
        response = ask(email, "wrong-guess", address)
        assert (response.status_code, response.json()) == (401, WRONG)


def test_failures_below_the_limit_still_issue_tokens_for_the_right_password(owner):
    fail(owner.email, 2)

    response = ask(owner.email, PASSWORD)

    assert response.status_code == 200
    assert set(response.json()) == {"access", "refresh"}


def test_reaching_the_limit_answers_429_with_retry_after_even_for_the_right_password(owner):
    fail(owner.email, 3)

    response = ask(owner.email, PASSWORD)

    assert response.status_code == 429
    assert response.json() == {"error": LOCKED, "code": "too_many_failed_logins", "retry_after": 600}
    assert response["Retry-After"] == "600"


def test_a_locked_email_still_gets_tokens_from_another_address(owner):
    fail(owner.email, 3)

    response = ask(owner.email, PASSWORD, address=OTHER_ADDRESS)

    assert (response.status_code, set(response.json())) == (200, {"access", "refresh"})


def test_one_address_failing_across_many_accounts_gets_429_for_every_account(owner):
    for n in range(15):  # one guess per account: no pair reaches its limit
        fail(f"guess{n}@acme.test", 1)

    refused = ask(owner.email, PASSWORD)
    elsewhere = ask(owner.email, PASSWORD, address=OTHER_ADDRESS)

    assert (refused.status_code, refused["Retry-After"]) == (429, "600")
    assert refused.json() == {
        "error": "Too many failed sign-ins from your address. Try again in 10 minutes.",
        "code": "too_many_failed_logins",
        "retry_after": 600,
    }
    assert elsewhere.status_code == 200


def test_signing_in_on_ones_own_account_does_not_reset_the_address_ceiling(owner):
    for n in range(14):
        fail(f"guess{n}@acme.test", 1)
    assert ask(owner.email, PASSWORD).status_code == 200
    fail("guess14@acme.test", 1)

    response = ask(owner.email, PASSWORD)

    assert (response.status_code, response.json()["code"]) == (429, "too_many_failed_logins")


def test_issuing_tokens_clears_the_failures_of_that_email_and_address(owner):
    fail(owner.email, 2)
    ask(owner.email, PASSWORD)
    fail(owner.email, 2)

    response = ask(owner.email, PASSWORD)

    assert response.status_code == 200


def test_the_lock_counts_down_and_lifts_once_the_window_has_passed(owner, time_machine):
    fail(owner.email, 3)

    time_machine.shift(timedelta(seconds=450))
    halfway = ask(owner.email, PASSWORD)
    time_machine.shift(timedelta(seconds=151))
    after = ask(owner.email, PASSWORD)

    assert (halfway.status_code, halfway["Retry-After"], halfway.json()["retry_after"]) == (429, "150", 150)
    assert halfway.json()["error"].endswith("Try again in 3 minutes.")
    assert (after.status_code, set(after.json())) == (200, {"access", "refresh"})


def test_the_first_lock_is_written_to_the_audit_log_once(owner):
    fail(owner.email, 3)
    ask(owner.email, PASSWORD)
    ask(owner.email, "wrong-guess")

    rows = AuditLog.objects.filter(action="auth.login_locked")

    assert [(row.organization_id, row.actor, row.ip_address, row.target_id) for row in rows] == [
        (None, "system:login-guard", ADDRESS, str(owner.pk))
    ]
    assert rows[0].metadata == {
        "scope": "account",
        "email": owner.email,
        "failures": 3,
        "window_seconds": 600,
    }


def test_an_unknown_email_is_locked_like_a_real_one_and_the_address_lock_is_audited(db):
    for n in range(15):
        fail(f"guess{n % 5}@acme.test", 1)  # three tries on each of five unknown emails

    response = ask("guess0@acme.test", "wrong-guess")

    assert (response.status_code, response.json()["error"]) == (429, LOCKED)
    assert sorted(
        (row.metadata["scope"], row.metadata.get("email", ""), row.target_id)
        for row in AuditLog.objects.filter(action="auth.login_locked")
    ) == [("account", f"guess{n}@acme.test", "") for n in range(5)] + [("address", "", "")]
