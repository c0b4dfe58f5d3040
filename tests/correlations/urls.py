"""The project's URLs plus this issue's, until statux/urls.py and statux/console/urls.py include them.

Delete this module and the `urls` marks in tests/correlations once they do (Issue 6).
"""

from django.urls import include, path

from statux import urls as root
from statux.console import correlations
from statux.console import urls as console_urls

console_patterns = [
    *console_urls.urlpatterns,
    path("anomalies/", correlations.anomaly_list_view, name="anomaly-list"),
    path("anomalies/graph/", correlations.correlation_graph_view, name="correlation-graph"),
]

urlpatterns = [
    path("console/", include((console_patterns, "console"))),
    path("", include("analyses.urls_aiops")),
    *(pattern for pattern in root.urlpatterns if str(pattern.pattern) != "console/"),
]

handler400, handler403 = root.handler400, root.handler403
handler404, handler500 = root.handler404, root.handler500
