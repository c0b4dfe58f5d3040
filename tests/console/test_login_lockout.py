"""Password guessing on the console and admin log-in forms: failures per email and address lock that pair."""

from __future__ import annotations

import html
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from statux.models import AuditLog
from tests.factories import PASSWORD

LOGIN_PAGES = ["/console/login/", "/admin/login/"]
ADDRESS, OTHER_ADDRESS = "203.0.113.7", "198.51.100.4"
LOCKED = "Too many failed sign-ins for this account from your address. Try again in 10 minutes."
ADDRESS_LOCKED = "Too many failed sign-ins from your address. Try again in 10 minutes."
WRONG = {"/console/login/": "Please enter a correct email", "/admin/login/": "Please enter the correct email"}

pytestmark = pytest.mark.parametrize("page", LOGIN_PAGES)


@pytest.fixture(autouse=True)
def limits(settings, time_machine):
    settings.LOGIN_FAILURE_LIMIT = 3  # the address ceiling is five times that: 15
    settings.LOGIN_FAILURE_WINDOW_SECONDS = 600
    time_machine.move_to(timezone.now(), tick=False)


def log_in(page: str, email: str, password: str, address: str = ADDRESS, **headers) -> tuple[Client, str]:
    """Post the form from `address`; the client (to read its session) and the page as a reader sees it."""
    client = Client(REMOTE_ADDR=address, **headers)
    response = client.post(page, {"username": email, "password": password})
    return client, html.unescape(response.content.decode())


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def fail(page: str, email: str, times: int, address: str = ADDRESS) -> None:
    for _ in range(times):
        client, text = log_in(page, email, "wrong-guess", address)
        assert WRONG[page] in text and not signed_in(client)


def test_failures_below_the_limit_still_let_the_right_password_in(page, superuser):
    fail(page, superuser.email, 2)

    client, _ = log_in(page, superuser.email, PASSWORD)

    assert signed_in(client)


def test_reaching_the_limit_refuses_even_the_right_password_and_says_when_to_retry(page, superuser):
    fail(page, superuser.email, 3)

    client, text = log_in(page, superuser.email, PASSWORD)

    assert not signed_in(client)
    assert LOCKED in text
    assert WRONG[page] not in text


def test_the_count_ignores_the_case_of_the_email(page, superuser):
    fail(page, "ROOT@platform.test", 2)
    fail(page, "Root@Platform.test", 1)

    client, text = log_in(page, superuser.email, PASSWORD)

    assert (signed_in(client), LOCKED in text) == (False, True)


def test_a_locked_account_still_signs_in_from_another_address(page, superuser):
    fail(page, superuser.email, 3)

    client, _ = log_in(page, superuser.email, PASSWORD, address=OTHER_ADDRESS)

    assert signed_in(client)


def test_a_forged_x_forwarded_for_does_not_make_another_address(page, superuser):
    for n in range(3):
        log_in(page, superuser.email, "wrong-guess", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")

    client, text = log_in(page, superuser.email, PASSWORD, HTTP_X_FORWARDED_FOR="192.0.2.99")

    assert (signed_in(client), LOCKED in text) == (False, True)


def test_one_address_failing_across_many_accounts_is_refused_for_every_account(page, superuser):
    for n in range(15):  # one guess per account: no pair reaches its limit
        fail(page, f"guess{n}@acme.test", 1)

    refused, text = log_in(page, superuser.email, PASSWORD)
    elsewhere, _ = log_in(page, superuser.email, PASSWORD, address=OTHER_ADDRESS)

    assert not signed_in(refused)
    assert ADDRESS_LOCKED in text
    assert signed_in(elsewhere)


def test_signing_in_clears_the_failures_of_that_account_and_address(page, superuser):
    fail(page, superuser.email, 2)
    log_in(page, superuser.email, PASSWORD)
    fail(page, superuser.email, 2)

    client, _ = log_in(page, superuser.email, PASSWORD)

    assert signed_in(client)


def test_the_lock_counts_down_and_lifts_once_the_window_has_passed(page, superuser, time_machine):
    fail(page, superuser.email, 3)

    time_machine.shift(timedelta(seconds=299))
    _, halfway = log_in(page, superuser.email, PASSWORD)
    time_machine.shift(timedelta(seconds=302))
    client, _ = log_in(page, superuser.email, PASSWORD)

    assert "Try again in 6 minutes." in halfway
    assert signed_in(client)


def test_the_first_lock_is_written_to_the_audit_log_once(page, superuser):
    fail(page, superuser.email, 3)
    log_in(page, superuser.email, PASSWORD)
    log_in(page, superuser.email, "wrong-guess")

    rows = AuditLog.objects.filter(action="auth.login_locked")

    assert [
        (row.organization_id, row.actor, row.ip_address, row.target_id, row.metadata) for row in rows
    ] == [
        (
            None,
            "system:login-guard",
            ADDRESS,
            str(superuser.pk),
            {"scope": "account", "email": superuser.email, "failures": 3, "window_seconds": 600},
        )
    ]


def test_failures_at_the_token_endpoint_count_here_too(page, superuser):
    api = APIClient(REMOTE_ADDR=ADDRESS)
    for _ in range(3):
        api.post("/api/v1/auth/token/", {"email": superuser.email, "password": "wrong-guess"})

    client, text = log_in(page, superuser.email, PASSWORD)

    assert (signed_in(client), LOCKED in text) == (False, True)


def test_a_right_password_refused_elsewhere_still_counts_as_a_failure(page, owner):
    """Admin refuses a non-staff account with the wrong-password message; the count must not differ."""
    fail(page, owner.email, 2)
    log_in("/admin/login/", owner.email, PASSWORD)

    client, text = log_in(page, owner.email, PASSWORD)

    assert (signed_in(client), LOCKED in text) == (False, True)
