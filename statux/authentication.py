"""API keys, JWT bearer tokens (naming the current organization) and console sessions."""

from __future__ import annotations

import hmac
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.settings import api_settings

from statux.models import ApiKey, hash_secret

API_KEY_PREFIX = "isage_"
LAST_USED_PRECISION = timedelta(minutes=1)


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


def api_key_lookup(raw_key: str) -> ApiKey:
    key = ApiKey.objects.select_related("organization").filter(key_hash=hash_secret(raw_key)).first()
    if key is None:
        raise exceptions.AuthenticationFailed("Invalid API key.", code="invalid_api_key")
    if key.revoked_at is not None:
        raise exceptions.AuthenticationFailed("This API key has been revoked.", code="api_key_revoked")
    if key.expires_at is not None and key.expires_at <= timezone.now():
        raise exceptions.AuthenticationFailed("This API key has expired.", code="api_key_expired")
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_PRECISION:
        # Conditional update, at most once a minute per key: no write on every request.
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key


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
        key = api_key_lookup(raw)
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

    The user and the membership of the token's organization come back in one query; tenant
    resolution reuses that membership instead of asking again.
    """

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


class CsrfSessionAuthentication(authentication.SessionAuthentication):
    """Console sessions; CSRF enforced on unsafe methods (DRF's own check)."""
