"""Rate limits on the Django cache (Redis in production) and the X-RateLimit-* headers they produce."""

from __future__ import annotations

from typing import Any

from rest_framework.throttling import SimpleRateThrottle

from statux.models import ApiKey


class HeaderThrottle(SimpleRateThrottle):
    """A sliding-window throttle that remembers enough to report limit, remaining and reset."""

    def allow_request(self, request, view) -> bool:
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.history = self.cache.get(self.key, [])
        self.now = self.timer()
        while self.history and self.history[-1] <= self.now - self.duration:
            self.history.pop()
        if len(self.history) >= self.num_requests:
            return self.throttle_failure()
        return self.throttle_success()

    def rate_headers(self) -> dict[str, str] | None:
        if getattr(self, "key", None) is None or not hasattr(self, "history"):
            return None
        remaining = max(0, self.num_requests - len(self.history))
        oldest = self.history[-1] if self.history else self.now
        reset = int(oldest + self.duration) + 1
        return {
            "X-RateLimit-Limit": str(self.num_requests),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": str(reset),
        }


class ClientRateThrottle(HeaderThrottle):
    """Per API key (its own `rate_limit_rps` when set), per user, else per client IP."""

    scope = "client"

    def allow_request(self, request, view) -> bool:
        key = getattr(request, "auth", None)
        if isinstance(key, ApiKey) and key.rate_limit_rps:
            self.num_requests, self.duration = key.rate_limit_rps, 1
        return super().allow_request(request, view)

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
        return self.cache_format % {"scope": self.scope, "ident": ident}


class AnonAuthThrottle(HeaderThrottle):
    """Public credential endpoints (token, invitation accept): per client IP, against guessing."""

    scope = "anon"

    def get_cache_key(self, request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class InsightsRateThrottle(ClientRateThrottle):
    scope = "insights"
