"""Rate limits on the Django cache (Redis in production) and the X-RateLimit-* headers they produce.

Fixed windows counted with one atomic increment: O(1) per request, where DRF's sliding log reads
and rewrites a list of every request in the window (1,200 timestamps at the default rate).
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Sequence
from typing import Any

import redis
from django.conf import settings
from django.core.cache import cache as default_cache
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from statux.audit import client_ip
from statux.models import ApiKey

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """ "1200/min" -> (1200, 60)."""
    count, _, period = rate.partition("/")
    return int(count), PERIODS[period.strip()[0].lower()]


@functools.cache
def redis_client() -> redis.Redis | None:
    """One client (and connection pool) per process, decided at first use; None without Redis."""
    return redis.Redis.from_url(settings.REDIS_URL) if settings.REDIS_URL else None


def redis_round_trip(counters: Sequence[tuple[str, int]], *, read: str) -> tuple[list[int], bytes | None]:
    """Count one more request in each `(counter, ttl_seconds)` window and GET `read`, in one round trip.

    A window's key names its window, so refreshing the expiry on every increment is harmless.
    """
    pipe = redis_client().pipeline(transaction=False)
    pipe.get(read)
    for counter, ttl_seconds in counters:
        pipe.incr(counter)
        pipe.expire(counter, ttl_seconds)
    value, *results = pipe.execute()
    return [int(count) for count in results[::2]], value


def window_increment(counter: str, *, ttl_seconds: int) -> int:
    """Count one more request in a window; one Redis round trip (the cache API needs three)."""
    client = redis_client()
    if client is not None:
        pipe = client.pipeline(transaction=False)
        pipe.incr(counter)
        pipe.expire(counter, ttl_seconds)  # a window's key names its window, so a later expiry is harmless
        count, _ = pipe.execute()
        return int(count)
    if default_cache.add(counter, 1, timeout=ttl_seconds):
        return 1
    try:
        return default_cache.incr(counter)
    except ValueError:  # expired between add and incr
        default_cache.set(counter, 1, timeout=ttl_seconds)
        return 1


class HeaderThrottle(BaseThrottle):
    """Subclasses name their `scope` and define `get_cache_key(request, view)` (None: not limited)."""

    scope = ""
    THROTTLE_RATES = api_settings.DEFAULT_THROTTLE_RATES

    def __init__(self) -> None:
        self.num_requests, self.duration = parse_rate(self.THROTTLE_RATES[self.scope])
        self.count: int | None = None

    def get_ident(self, request) -> str:
        # The address the audit log and the sign-in lockout see (NUM_PROXIES), not DRF's default, which
        # trusts a client-sent X-Forwarded-For when NUM_PROXIES is unset.
        return client_ip(request) or ""

    def window(self, request, view) -> tuple[str, int] | None:
        """The counter this request counts in and its TTL, without I/O; None when not limited.

        `statux.auth_cache.prefetch` counts it early, with the request as it will be once authenticated.
        """
        key = self.get_cache_key(request, view)
        if key is None:
            return None
        window = int(time.time() // self.duration)
        self.reset_at = (window + 1) * self.duration
        return f"{key}:{self.duration}:{window}", self.duration + 1

    def allow_request(self, request, view) -> bool:
        counter = self.window(request, view)
        if counter is None:
            return True
        counted = getattr(getattr(request, "_request", request), "statux_window_counts", None) or {}
        name, ttl_seconds = counter
        # Counted already in the auth round trip, unless identity or window changed since (then count here).
        self.count = counted.pop(name) if name in counted else window_increment(name, ttl_seconds=ttl_seconds)
        return self.count <= self.num_requests

    def wait(self) -> float:
        return max(1.0, math.ceil(self.reset_at - time.time()))

    def rate_headers(self) -> dict[str, str] | None:
        if self.count is None:
            return None
        return {
            "X-RateLimit-Limit": str(self.num_requests),
            "X-RateLimit-Remaining": str(max(0, self.num_requests - self.count)),
            "X-RateLimit-Reset": str(self.reset_at),
        }


class ClientRateThrottle(HeaderThrottle):
    """Per API key (its own `rate_limit_rps` when set), per user, else per client IP."""

    scope = "client"

    def window(self, request, view) -> tuple[str, int] | None:
        key = getattr(request, "auth", None)
        if isinstance(key, ApiKey) and key.rate_limit_rps:
            self.num_requests, self.duration = key.rate_limit_rps, 1
        else:
            self.num_requests, self.duration = parse_rate(self.THROTTLE_RATES[self.scope])
        return super().window(request, view)

    def get_cache_key(self, request, view) -> str | None:
        key = getattr(request, "auth", None)
        if isinstance(key, ApiKey):
            ident: Any = f"key:{key.key_id}"
        elif request.user and getattr(request.user, "pk", None) is not None:
            ident = f"user:{request.user.pk}"
        elif getattr(key, "key_id", None):
            ident = f"key:{key.key_id}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return f"throttle:{self.scope}:{ident}"


class AnonAuthThrottle(HeaderThrottle):
    """Public credential endpoints (token, invitation accept): per client IP, against guessing."""

    scope = "anon"

    def get_cache_key(self, request, view) -> str:
        return f"throttle:{self.scope}:{self.get_ident(request)}"


class InsightsRateThrottle(ClientRateThrottle):
    scope = "insights"
