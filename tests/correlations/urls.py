"""The project's URLs plus this issue's, until statux/urls.py includes analyses.urls_aiops.

Delete this module and the `urls` marks in tests/correlations once it does (Issue 6).
"""

from django.urls import include, path

from statux import urls as root

urlpatterns = [path("", include("analyses.urls_aiops")), *root.urlpatterns]

handler400, handler403 = root.handler400, root.handler403
handler404, handler500 = root.handler404, root.handler500
