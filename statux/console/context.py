from __future__ import annotations

from django.http import HttpRequest

from statux.selectors import organization_list, user_organizations

# The nav entry a page belongs to, by the first word of its URL name ("member-remove" -> members).
AREAS = {
    "incident": "incidents",
    "insight": "insights",
    "guardrail": "remediation",
    "usage": "usage",
    "rca": "rcas",
    "anomaly": "anomalies",
    "correlation": "anomalies",
    "analysis": "insights",
    "dashboard": "dashboard",
    "webhook": "ingestion",
    "dead": "ingestion",
    "member": "members",
    "invitation": "members",
    "key": "keys",
    "audit": "audit",
}


def console(request: HttpRequest) -> dict:
    """Navigation and organization switcher data for every console page."""
    if not request.path.startswith("/console/") or not request.user.is_authenticated:
        return {}
    memberships = list(user_organizations(user=request.user))
    switchable = [(membership.organization, membership.role) for membership in memberships]
    if request.user.is_superuser:  # the platform Super-Admin may act in every organization
        roles = {membership.organization_id: membership.role for membership in memberships}
        switchable = [(org, roles.get(org.id, "super admin")) for org in organization_list()]
    access = getattr(request, "access", None)
    url_name = getattr(request.resolver_match, "url_name", "") or ""
    return {
        "current_organization": getattr(request, "organization", None),
        "current_access": access,
        "current_role": access.role.replace("_", " ") if access else "",
        "my_memberships": memberships,
        "switchable_organizations": switchable,
        "console_area": AREAS.get(url_name.split("-")[0], ""),
    }
