"""The project's URLs plus the RCA console pages, for as long as statux/console/urls.py lacks them."""

from django.urls import URLResolver, include, path

from statux import urls as root
from statux.console import rca
from statux.console import urls as console

RCA_PATHS = [
    path("rcas/", rca.rca_list_view, name="rca-list"),
    path("rcas/create/", rca.rca_create_view, name="rca-create"),
    path("rcas/<uuid:rca_id>/", rca.rca_detail_view, name="rca-detail"),
    path("rcas/<uuid:rca_id>/document/", rca.rca_document_view, name="rca-document"),
    path("rcas/<uuid:rca_id>/generation/", rca.rca_generation_view, name="rca-generation"),
    path("rcas/<uuid:rca_id>/generate/", rca.rca_generate_view, name="rca-generate"),
    path("rcas/<uuid:rca_id>/status/", rca.rca_status_view, name="rca-status"),
    path("rcas/<uuid:rca_id>/edit/", rca.rca_edit_view, name="rca-edit"),
    path("rcas/<uuid:rca_id>/preview/", rca.rca_preview_view, name="rca-preview"),
    path("rcas/<uuid:rca_id>/export/", rca.rca_export_view, name="rca-export"),
    path("rcas/<uuid:rca_id>/delete/", rca.rca_delete_view, name="rca-delete"),
    path("rcas/<uuid:rca_id>/incidents/", rca.rca_link_view, name="rca-link"),
    path("rcas/<uuid:rca_id>/incidents/<uuid:link_id>/unlink/", rca.rca_unlink_view, name="rca-unlink"),
    path("rcas/<uuid:rca_id>/action-items/", rca.rca_action_item_create_view, name="rca-action-item-create"),
    path(
        "rcas/<uuid:rca_id>/action-items/<uuid:item_id>/move/",
        rca.rca_action_item_move_view,
        name="rca-action-item-move",
    ),
    path(
        "rcas/<uuid:rca_id>/action-items/<uuid:item_id>/edit/",
        rca.rca_action_item_edit_view,
        name="rca-action-item-edit",
    ),
    path(
        "rcas/<uuid:rca_id>/action-items/<uuid:item_id>/delete/",
        rca.rca_action_item_delete_view,
        name="rca-action-item-delete",
    ),
    path("incidents/<str:incident_id>/postmortem/", rca.incident_postmortem_view, name="incident-postmortem"),
]
_listed = {pattern.name for pattern in console.urlpatterns}
_console = path(
    "console/",
    include(([*(p for p in RCA_PATHS if p.name not in _listed), *console.urlpatterns], "console")),
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
