"""Datadog's Webhooks integration with its default payload template, one post per monitor notification.

{"id": "$ID", "title": "$EVENT_TITLE", "body": "$EVENT_MSG", "alert_type": "$ALERT_TYPE"
(error|warning|info|success), "alert_transition": "$ALERT_TRANSITION" (Triggered, Re-Triggered,
Warn, Recovered, No Data, …), "priority": "$PRIORITY" (normal|low), "alert_priority" (P1..P5),
"date": "$DATE" (ms, often as a string), "last_updated", "event_type", "tags": "$TAGS"
("key:value,key:value"), "aggregate": "$AGGREG_KEY", "alert_id": "$ALERT_ID", "alert_metric",
"alert_query", "alert_status", "alert_scope", "alert_cycle_key", "hostname", "org": {"id", "name"},
"snapshot", "link"}. Datadog sends every field as text and leaves unknown ones empty.
"""

from __future__ import annotations

import re
from typing import Any

from webhooks.normalizers.base import (
    InvalidPayload,
    NormalizedAlert,
    Normalizer,
    first_text,
    identity_of,
    map_severity,
    normalizers,
    number,
    require_dict,
    stable_fingerprint,
    string_map,
    timestamp,
)

# "[P1] [Triggered on {host:web-1}] High CPU" -> "High CPU": the same title whatever the transition.
BRACKETED_PREFIX = re.compile(r"^(?:\s*\[[^\]]*\])+\s*")
# Datadog wraps markdown messages in %%% fences.
MARKDOWN_FENCE = re.compile(r"^\s*%%%\s*|\s*%%%\s*$")
TYPE_SEVERITY = {"error": "high", "warning": "warning", "info": "info"}


@normalizers.register
class DatadogNormalizer(Normalizer):
    name = "datadog"

    def normalize(self, payload: Any) -> list[NormalizedAlert]:
        body = require_dict(payload)
        raw_title = first_text(body.get("title"), body.get("event_title"), body.get("alert_title"))
        alert_id = first_text(body.get("alert_id"))
        aggregate = first_text(body.get("aggregate"), body.get("aggreg_key"))
        if not raw_title and not alert_id and not aggregate:
            raise InvalidPayload(
                "Neither 'title' nor 'alert_id' nor 'aggregate' is present: not a monitor alert."
            )
        if body.get("tags") is not None and not isinstance(body["tags"], (str, list)):
            raise InvalidPayload(
                "'tags' must be Datadog's comma-separated \"key:value\" string or a list of them."
            )
        scope = first_text(body.get("alert_scope")).replace(" ", "")
        labels = {**string_map(scope), **string_map(body.get("tags"))}
        hostname = first_text(body.get("hostname"), body.get("host_name"))
        if hostname:
            labels.setdefault("host", hostname)
        title = BRACKETED_PREFIX.sub("", raw_title) or raw_title
        transition = first_text(body.get("alert_transition"))
        alert_type = first_text(body.get("alert_type")).lower()
        resolved = "recovered" in transition.lower() or alert_type == "success"
        level = first_text(body.get("alert_priority"), labels.get("priority"), body.get("priority")).upper()
        fingerprint = f"{self.name}:{aggregate}"
        if not aggregate and alert_id:
            fingerprint = f"{self.name}:{alert_id}:{scope}" if scope else f"{self.name}:{alert_id}"
        elif not aggregate:
            fingerprint = stable_fingerprint(self.name, identity_of(labels, title=title))
        annotations = {
            key: first_text(body.get(key)) for key in ("link", "snapshot", "alert_query", "alert_status")
        }
        return [
            NormalizedAlert(
                source=self.name,
                fingerprint=fingerprint,
                title=title,
                description=MARKDOWN_FENCE.sub("", first_text(body.get("body"), body.get("text_only_msg"))),
                severity=self._severity(alert_type, level, raw_title),
                status="resolved" if resolved else "firing",
                service=first_text(labels.get("service")),
                namespace=first_text(labels.get("kube_namespace"), labels.get("namespace")),
                pod=first_text(labels.get("pod_name"), labels.get("pod")),
                deployment=first_text(labels.get("kube_deployment"), labels.get("deployment")),
                labels=labels,
                annotations={key: value for key, value in annotations.items() if value},
                starts_at=None if resolved else timestamp(body.get("date")),
                ends_at=timestamp(body.get("last_updated") or body.get("date")) if resolved else None,
                external_id=first_text(alert_id, body.get("id")),
                rule_id=alert_id,
                rule_name=title,
                metric=first_text(body.get("alert_metric")),
                threshold=number(body.get("threshold")),
                actual_value=number(body.get("value")),
                raw=body,
            )
        ]

    def _severity(self, alert_type: str, level: str, raw_title: str) -> str:
        if alert_type == "error":
            return "critical" if level == "P1" or "[P1]" in raw_title.upper() else "high"
        if alert_type in TYPE_SEVERITY:
            return TYPE_SEVERITY[alert_type]
        # A recovery (success) or an unknown type: the monitor's priority, else judged from the values.
        return map_severity(level, default="") if level.startswith("P") else ""
