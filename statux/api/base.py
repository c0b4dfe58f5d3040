"""Base classes every API view inherits: nothing is public, or unscoped, by accident."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.paginator import Paginator
from django.urls import path
from rest_framework import permissions
from rest_framework.exceptions import NotAuthenticated, PermissionDenied
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from statux import auth_cache
from statux.authentication import presented_identity
from statux.tenancy import Access, resolve_organization
from statux.throttling import AnonAuthThrottle, ClientRateThrottle


class RateLimitHeadersMixin:
    """Keeps the throttles DRF checked, so every response can say how much budget is left."""

    def get_throttles(self) -> list:
        if not hasattr(self, "_throttles"):  # one view instance per request: the same throttles throughout
            self._throttles = super().get_throttles()
        return self._throttles

    def check_throttles(self, request: Request) -> None:
        self._checked_throttles = []
        waits = []
        for throttle in self.get_throttles():
            self._checked_throttles.append(throttle)
            if not throttle.allow_request(request, self):
                waits.append(throttle.wait())
        if waits:
            self.throttled(request, max((w for w in waits if w is not None), default=None))

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        for throttle in getattr(self, "_checked_throttles", []):
            headers = throttle.rate_headers() if hasattr(throttle, "rate_headers") else None
            if headers:
                for name, value in headers.items():
                    response[name] = value
                break
        return response


class PublicApi(RateLimitHeadersMixin, APIView):
    """An endpoint anyone may call (health, invitation accept, token issue)."""

    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]
    throttle_classes: list = []


class PublicCredentialApi(PublicApi):
    """Public, but guessable secrets go in: throttled per client IP."""

    throttle_classes = [AnonAuthThrottle]


class OrgPermission(permissions.BasePermission):
    """Safe methods need `read`, others `write`, unless the view names its `required_permission`."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        access: Access = request.access
        required = getattr(view, "required_permission", None)
        if isinstance(required, dict):
            required = required.get(request.method)
        if required is None:
            required = "read" if request.method in permissions.SAFE_METHODS else "write"
        if not access.allows(required):
            raise PermissionDenied(
                f"This needs the '{required}' permission; your role '{access.role}' has "
                f"{', '.join(access.permissions) or 'none'}.",
                code="permission_denied",
            )
        return True


class AuthenticatedApi(RateLimitHeadersMixin, APIView):
    """Any authenticated caller, no tenant needed (users/me)."""

    permission_classes = [permissions.IsAuthenticated]
    throttle_classes = [ClientRateThrottle]

    def perform_authentication(self, request: Request) -> None:
        self.count_in_advance(request)
        super().perform_authentication(request)

    def count_in_advance(self, request: Request) -> None:
        """One Redis round trip for the auth version (`statux.auth_cache`) and the rate-limit counters.

        The counters are named from the credentials as authentication will find them; when that is
        unknown (a key this process has not seen, a session) each part asks Redis on its own.
        """
        identity = presented_identity(request)
        if identity is None:
            return
        presented = _Presented(request, *identity)
        counters = [
            counter
            for throttle in self.get_throttles()
            if hasattr(throttle, "window") and (counter := throttle.window(presented, self)) is not None
        ]
        auth_cache.prefetch(request, counters)


class _Presented:
    """The request as it will look once authenticated, for naming rate-limit counters early."""

    def __init__(self, request: Request, user: Any, auth: Any) -> None:
        self._wrapped, self.user, self.auth = request, user, auth

    def __getattr__(self, name: str) -> Any:
        return getattr(self._wrapped, name)


class OrgScopedApi(AuthenticatedApi):
    """Authenticated, and the tenant resolved once into `request.organization` and `request.access`."""

    permission_classes = [OrgPermission]
    org_url_kwarg = "org_id"

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        self.format_kwarg = self.get_format_suffix(**kwargs)
        neg = self.perform_content_negotiation(request)
        request.accepted_renderer, request.accepted_media_type = neg
        version, scheme = self.determine_version(request, *args, **kwargs)
        request.version, request.versioning_scheme = version, scheme
        self.perform_authentication(request)
        if request.user and request.user.is_authenticated:
            request.access = resolve_organization(request, kwargs.get(self.org_url_kwarg))
        else:
            request.access = self.anonymous_access(request)
        request.organization = request.access.organization
        self.check_throttles(request)
        self.check_permissions(request)

    def anonymous_access(self, request: Request) -> Access:
        """Who an unauthenticated caller is; nobody, except where a surface documents otherwise."""
        raise NotAuthenticated("Authentication credentials were not provided.")


class AisreApi(OrgScopedApi):
    """AI-SRE surface: also takes `AI_SRE_API_KEYS`; dev mode only with DEBUG on and no key configured."""

    invalid_input_status = 422

    def initialize_request(self, request: Any, *args: Any, **kwargs: Any) -> Request:
        request.accepts_static_keys = True
        workspace = request.GET.get("workspace_id", "").strip()
        if workspace and not request.META.get("HTTP_X_WORKSPACE_ID"):
            request.META["HTTP_X_WORKSPACE_ID"] = workspace  # AI-SRE's query filter picks the tenant too
        return super().initialize_request(request, *args, **kwargs)

    def anonymous_access(self, request: Request) -> Access:
        # Dev mode: only with DEBUG on and no key of any kind configured.
        if settings.DEBUG and not settings.AI_SRE_API_KEYS and not _any_api_key_exists():
            from statux.services import organization_default

            return Access(organization_default(), "operator", 2, ("read", "write", "ingest"))
        return super().anonymous_access(request)


def _any_api_key_exists() -> bool:
    from statux.models import ApiKey

    return ApiKey.objects.exists()


class FirstPageCountPaginator(Paginator):
    """Counts a first page that is not full from its own rows, sparing the COUNT(*) most lists need."""

    def page(self, number: Any) -> Any:
        if str(number) == "1" and "count" not in self.__dict__:
            rows = list(self.object_list[: self.per_page])
            if len(rows) < self.per_page:
                self.__dict__["count"] = len(rows)  # fills the cached_property
                return self._get_page(rows, 1, self)
        return super().page(number)


class StatuxPagination(PageNumberPagination):
    """Undocumented Statux lists: {"count", "next", "previous", "results"}, ?page= and ?pageSize=."""

    django_paginator_class = FirstPageCountPaginator
    page_size = 25
    page_size_query_param = "pageSize"
    max_page_size = 200


def both_slashes(route: str, view: Any, name: str) -> list:
    """Serve `route` with and without its trailing slash, one name for the canonical (no slash) form."""
    route = route.strip("/")
    return [path(route, view, name=name), path(f"{route}/", view)]
