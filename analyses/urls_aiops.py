"""AIops (spec 001) anomaly and correlation paths; statux/urls.py includes them with the app's others."""

from analyses.api import anomalies, correlations
from statux.api.base import both_slashes

urlpatterns = [
    *both_slashes("api/v1/anomalies", anomalies.AiopsAnomalyListApi.as_view(), "aiops-anomaly-list"),
    *both_slashes(
        "api/v1/rca/correlations", correlations.AiopsRcaCorrelationsApi.as_view(), "aiops-rca-correlations"
    ),
]
