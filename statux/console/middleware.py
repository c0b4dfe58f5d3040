"""Console pages resolve the tenant once per request, through the same helper as the API."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from statux.errors import StatuxError
from statux.tenancy import resolve_organization


class ConsoleOrganizationMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.organization = None
        request.access = None
        if request.path.startswith("/console/") and request.user.is_authenticated:
            try:
                request.access = resolve_organization(request)
            except StatuxError:  # no membership (yet): pages show an empty state instead of data
                request.access = None
            request.organization = request.access.organization if request.access else None
        return self.get_response(request)
