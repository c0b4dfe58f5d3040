"""API keys, JWT bearer tokens (naming the current organization) and console sessions."""

from __future__ import annotations

import copy
import hmac
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

from django.conf import settings
from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.utils import aware_utcnow

from statux import auth_cache
from statux.models import ApiKey, hash_secret

API_KEY_PREFIX = "isage_"
LAST_USED_PRECISION = timedelta(minutes=1)
MAX_VALIDATED_TOKENS = 10_000
_validated_tokens: dict[bytes, Any] = {}  # raw JWT -> validated token, this process


class KeyPrincipal:
    """`request.user` for a request made with a key: authenticated, but not a person."""

    is_authenticated = True
    is_anonymous = False
    is_superuser = False
    is_staff = False
    pk = None
    id = None

    def __init__(self, label: str, key: ApiKey | None = None) -> None:
        self.label, self.key = label, key
        self.email = label

    def __str__(self) -> str:
        return self.label


class StaticKey:
    """One of `AI_SRE_API_KEYS`: bound to the default organization, full AI-SRE access."""

    scope = "write"
    permissions = ("read", "write", "ingest")

    def __init__(self, index: int) -> None:
        self.key_id = f"static-{index}"


def presented_api_key(request: Request) -> str:
    header = request.META.get("HTTP_X_API_KEY", "").strip()
    if header:
        return header
    bearer = request.META.get("HTTP_AUTHORIZATION", "")
    if bearer.startswith("Bearer ") and bearer[7:].strip().startswith(API_KEY_PREFIX):
        return bearer[7:].strip()
    return request.query_params.get("api_key", "").strip()


def api_key_lookup(raw_key: str, *, request: Any = None) -> ApiKey:
    """The key's row, from this process's cache when a request carries a current auth version."""
    key_hash = hash_secret(raw_key)

    def load() -> ApiKey | None:
        return ApiKey.objects.select_related("organization").filter(key_hash=key_hash).first()

    row = auth_cache.cached(request, ("key", key_hash), load) if request is not None else load()
    if row is None:
        raise exceptions.AuthenticationFailed("Invalid API key.", code="invalid_api_key")
    key = _detached(row)
    if key.revoked_at is not None:
        raise exceptions.AuthenticationFailed("This API key has been revoked.", code="api_key_revoked")
    now = timezone.now()
    if key.expires_at is not None and key.expires_at <= now:  # from the cached row too: expiry bumps nothing
        raise exceptions.AuthenticationFailed("This API key has expired.", code="api_key_expired")
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_PRECISION:
        # Conditional update, at most once a minute per key and process: no write on every request.
        # update() sends no signal, which is right here: when a key was last used authorizes nothing.
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        row.last_used_at = key.last_used_at = now
    return key


def _detached(row: Any) -> Any:
    """A copy for one request, so a view that changes what it is handed leaves the cached row alone."""
    instance = copy.copy(row)
    if "organization" in row._state.fields_cache:
        instance.organization = copy.copy(row.organization)
    return instance


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """`X-API-Key: isage_…`, `Authorization: Bearer isage_…` or `?api_key=isage_…`."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        raw = presented_api_key(request)
        if not raw:
            return None
        if not raw.startswith(API_KEY_PREFIX):
            static = static_key_match(raw) if getattr(request, "accepts_static_keys", False) else None
            if static is not None:
                return KeyPrincipal(f"apikey:{static.key_id}"), static
            raise exceptions.AuthenticationFailed("Invalid API key.", code="invalid_api_key")
        key = api_key_lookup(raw, request=request)
        return KeyPrincipal(f"apikey:{key.key_id}", key), key

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'


def static_key_match(raw: str) -> StaticKey | None:
    for index, configured in enumerate(settings.AI_SRE_API_KEYS):
        if configured and hmac.compare_digest(configured.encode(), raw.encode()):
            return StaticKey(index)
    return None


class OrgJWTAuthentication(JWTAuthentication):
    """simplejwt bearer tokens; the `org` claim names the organization the token was issued for.

    The user and the membership of the token's organization come back in one query, cached per
    process under the auth version (`statux.auth_cache`); tenant resolution reuses that membership
    instead of asking again.
    """

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        validated_token = self.presented_token(request)
        if validated_token is None:
            return None
        cache_key = (
            "jwt",
            str(validated_token.get(api_settings.USER_ID_CLAIM)),
            str(validated_token.get("org")),
            validated_token.get(api_settings.REVOKE_TOKEN_CLAIM) if api_settings.CHECK_REVOKE_TOKEN else None,
        )
        user = auth_cache.cached(request, cache_key, lambda: self.get_user(validated_token))
        return _detached_user(user), validated_token

    def presented_token(self, request: Request) -> Any:
        """The request's validated token (checked once per request), or None without a bearer JWT."""
        http = getattr(request, "_request", request)
        validated_token = getattr(http, "statux_jwt", None)
        if validated_token is None:
            header = self.get_header(request)
            raw_token = self.get_raw_token(header) if header is not None else None
            if raw_token is None:
                return None
            validated_token = http.statux_jwt = self.get_validated_token(raw_token)
        return validated_token

    def get_validated_token(self, raw_token: bytes) -> Any:
        """Verify the signature of each token once per process; its expiry, on every request.

        The same bytes verify the same way every time, and only `exp` changes its answer with time
        (`nbf` and `iat` only become more valid). An expired token is verified again, for simplejwt's error.
        """
        validated_token = _validated_tokens.get(raw_token)
        if validated_token is not None:
            try:
                validated_token.check_exp(current_time=aware_utcnow())
                return validated_token
            except TokenError:
                _validated_tokens.pop(raw_token, None)
        validated_token = super().get_validated_token(raw_token)
        if len(_validated_tokens) >= MAX_VALIDATED_TOKENS:
            _validated_tokens.clear()
        _validated_tokens[raw_token] = validated_token
        return validated_token

    def get_user(self, validated_token: Any) -> Any:
        from statux.models import Membership

        user_id, org_id = validated_token.get(api_settings.USER_ID_CLAIM), validated_token.get("org")
        if user_id and org_id:
            membership = (
                Membership.objects.select_related("user", "organization")
                .filter(user_id=user_id, organization_id=org_id)
                .first()
            )
            if membership is not None and membership.user.is_active:
                membership.user.token_membership = membership
                return membership.user
        return super().get_user(validated_token)


def _detached_user(cached_user: Any) -> Any:
    user = copy.copy(cached_user)
    if (membership := getattr(cached_user, "token_membership", None)) is not None:
        user.token_membership = _detached(membership)
        user.token_membership.user = user
    return user


def presented_identity(request: Request) -> tuple[Any, Any] | None:
    """`(user, auth)` as the view's authenticators are about to find them, without I/O; None if unknown.

    Only names the rate-limit counters counted in the auth round trip (`statux.auth_cache.prefetch`);
    it grants nothing. A JWT is verified first; an API key's row comes from this process's cache,
    however old (its id and rate never change). Sessions and static keys are not previewed.
    """
    for authenticator in request.authenticators:  # in DRF's order: the first that answers wins
        if isinstance(authenticator, ApiKeyAuthentication) and (raw := presented_api_key(request)):
            key = auth_cache.peek(("key", hash_secret(raw))) if raw.startswith(API_KEY_PREFIX) else None
            return (KeyPrincipal(f"apikey:{key.key_id}", key), key) if key is not None else None
        if isinstance(authenticator, OrgJWTAuthentication):
            try:
                validated_token = authenticator.presented_token(request)
            except exceptions.AuthenticationFailed:  # authentication raises it again, in its place
                return None
            if validated_token is not None:
                user_id = validated_token.get(api_settings.USER_ID_CLAIM)
                return (SimpleNamespace(pk=user_id), validated_token) if user_id else None
        elif not isinstance(authenticator, ApiKeyAuthentication):
            return None  # a session or another scheme may answer first: no guess
    return None


class CsrfSessionAuthentication(authentication.SessionAuthentication):
    """Console sessions; CSRF enforced on unsafe methods (DRF's own check)."""
