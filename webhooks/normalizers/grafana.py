"""Grafana's webhook contact point (unified alerting), and the legacy dashboard-alert webhook.

Unified alerting posts Alertmanager's envelope plus orgId, state, title and message; each alert
adds values ({"B": 44.2, "C": 1}: the reduced query, then the condition), valueString,
dashboardURL, panelURL, silenceURL and imageURL. The first numeric value is the actual value.
Legacy alerting (before Grafana 11) posted one rule: {ruleId, ruleName, ruleUrl, state
"alerting"|"ok"|"no_data", title, message, tags, evalMatches: [{value, metric, tags}]}.
"""

from __future__ import annotations

import re
from typing import Any

from webhooks.normalizers.alertmanager import AlertmanagerNormalizer, first_number
from webhooks.normalizers.base import (
    InvalidPayload,
    NormalizedAlert,
    first_text,
    map_severity,
    normalizers,
    number,
    optional_dict,
    optional_list,
    stable_fingerprint,
    string_map,
)

# valueString: "[ var='B' labels={instance=api-1} value=93.5 ], [ var='C' labels={} value=1 ]"
VALUE_IN_STRING = re.compile(r"value=(-?[0-9][0-9.]*(?:[eE][-+]?[0-9]+)?)")
# generatorURL: .../alerting/grafana/<rule uid>/view (Grafana 9+) or .../alerting/<rule uid>/edit
RULE_UID_IN_URL = re.compile(r"/alerting/(?:grafana/)?([A-Za-z0-9_-]+)/(?:view|edit)")
# A legacy title carries the state: "[Alerting] High 5xx rate".
STATE_PREFIX = re.compile(r"^\s*\[[A-Za-z ]+\]\s*")


@normalizers.register
class GrafanaNormalizer(AlertmanagerNormalizer):
    name = "grafana"

    def normalize(self, payload: Any) -> list[NormalizedAlert]:
        if (
            isinstance(payload, dict)
            and "alerts" not in payload
            and ("ruleId" in payload or "evalMatches" in payload)
        ):
            return [self._legacy(payload)]
        return super().normalize(payload)

    def _actual_value(self, raw: dict, where: str) -> float | None:
        value = first_number(*optional_dict(raw, "values", where).values())
        if value is None:
            match = VALUE_IN_STRING.search(first_text(raw.get("valueString")))
            value = number(match.group(1)) if match else None
        return value

    def _rule_id(self, raw: dict) -> str:
        match = RULE_UID_IN_URL.search(first_text(raw.get("generatorURL")))
        return match.group(1) if match else ""

    def _legacy(self, payload: dict) -> NormalizedAlert:
        rule_id = first_text(payload.get("ruleId"))
        title = first_text(payload.get("ruleName"), STATE_PREFIX.sub("", first_text(payload.get("title"))))
        if not rule_id and not title:
            raise InvalidPayload("A legacy Grafana alert needs 'ruleId' or 'ruleName'.")
        labels = string_map(optional_dict(payload, "tags"))
        matches = [match for match in optional_list(payload, "evalMatches") if isinstance(match, dict)]
        first_match = matches[0] if matches else {}
        identity = {"ruleId": rule_id, "ruleName": title, "orgId": first_text(payload.get("orgId"))}
        rule_url = first_text(payload.get("ruleUrl"))
        return NormalizedAlert(
            source=self.name,
            fingerprint=stable_fingerprint(self.name, identity),
            title=title,
            description=first_text(payload.get("message")),
            severity=map_severity(labels.get("severity"), default=""),
            status="resolved" if first_text(payload.get("state")).lower() == "ok" else "firing",
            service=first_text(labels.get("service"), labels.get("app")),
            namespace=first_text(labels.get("namespace")),
            pod=first_text(labels.get("pod")),
            deployment=first_text(labels.get("deployment")),
            labels=labels,
            annotations={"ruleUrl": rule_url} if rule_url else {},
            external_id=rule_id,
            rule_id=rule_id,
            rule_name=title,
            metric=first_text(first_match.get("metric")),
            threshold=number(labels.get("threshold")),
            actual_value=number(first_match.get("value")),
            raw=payload,
        )
