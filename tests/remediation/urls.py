"""The project's URLs plus the guardrail console pages, for as long as statux/console/urls.py lacks them."""

from django.urls import URLResolver, include, path

from statux import urls as root
from statux.console import remediation
from statux.console import urls as console

GUARDRAIL_PATHS = [
    path("remediation/guardrails/", remediation.guardrails_view, name="guardrail-policy"),
    path("remediation/guardrails/edit/", remediation.guardrails_edit_view, name="guardrail-policy-edit"),
]
_listed = {pattern.name for pattern in console.urlpatterns}
_console = path(
    "console/",
    include(([*console.urlpatterns, *(p for p in GUARDRAIL_PATHS if p.name not in _listed)], "console")),
)
urlpatterns = [
    _console if isinstance(pattern, URLResolver) and pattern.app_name == "console" else pattern
    for pattern in root.urlpatterns
]
handler400, handler403, handler404, handler500 = (
    root.handler400,
    root.handler403,
    root.handler404,
    root.handler500,
)
