"""Password guessing: failed sign-ins counted per (email, client address) and per address, in the cache.

Console, admin and token issuance each run one sign-in inside `login_attempt()`. A pair that fails
LOGIN_FAILURE_LIMIT times within LOGIN_FAILURE_WINDOW_SECONDS is refused, before any password is
checked, for a window; so is an address that fails ADDRESS_LIMIT_FACTOR times as often across every
account. Keying by the pair means nobody can lock a real user out from another address.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

from django.conf import settings
from django.core.cache import cache

from statux.audit import Actor, audit_record, client_ip
from statux.errors import StatuxError
from statux.models import User

ADDRESS_LIMIT_FACTOR = 5
LOCKED_ACTION = "auth.login_locked"
GUARD_ACTOR = "login-guard"


class LoginLocked(StatuxError):
    status, code = 429, "too_many_failed_logins"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class LoginAttempt:
    """One sign-in try. `succeeded()` once the person is let in; anything else counts as one failure."""

    def __init__(self, *, email: str, ip_address: str | None) -> None:
        self.email = email.strip().lower()  # logins are case-insensitive, so are their counters
        self.ip_address = ip_address
        self.window_seconds = settings.LOGIN_FAILURE_WINDOW_SECONDS
        self.pair_limit = settings.LOGIN_FAILURE_LIMIT
        self.address_limit = ADDRESS_LIMIT_FACTOR * settings.LOGIN_FAILURE_LIMIT
        address = ip_address or "unknown"
        pair = hashlib.sha256(f"{self.email}\n{address}".encode()).hexdigest()  # any string is a safe key
        self.pair_key, self.address_key = f"login-guard:pair:{pair}", f"login-guard:ip:{address}"
        self.pair_count = self.address_count = 0
        self.let_in = False

    def claim(self) -> None:
        """Refuse a locked pair or address, else count this try before its password is checked.

        Counting first keeps parallel guesses within the limit: each try claims its place atomically.
        """
        pair_lock, address_lock = f"{self.pair_key}:locked", f"{self.address_key}:locked"
        locks = cache.get_many([pair_lock, address_lock])  # each holds the time.time() it expires at
        # A lock ends by this clock, not only by the key's expiry: the cache's TTL runs on its own
        # server's clock, which a skewed host (or a test that moves time) does not share.
        if lifted := [key for key, until in locks.items() if until <= time.time()]:
            cache.delete_many(lifted)
        if pair_lock in locks and pair_lock not in lifted:
            raise self._locked(for_account=True, until=locks[pair_lock])
        if address_lock in locks and address_lock not in lifted:
            raise self._locked(for_account=False, until=locks[address_lock])
        self.pair_count = _increment(f"{self.pair_key}:failures", ttl_seconds=self.window_seconds)
        self.address_count = _increment(f"{self.address_key}:failures", ttl_seconds=self.window_seconds)
        if self.pair_count > self.pair_limit or self.address_count > self.address_limit:
            self._release()  # raced past the limit while other tries were in flight; never checked
            until = time.time() + self.window_seconds
            raise self._locked(for_account=self.pair_count > self.pair_limit, until=until)

    def succeeded(self) -> None:
        """The pair starts over; the address keeps its other failures, so one's own account cannot
        reset an address that sprays others."""
        self.let_in = True
        cache.delete(f"{self.pair_key}:failures")
        _decrement(f"{self.address_key}:failures")

    def failed(self) -> None:
        if self.pair_count >= self.pair_limit:
            self._lock(self.pair_key, scope="account", failures=self.pair_count)
        if self.address_count >= self.address_limit:
            self._lock(self.address_key, scope="address", failures=self.address_count)

    def _release(self) -> None:
        _decrement(f"{self.pair_key}:failures")
        _decrement(f"{self.address_key}:failures")

    def _lock(self, key: str, *, scope: str, failures: int) -> None:
        until = time.time() + self.window_seconds
        if not cache.add(f"{key}:locked", until, timeout=self.window_seconds):
            return  # locked already, and recorded then
        cache.delete(f"{key}:failures")  # the next window starts from nothing
        metadata: dict[str, Any] = {
            "scope": scope,
            "failures": failures,
            "window_seconds": self.window_seconds,
        }
        target = None
        if scope == "account":
            metadata["email"] = self.email[:254]
            target = User.objects.filter(email__iexact=self.email).first()
        audit_record(
            actor=Actor(system=GUARD_ACTOR, ip_address=self.ip_address),
            action=LOCKED_ACTION,
            organization=None,  # a sign-in belongs to no organization yet
            target=target,
            metadata=metadata,
        )

    def _locked(self, *, for_account: bool, until: float) -> LoginLocked:
        retry_after = max(1, math.ceil(until - time.time()))
        minutes = math.ceil(retry_after / 60)
        who = "for this account from your address" if for_account else "from your address"
        return LoginLocked(
            f"Too many failed sign-ins {who}. Try again in {minutes} minute{'s' if minutes != 1 else ''}.",
            retry_after=retry_after,
        )


@contextmanager
def login_attempt(request: Any, *, email: str) -> Iterator[LoginAttempt]:
    """Run one sign-in; raises LoginLocked on entry, without checking anything, while locked.

    The block calls `attempt.succeeded()` once it lets the person in; leaving it any other way (no
    user, a refusal such as a non-staff account in admin, an exception) counts exactly one failure.
    """
    attempt = LoginAttempt(email=email, ip_address=client_ip(request))
    attempt.claim()
    try:
        yield attempt
    finally:
        if not attempt.let_in:
            attempt.failed()


def _increment(key: str, *, ttl_seconds: int) -> int:
    """Count one in a window that starts with the first count (incr keeps the expiry)."""
    cache.add(key, 0, timeout=ttl_seconds)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=ttl_seconds)
        return 1


def _decrement(key: str) -> None:
    with suppress(ValueError):  # the window ended meanwhile: nothing left to give back
        cache.decr(key)
