"""One error shape, rendered in one place: {"error", "code"[, "fields", "retry_after"]}."""

from __future__ import annotations

import logging
import math
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, JsonResponse
from django.views.defaults import page_not_found, server_error
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)


class StatuxError(Exception):
    status, code = 400, "bad_request"
    retry_after: int | None = None  # seconds; sent as "retry_after" and Retry-After, as on a throttled 429

    def __init__(self, message: str, *, fields: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.message, self.fields = message, fields


class NotFound(StatuxError):
    status, code = 404, "not_found"


class Conflict(StatuxError):
    status, code = 409, "conflict"


class Forbidden(StatuxError):
    status, code = 403, "permission_denied"


class InvalidTransition(StatuxError):
    status, code = 400, "invalid_transition"


def error_body(message: str, code: str, *, fields: Any = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"error": message, "code": code}
    if fields:
        body["fields"] = fields
    body.update(extra)
    return body


def _first_code(codes: Any) -> str:
    while isinstance(codes, (list, dict)):
        codes = next(iter(codes.values() if isinstance(codes, dict) else codes), "error")
    return str(codes or "error")


def api_exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, DjangoValidationError):
        exc = drf_exceptions.ValidationError(as_serializer_error(exc))
    if isinstance(exc, StatuxError):
        if exc.retry_after is None:
            return Response(error_body(exc.message, exc.code, fields=exc.fields), status=exc.status)
        body = error_body(exc.message, exc.code, fields=exc.fields, retry_after=exc.retry_after)
        return Response(body, status=exc.status, headers={"Retry-After": str(exc.retry_after)})
    response = drf_exception_handler(exc, context)  # maps Http404, PermissionDenied, APIException
    if response is None:
        return None  # a real bug: logged by Django, and handler500 answers in the same shape
    if isinstance(exc, drf_exceptions.ValidationError):
        fields = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        view = context.get("view")
        response.status_code = getattr(view, "invalid_input_status", 400)
        response.data = error_body("Invalid input.", "invalid", fields=fields)
    elif isinstance(exc, drf_exceptions.Throttled):
        wait = max(1, math.ceil(exc.wait or 1))
        response.data = error_body(
            f"Rate limit exceeded; retry in {wait} seconds.", "throttled", retry_after=wait
        )
        response["Retry-After"] = str(wait)
    elif isinstance(exc, Http404):
        response.data = error_body("Not found.", "not_found")
    else:
        detail = getattr(exc, "detail", str(exc))
        code = _first_code(getattr(exc, "get_codes", lambda: "error")())
        if isinstance(detail, dict):  # simplejwt's {"detail", "code"[, "messages"]}
            code = str(detail.get("code") or code)
            detail = detail.get("detail") or next(iter(detail.values()), "")
        response.data = error_body(str(detail), code)
    return response


def _wants_html(request: HttpRequest) -> bool:
    return request.path.startswith(("/console", "/admin"))


def handler404(request: HttpRequest, exception: Exception | None = None):
    if _wants_html(request):
        return page_not_found(request, exception)
    return JsonResponse(error_body(f"No endpoint at {request.path}.", "not_found"), status=404)


def handler500(request: HttpRequest):
    if _wants_html(request):
        return server_error(request)
    return JsonResponse(error_body("Internal server error.", "server_error"), status=500)


def handler400(request: HttpRequest, exception: Exception | None = None):
    return JsonResponse(error_body("Bad request.", "bad_request"), status=400)


def handler403(request: HttpRequest, exception: Exception | None = None):
    return JsonResponse(error_body("Forbidden.", "permission_denied"), status=403)
