"""Which address is the client's: the socket's, or with NUM_PROXIES trusted proxies the entry the
outermost one appended to X-Forwarded-For. Audit logs, rate limits and the sign-in lockout agree."""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from django.utils import timezone
from rest_framework.test import APIClient

from statux.audit import client_ip
from statux.models import AuditLog
from statux.throttling import AnonAuthThrottle
from tests.factories import PASSWORD

TOKEN = "/api/v1/auth/token/"
PROXY = "10.0.0.2"
LOCKED = "Too many failed sign-ins for this account from your address. Try again in 10 minutes."


def meta(forwarded: str | None = None, remote: str = PROXY):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


@pytest.mark.parametrize(
    ("num_proxies", "forwarded", "expected"),
    [
        (0, None, PROXY),
        (0, "203.0.113.7", PROXY),  # no proxy trusted: the header is the client's own claim
        (1, None, PROXY),
        (1, "203.0.113.7", "203.0.113.7"),
        (1, "6.6.6.6, 203.0.113.7", "203.0.113.7"),  # the forged left entry is ignored
        (2, "6.6.6.6, 203.0.113.7, 10.0.0.9", "203.0.113.7"),
        (3, "203.0.113.7, 10.0.0.9", "203.0.113.7"),  # fewer entries than proxies: the leftmost
        (1, " , 203.0.113.7 ,", "203.0.113.7"),
    ],
)
def test_client_ip(settings, num_proxies, forwarded, expected):
    settings.NUM_PROXIES = num_proxies

    assert client_ip(meta(forwarded)) == expected


@pytest.mark.parametrize("num_proxies", [0, 1])
def test_the_anonymous_throttle_counts_the_same_address(settings, num_proxies):
    settings.NUM_PROXIES = num_proxies
    throttle = AnonAuthThrottle()

    keys = {throttle.get_cache_key(meta(f"6.6.6.{n}, 203.0.113.7"), None) for n in range(5)}

    assert keys == {f"throttle:anon:{'203.0.113.7' if num_proxies else PROXY}"}


@pytest.fixture
def limits(settings, time_machine):
    settings.LOGIN_FAILURE_LIMIT = 3
    settings.LOGIN_FAILURE_WINDOW_SECONDS = 600
    time_machine.move_to(timezone.now(), tick=False)


def ask(email: str, password: str, forwarded: str):
    client = APIClient(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded)
    return client.post(TOKEN, {"email": email, "password": password})


def test_behind_one_proxy_each_client_has_its_own_lockout(settings, limits, owner):
    settings.NUM_PROXIES = 1
    for attempt in range(3):  # the attacker varies the part of the header it controls
        assert ask(owner.email, "wrong-guess", f"6.6.6.{attempt}, 203.0.113.7").status_code == 401

    locked = ask(owner.email, PASSWORD, "198.51.100.1, 203.0.113.7")
    owner_elsewhere = ask(owner.email, PASSWORD, "198.51.100.4")

    assert (locked.status_code, locked.json()["error"]) == (429, LOCKED)
    assert owner_elsewhere.status_code == 200, owner_elsewhere.content
    entry = AuditLog.objects.get(action="auth.login_locked")
    assert entry.ip_address == "203.0.113.7"


def test_without_a_trusted_proxy_the_header_cannot_dodge_the_lockout(settings, limits, owner):
    settings.NUM_PROXIES = 0
    for attempt in range(3):
        assert ask(owner.email, "wrong-guess", f"203.0.113.{attempt}").status_code == 401

    response = ask(owner.email, PASSWORD, "198.51.100.4")

    assert (response.status_code, response.json()["error"]) == (429, LOCKED)
