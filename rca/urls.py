"""RCA URL patterns: Statux (000) documents and the AI-SRE (002) postmortem; statux/urls.py includes them."""

from rca.api import aisre, statux
from statux.api.base import both_slashes

RCAS = "api/v1/organizations/<str:org_id>/rcas"
RCA = f"{RCAS}/<str:rca_id>"

urlpatterns = [
    *both_slashes(RCAS, statux.StatuxRcaListApi.as_view(), "statux-rca-list"),
    # Before RCA: "stats" and "search-incidents" would otherwise be read as an rcaId.
    *both_slashes(f"{RCAS}/stats", statux.StatuxRcaStatsApi.as_view(), "statux-rca-stats"),
    *both_slashes(
        f"{RCAS}/search-incidents", statux.StatuxRcaIncidentSearchApi.as_view(), "statux-rca-search-incidents"
    ),
    *both_slashes(RCA, statux.StatuxRcaDetailApi.as_view(), "statux-rca-detail"),
    *both_slashes(f"{RCA}/revisions", statux.StatuxRcaRevisionListApi.as_view(), "statux-rca-revisions"),
    *both_slashes(f"{RCA}/incidents", statux.StatuxRcaIncidentLinkListApi.as_view(), "statux-rca-incidents"),
    *both_slashes(
        f"{RCA}/incidents/<str:link_id>",
        statux.StatuxRcaIncidentLinkDetailApi.as_view(),
        "statux-rca-incident-detail",
    ),
    *both_slashes(
        f"{RCA}/action-items", statux.StatuxRcaActionItemListApi.as_view(), "statux-rca-action-items"
    ),
    *both_slashes(
        f"{RCA}/action-items/<str:item_id>",
        statux.StatuxRcaActionItemDetailApi.as_view(),
        "statux-rca-action-item-detail",
    ),
    *both_slashes(f"{RCA}/generate", statux.StatuxRcaGenerateApi.as_view(), "statux-rca-generate"),
    *both_slashes(f"{RCA}/export", statux.StatuxRcaExportApi.as_view(), "statux-rca-export"),
    *both_slashes(
        "incidents/<str:incident_id>/postmortem",
        aisre.AisreIncidentPostmortemApi.as_view(),
        "aisre-incident-postmortem",
    ),
]
