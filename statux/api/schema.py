"""OpenAPI: our authenticators described for drf-spectacular, and one path per endpoint in the schema."""

from __future__ import annotations

import re

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "statux.authentication.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "X-API-Key",
            "description": "An `isage_…` key (also accepted as `?api_key=` or `Authorization: Bearer`).",
        }


class JwtScheme(OpenApiAuthenticationExtension):
    target_class = "statux.authentication.OrgJWTAuthentication"
    name = "jwtAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}


class SessionScheme(OpenApiAuthenticationExtension):
    target_class = "statux.authentication.CsrfSessionAuthentication"
    name = "cookieAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}


def drop_trailing_slash_twins(endpoints: list, **kwargs) -> list:
    """Every path is served with and without its slash; the schema lists each endpoint once."""
    paths = {path for path, *_ in endpoints}
    return [
        endpoint
        for endpoint in endpoints
        if not (endpoint[0].endswith("/") and endpoint[0].rstrip("/") in paths)
    ]


class StatuxAutoSchema(AutoSchema):
    """operationId from the view class (one per path): AisreIncidentListApi.get -> aisre_incident_list_get."""

    def get_operation_id(self) -> str:
        name = re.sub(r"Api$", "", self.view.__class__.__name__)
        return f"{re.sub(r'(?<!^)(?=[A-Z])', '_', name).lower()}_{self.method.lower()}"
