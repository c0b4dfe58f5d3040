"""The root URLs plus the console usage routes, until statux/console/urls.py carries them (Issue 5)."""

from django.urls import include, path

from statux import urls as root
from statux.console import urls as console_urls
from statux.console import usage

console_patterns = [
    *console_urls.urlpatterns,
    path("usage/", usage.usage_view, name="usage"),
    path("usage/budget/", usage.usage_budget_view, name="usage-budget"),
]
urlpatterns = [
    *(pattern for pattern in root.urlpatterns if getattr(pattern, "app_name", None) != "console"),
    path("console/", include((console_patterns, "console"))),
]
handler400, handler403, handler404, handler500 = (
    root.handler400,
    root.handler403,
    root.handler404,
    root.handler500,
)
