"""The generic webhook: our own documented alert shape, for senders without a normalizer of their own.

One alert is {"title", "description", "severity", "source", "namespace", "pod", "deployment",
"service"} plus optional "fingerprint", "status" (firing|resolved), "labels", "annotations",
"starts_at"/"ends_at", "external_id", "rule_id", "rule_name", "metric", "threshold" and
"actual_value" (camelCase startsAt, externalId, ruleId, ruleName and actualValue work too). A post
is one such object, a list of them, or {"alerts": [...]}. Only "title" is required; a severity we
don't know is judged from threshold and actual_value instead.
"""

from __future__ import annotations

from typing import Any

from webhooks.normalizers.base import (
    InvalidPayload,
    NormalizedAlert,
    Normalizer,
    each_object,
    first_text,
    identity_of,
    map_severity,
    normalizers,
    number,
    optional_dict,
    stable_fingerprint,
    string_map,
    timestamp,
)

RESOLVED_WORDS = {"resolved", "ok", "closed", "recovered", "inactive"}


def first_present(raw: dict, *keys: str) -> Any:
    for key in keys:
        if raw.get(key) is not None:
            return raw[key]
    return None


@normalizers.register
class WebhookNormalizer(Normalizer):
    name = "webhook"

    def normalize(self, payload: Any) -> list[NormalizedAlert]:
        return [self._alert(raw, where) for raw, where in each_object(payload, "alerts", "alert")]

    def _alert(self, raw: dict, where: str) -> NormalizedAlert:
        labels = string_map(optional_dict(raw, "labels", where))
        annotations = string_map(optional_dict(raw, "annotations", where))
        title = first_text(raw.get("title"), labels.get("alertname"))
        if not title:
            raise InvalidPayload(f"'{where}title' is required: a non-empty string that names the alert.")
        upstream = first_text(raw.get("source"))
        if upstream:
            labels.setdefault("source", upstream)
        fields = {
            key: first_text(raw.get(key), labels.get(key))
            for key in ("service", "namespace", "pod", "deployment")
        }
        own_fingerprint = first_text(raw.get("fingerprint"))
        fingerprint = f"{self.name}:{own_fingerprint}"
        if not own_fingerprint:
            fingerprint = stable_fingerprint(
                self.name, identity_of(labels, title=title, source=upstream, **fields)
            )
        return NormalizedAlert(
            source=self.name,
            fingerprint=fingerprint,
            title=title,
            description=first_text(raw.get("description"), annotations.get("description")),
            severity=map_severity(first_present(raw, "severity") or labels.get("severity"), default=""),
            status="resolved" if first_text(raw.get("status")).lower() in RESOLVED_WORDS else "firing",
            **fields,
            labels=labels,
            annotations=annotations,
            starts_at=timestamp(first_present(raw, "starts_at", "startsAt")),
            ends_at=timestamp(first_present(raw, "ends_at", "endsAt")),
            external_id=first_text(raw.get("external_id"), raw.get("externalId")),
            rule_id=first_text(raw.get("rule_id"), raw.get("ruleId")),
            rule_name=first_text(raw.get("rule_name"), raw.get("ruleName")),
            metric=first_text(raw.get("metric")),
            threshold=number(raw.get("threshold")),
            actual_value=number(first_present(raw, "actual_value", "actualValue", "value")),
            raw=raw,
        )
