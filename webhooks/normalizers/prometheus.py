"""Prometheus alerts: Alertmanager's webhook envelope, or the list Prometheus itself posts.

Prometheus sends its alerts to Alertmanager's POST /api/v2/alerts as a bare JSON list of
{labels, annotations, startsAt, endsAt, generatorURL}, with no status: an alert whose endsAt has
passed is resolved. Routed through Alertmanager they arrive in its version 4 envelope.
"""

from __future__ import annotations

from typing import Any

from webhooks.normalizers.alertmanager import AlertmanagerNormalizer
from webhooks.normalizers.base import normalizers


@normalizers.register
class PrometheusNormalizer(AlertmanagerNormalizer):
    name = "prometheus"

    def _envelope(self, payload: Any) -> tuple[dict, list]:
        if isinstance(payload, list):
            return {}, payload
        return super()._envelope(payload)
