"""Who did what: `Actor` travels from the request (or the unattended job) into every service."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import models

from statux.models import ApiKey, AuditLog, Organization, User


@dataclass(frozen=True)
class Actor:
    user: User | None = None
    api_key: ApiKey | None = None
    system: str = ""
    ip_address: str | None = None

    @classmethod
    def from_request(cls, request: Any) -> Actor:
        api_key = getattr(request, "auth", None)
        user = getattr(request, "user", None)
        return cls(
            user=user if isinstance(user, User) else None,
            api_key=api_key if isinstance(api_key, ApiKey) else None,
            ip_address=client_ip(request),
        )

    @property
    def label(self) -> str:
        if self.user is not None:
            return self.user.email
        if self.api_key is not None:
            return f"apikey:{self.api_key.key_id}"
        return f"system:{self.system or 'unknown'}"


def client_ip(request: Any) -> str | None:
    """The client's address: REMOTE_ADDR, or with NUM_PROXIES trusted reverse proxies in front, the
    X-Forwarded-For entry the outermost of them appended. Entries left of it are the client's own words."""
    meta = getattr(request, "META", {})
    remote_addr = meta.get("REMOTE_ADDR") or None
    forwarded = [part.strip() for part in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if settings.NUM_PROXIES <= 0 or not forwarded:
        return remote_addr
    return forwarded[-min(settings.NUM_PROXIES, len(forwarded))]


def audit_record(
    *,
    actor: Actor,
    action: str,
    organization: Organization | None,
    target: models.Model | None = None,
    metadata: dict[str, Any] | None = None,
) -> AuditLog:
    """Write one audit row; call it inside the service's transaction."""
    return AuditLog.objects.create(
        organization=organization,
        actor_user=actor.user,
        actor=actor.label,
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_label=str(target)[:300] if target is not None else "",
        metadata=metadata or {},
        ip_address=actor.ip_address,
    )
