from __future__ import annotations

from django.http import HttpRequest

from statux.selectors import user_organizations


def console(request: HttpRequest) -> dict:
    """Organization switcher data for every console page."""
    if not request.path.startswith("/console/") or not request.user.is_authenticated:
        return {}
    return {
        "current_organization": getattr(request, "organization", None),
        "current_access": getattr(request, "access", None),
        "my_memberships": user_organizations(user=request.user),
    }
