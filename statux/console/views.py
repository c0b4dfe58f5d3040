"""Console pages. The tenant comes from ConsoleOrganizationMiddleware; selectors read, services write."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from statux import selectors, services
from statux.audit import Actor, client_ip
from statux.console import forms
from statux.console.dashboard import incident_summary
from statux.errors import NotFound, StatuxError
from statux.models import ApiKey, Membership, Organization, Role, User

AUDIT_PAGE_SIZE = 50
DASHBOARD_AUDIT_ENTRIES = 10
# What each permission lets a person do, for the sentence a refused request shows.
PERMISSION_PHRASES = {
    "read": "view this organization",
    "manage_users": "manage members and invitations",
    "manage_keys": "manage API keys",
    "write": "change incidents, analyses, webhook configs, the dead letter or guardrails",
}

login_view = auth_views.LoginView.as_view(
    template_name="console/auth/login.html",
    authentication_form=forms.ConsoleLoginForm,
    redirect_authenticated_user=True,
)
logout_view = auth_views.LogoutView.as_view()  # POST only, as in Django 5


def _forbidden(request: HttpRequest, reason: str) -> HttpResponse:
    return render(request, "console/errors/forbidden.html", {"reason": reason}, status=403)


def _not_found(request: HttpRequest, reason: str) -> HttpResponse:
    return render(request, "console/errors/not_found.html", {"reason": reason}, status=404)


def requires(permission: str) -> Callable:
    """Log-in plus a permission in the current organization; a refusal is a 403 page that says why."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        @login_required
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            access = request.access
            if access is None:
                return _forbidden(
                    request, "You do not belong to any organization yet; ask an admin for an invitation."
                )
            if not access.allows(permission):
                return _forbidden(
                    request,
                    f"Your role '{access.role}' in {access.organization.name} cannot "
                    f"{PERMISSION_PHRASES[permission]}; ask an admin or owner.",
                )
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


# --- Dashboard and organization switcher -----------------------------------------------------------


@login_required
@require_safe
def dashboard_view(request: HttpRequest) -> HttpResponse:
    """GET /console/"""
    if request.access is None:
        return render(request, "console/dashboard.html", {})
    organization, access = request.organization, request.access
    context = {
        "member_count": selectors.membership_list(organization=organization).count(),
        "active_key_count": selectors.api_key_list_active(organization=organization).count(),
        "pending_invitation_count": len(selectors.invitation_list_pending(organization=organization))
        if access.allows("manage_users")
        else None,
        "audit_entries": selectors.audit_log_list(organization=organization)[:DASHBOARD_AUDIT_ENTRIES],
        **incident_summary(organization=organization),
    }
    return render(request, "console/dashboard.html", context)


def _switchable_organization(user: User, reference: str) -> Organization | None:
    try:
        organization_id = uuid.UUID(reference)
    except ValueError:
        return None
    membership = selectors.user_organizations(user=user).filter(organization_id=organization_id).first()
    if membership is not None:
        return membership.organization
    if user.is_superuser:
        return selectors.organization_list().filter(pk=organization_id).first()
    return None


@login_required
@require_POST
def organization_switch_view(request: HttpRequest) -> HttpResponse:
    """POST /console/organization/"""
    organization = _switchable_organization(request.user, request.POST.get("organization_id", ""))
    if organization is None:
        return _forbidden(
            request, "You are not a member of that organization; the console stays where it was."
        )
    request.session["organization_id"] = str(organization.id)
    messages.success(request, f"Switched to {organization.name}.")
    next_url = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(next_url)
    return redirect("console:dashboard")


# --- Members and invitations -----------------------------------------------------------------------


def _members_page(
    request: HttpRequest,
    *,
    invite_form: forms.InvitationCreateForm | None = None,
    invite_link: str = "",
    invitation=None,
    status: int = 200,
) -> HttpResponse:
    organization, access = request.organization, request.access
    can_manage = access.allows("manage_users")
    context = {
        "memberships": selectors.membership_list(organization=organization),
        "can_manage": can_manage,
        "invitations": selectors.invitation_list_pending(organization=organization) if can_manage else [],
        "invite_form": invite_form or forms.InvitationCreateForm(access=access),
        "role_choices": forms.grantable_roles(access),
        "invite_link": invite_link,
        "invitation": invitation,
    }
    return render(request, "console/members/list.html", context, status=status)


def create_shown_once(
    request: HttpRequest,
    form: Any,
    page: Callable[..., HttpResponse],
    create: Callable[[dict], HttpResponse],
    *,
    form_kwarg: str = "form",
) -> HttpResponse:
    """Validate, create through a service, and answer with the page that shows the new secret this once.

    Invalid input and refusals re-render the page with the form and the reason instead of redirecting.
    """
    if not form.is_valid():
        return page(request, **{form_kwarg: form}, status=400)
    try:
        return create(form.cleaned_data)
    except StatuxError as exc:
        messages.error(request, exc.message)
        return page(request, **{form_kwarg: form}, status=exc.status)


def _membership(request: HttpRequest, user_id: uuid.UUID) -> Membership | None:
    try:
        return selectors.membership_get(organization=request.organization, user_id=str(user_id))
    except NotFound:
        return None


@requires("read")
@require_safe
def member_list_view(request: HttpRequest) -> HttpResponse:
    """GET /console/members/"""
    return _members_page(request)


@requires("manage_users")
@require_POST
@never_cache
def member_invite_view(request: HttpRequest) -> HttpResponse:
    """POST /console/members/invite/: renders the invitation link once instead of redirecting."""
    form = forms.InvitationCreateForm(request.POST, access=request.access)

    def invite(data: dict) -> HttpResponse:
        invitation, token = services.invitation_create(
            organization=request.organization,
            access=request.access,
            actor=Actor.from_request(request),
            **data,
        )
        messages.success(request, f"Invitation for {invitation.email} created and emailed.")
        return _members_page(request, invite_link=services.invitation_url(token), invitation=invitation)

    return create_shown_once(request, form, _members_page, invite, form_kwarg="invite_form")


@requires("manage_users")
@require_POST
def member_role_view(request: HttpRequest, user_id: uuid.UUID) -> HttpResponse:
    """POST /console/members/<user_id>/role/"""
    if (membership := _membership(request, user_id)) is None:
        return _not_found(request, "That person is not a member of this organization.")
    form = forms.MembershipRoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Pick one of the roles {', '.join(Role.values)}.")
        return redirect("console:member-list")
    try:
        membership = services.membership_change_role(
            membership=membership,
            role=form.cleaned_data["role"],
            access=request.access,
            actor=Actor.from_request(request),
        )
    except StatuxError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{membership.user.email} is now {membership.role}.")
    return redirect("console:member-list")


@requires("manage_users")
@require_http_methods(["GET", "POST"])
def member_remove_view(request: HttpRequest, user_id: uuid.UUID) -> HttpResponse:
    """GET (confirm), POST /console/members/<user_id>/remove/"""
    if (membership := _membership(request, user_id)) is None:
        return _not_found(request, "That person is not a member of this organization.")
    if request.method == "GET":
        return render(request, "console/members/remove.html", {"membership": membership})
    try:
        services.membership_remove(
            membership=membership, access=request.access, actor=Actor.from_request(request)
        )
    except StatuxError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{membership.user.email} was removed from {request.organization.name}.")
    return redirect("console:member-list")


@requires("manage_users")
@require_POST
def invitation_revoke_view(request: HttpRequest, invitation_id: uuid.UUID) -> HttpResponse:
    """POST /console/members/invitations/<invitation_id>/revoke/"""
    try:
        invitation = selectors.invitation_get_pending(
            organization=request.organization, invitation_id=invitation_id
        )
    except NotFound as exc:
        messages.error(request, exc.message)
        return redirect("console:member-list")
    services.invitation_revoke(invitation=invitation, actor=Actor.from_request(request))
    messages.success(request, f"Invitation for {invitation.email} revoked; its link no longer works.")
    return redirect("console:member-list")


# --- API keys --------------------------------------------------------------------------------------


def _keys_page(
    request: HttpRequest,
    *,
    form: forms.ApiKeyCreateForm | None = None,
    created_key: ApiKey | None = None,
    raw_key: str = "",
    status: int = 200,
) -> HttpResponse:
    context = {
        "keys": selectors.api_key_list(organization=request.organization),
        "form": form or forms.ApiKeyCreateForm(access=request.access),
        "created_key": created_key,
        "raw_key": raw_key,
    }
    return render(request, "console/keys/list.html", context, status=status)


def _api_key(request: HttpRequest, key_id: str) -> ApiKey | None:
    try:
        return selectors.api_key_get(organization=request.organization, key_id=key_id)
    except NotFound:
        return None


@requires("manage_keys")
@require_safe
def key_list_view(request: HttpRequest) -> HttpResponse:
    """GET /console/keys/"""
    return _keys_page(request)


@requires("manage_keys")
@require_POST
@never_cache
def key_create_view(request: HttpRequest) -> HttpResponse:
    """POST /console/keys/create/: renders the full key once instead of redirecting."""
    form = forms.ApiKeyCreateForm(request.POST, access=request.access)

    def create(data: dict) -> HttpResponse:
        key, raw = services.api_key_create(
            organization=request.organization,
            access=request.access,
            actor=Actor.from_request(request),
            **data,
        )
        messages.success(request, f"API key “{key.name}” created.")
        return _keys_page(request, created_key=key, raw_key=raw)

    return create_shown_once(request, form, _keys_page, create)


@requires("manage_keys")
@require_http_methods(["GET", "POST"])
def key_revoke_view(request: HttpRequest, key_id: str) -> HttpResponse:
    """GET (confirm), POST /console/keys/<key_id>/revoke/"""
    if (key := _api_key(request, key_id)) is None:
        return _not_found(request, f"There is no API key {key_id} in this organization.")
    if request.method == "GET":
        return render(request, "console/keys/revoke.html", {"key": key})
    services.api_key_revoke(key=key, actor=Actor.from_request(request))
    messages.success(request, f"API key “{key.name}” revoked; requests that use it are now refused.")
    return redirect("console:key-list")


# --- Audit log -------------------------------------------------------------------------------------


@requires("read")
@require_safe
def audit_list_view(request: HttpRequest) -> HttpResponse:
    """GET /console/audit/?action=<prefix>&actor=<text>&page=<n>"""
    form = forms.AuditFilterForm(request.GET)
    filters = form.cleaned_data if form.is_valid() else {}
    entries = selectors.audit_log_list(organization=request.organization, filters=filters)
    page = Paginator(entries, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "query": query.urlencode(), "filtered": any(filters.values())}
    return render(request, "console/audit/list.html", context)


# --- Invitation acceptance (public) ----------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
def invitation_accept_view(request: HttpRequest, token: str) -> HttpResponse:
    """GET, POST /console/invitations/<token>/: join with a new account or an existing one's password."""
    try:
        invitation = services.invitation_get_pending(token=token)
    except NotFound as exc:
        return render(request, "console/invitations/invalid.html", {"reason": exc.message}, status=404)
    existing_account = selectors.user_exists(email=invitation.email)
    form = forms.InvitationAcceptForm(request.POST or None, existing_account=existing_account)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.invitation_accept(
                token=token,
                password=form.cleaned_data["password"],
                name=form.cleaned_data.get("name", ""),
                ip_address=client_ip(request),
            )
        except StatuxError as exc:
            messages.error(request, exc.message)
            for field, errors in (exc.fields or {}).items():
                for error in errors if field in form.fields else []:
                    form.add_error(field, error)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            request.session["organization_id"] = str(
                invitation.organization_id
            )  # after login(): it may flush
            messages.success(
                request, f"Welcome to {invitation.organization.name}; you joined as {invitation.role}."
            )
            return redirect("console:dashboard")
    context = {"invitation": invitation, "form": form, "existing_account": existing_account}
    return render(request, "console/invitations/accept.html", context, status=400 if form.errors else 200)
