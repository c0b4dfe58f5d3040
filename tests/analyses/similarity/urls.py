"""The project's URLs plus the similar-incidents route, until analyses/urls.py carries it (Issue 5)."""

from analyses.api import similar
from statux.api.base import both_slashes
from statux.urls import urlpatterns as project_urlpatterns

urlpatterns = [
    *both_slashes(
        "incidents/<str:incident_id>/similar",
        similar.AisreIncidentSimilarApi.as_view(),
        "aisre-incident-similar",
    ),
    *project_urlpatterns,
]
