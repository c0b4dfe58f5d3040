"""Prometheus Alertmanager's webhook, version 4: one post carries a group of alerts.

The envelope holds receiver, status, alerts, groupLabels, commonLabels, commonAnnotations,
externalURL, version, groupKey and truncatedAlerts; each alert has status, labels, annotations,
startsAt, endsAt ("0001-01-01T00:00:00Z" when unset), generatorURL and fingerprint. Each alert
becomes one normalized alert. Grafana's contact point and Prometheus send the same envelope, so
their normalizers subclass this one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from webhooks.normalizers.base import (
    InvalidPayload,
    NormalizedAlert,
    Normalizer,
    first_text,
    map_severity,
    normalizers,
    number,
    optional_dict,
    require_dict,
    require_list,
    stable_fingerprint,
    string_map,
    timestamp,
)

SERVICE_LABELS = ("service", "service_id", "app", "job")


def first_number(*values: Any) -> float | None:
    for value in values:
        result = number(value)
        if result is not None:
            return result
    return None


@normalizers.register
class AlertmanagerNormalizer(Normalizer):
    name = "alertmanager"

    def normalize(self, payload: Any) -> list[NormalizedAlert]:
        envelope, alerts = self._envelope(payload)
        if not alerts:
            raise InvalidPayload("'alerts' is empty: a notification carries at least one alert.")
        common_labels = string_map(optional_dict(envelope, "commonLabels"))
        common_annotations = string_map(optional_dict(envelope, "commonAnnotations"))
        return [
            self._alert(
                require_dict(raw, f"'alerts[{index}]'"),
                f"alerts[{index}].",
                envelope,
                common_labels,
                common_annotations,
            )
            for index, raw in enumerate(alerts)
        ]

    def _envelope(self, payload: Any) -> tuple[dict, list]:
        envelope = require_dict(payload)
        return envelope, require_list(envelope, "alerts")

    def _alert(
        self, raw: dict, where: str, envelope: dict, common_labels: dict, common_annotations: dict
    ) -> NormalizedAlert:
        # Alertmanager repeats the common labels in every alert; merging them only helps terse senders.
        labels = {**common_labels, **string_map(optional_dict(raw, "labels", where))}
        annotations = {**common_annotations, **string_map(optional_dict(raw, "annotations", where))}
        own_fingerprint = first_text(raw.get("fingerprint"))
        if not own_fingerprint and not labels:
            raise InvalidPayload(f"'{where[:-1]}' has neither a fingerprint nor labels to identify it.")
        ends_at = timestamp(raw.get("endsAt"))
        threshold = first_number(annotations.get("threshold"), labels.get("threshold"))
        actual_value = first_number(
            annotations.get("value"),
            annotations.get("actual_value"),
            labels.get("value"),
            labels.get("actual_value"),
        )
        if actual_value is None:
            actual_value = self._actual_value(raw, where)
        # Alertmanager's fingerprint hashes the whole label set, so ours does too when it is missing.
        fingerprint = stable_fingerprint(self.name, labels)
        if own_fingerprint:
            fingerprint = f"{self.name}:{own_fingerprint}"
        return NormalizedAlert(
            source=self.name,
            fingerprint=fingerprint,
            title=first_text(
                annotations.get("summary"),
                labels.get("alertname"),
                annotations.get("title"),
                envelope.get("title"),
            ),
            description=first_text(annotations.get("description"), annotations.get("message")),
            severity=map_severity(labels.get("severity"), default=""),
            status=self._status(raw, envelope, ends_at),
            service=first_text(*(labels.get(key) for key in SERVICE_LABELS)),
            namespace=first_text(labels.get("namespace")),
            pod=first_text(labels.get("pod")),
            deployment=first_text(labels.get("deployment")),
            labels=labels,
            annotations=annotations,
            starts_at=timestamp(raw.get("startsAt")),
            ends_at=ends_at,
            external_id=own_fingerprint,
            rule_id=first_text(labels.get("rule_id"), self._rule_id(raw)),
            rule_name=first_text(labels.get("alertname")),
            metric=first_text(labels.get("metric"), annotations.get("metric"), labels.get("__name__")),
            threshold=threshold,
            actual_value=actual_value,
            raw=raw,
        )

    def _status(self, raw: dict, envelope: dict, ends_at: datetime | None) -> str:
        word = first_text(raw.get("status"), envelope.get("status")).lower()
        if word:
            return "resolved" if word == "resolved" else "firing"
        # Prometheus' own posts carry no status: a resolved alert is one whose endsAt has passed.
        return "resolved" if ends_at is not None and ends_at <= datetime.now(UTC) else "firing"

    def _actual_value(self, raw: dict, where: str) -> float | None:
        return None

    def _rule_id(self, raw: dict) -> str:
        return ""
