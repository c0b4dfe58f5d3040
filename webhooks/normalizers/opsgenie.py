"""Opsgenie's outgoing webhook integration: one post per action on one alert.

{"action": "Create" | "Close" | "Acknowledge" | "AddNote" | "Escalate" | "Delete" | …, "alert":
{"alertId", "message", "tinyId", "alias", "entity", "source", "description", "tags": [...],
"details": {...}, "priority": "P1".."P5", "teams", "createdAt" (ms), "updatedAt" (ns)},
"source": {"name", "type"}, "integrationName"}. Close and Delete resolve the alert: a deleted
alert will never be closed. Tags like "service:checkout" and the details map become labels.
"""

from __future__ import annotations

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
    optional_list,
    require_dict,
    string_map,
    timestamp,
)

RESOLVING_ACTIONS = {"close", "delete"}


@normalizers.register
class OpsgenieNormalizer(Normalizer):
    name = "opsgenie"

    def normalize(self, payload: Any) -> list[NormalizedAlert]:
        body = require_dict(payload)
        action = first_text(body.get("action"))
        if not action:
            raise InvalidPayload("'action' must name what happened to the alert, e.g. Create or Close.")
        if body.get("alert") is None:
            raise InvalidPayload("'alert' is missing: Opsgenie sends the alert it acted on there.")
        alert = require_dict(body["alert"], "'alert'")
        alert_id = first_text(alert.get("alertId"))
        alias = first_text(alert.get("alias"))
        if not alert_id and not alias:
            raise InvalidPayload("'alert.alertId' is required (or 'alert.alias'): it identifies the alert.")
        tags = [tag for tag in optional_list(alert, "tags", "alert.") if isinstance(tag, str) and tag.strip()]
        details = string_map(optional_dict(alert, "details", "alert."))
        labels = {**string_map(tags), **details}
        priority = alert.get("priority")
        if isinstance(priority, int) and not isinstance(priority, bool):
            priority = f"P{priority}"  # older payloads send the bare number
        team_names = (
            first_text(team.get("name")) if isinstance(team, dict) else first_text(team)
            for team in optional_list(alert, "teams", "alert.")
        )
        teams = ", ".join(name for name in team_names if name)
        extra = {
            "priority": first_text(priority),
            "entity": first_text(alert.get("entity")),
            "source": first_text(alert.get("source")),
            "tinyId": first_text(alert.get("tinyId")),
            "teams": teams,
        }
        labels.update({key: value for key, value in extra.items() if value and key not in labels})
        resolved = action.lower() in RESOLVING_ACTIONS
        # Escalate and some other actions send the bare alertId, without a message.
        fallback_name = f"#{extra['tinyId']}" if extra["tinyId"] else alias or alert_id
        return [
            NormalizedAlert(
                source=self.name,
                fingerprint=f"{self.name}:{alias or alert_id}",
                title=first_text(alert.get("message"), f"Opsgenie alert {fallback_name}"),
                description=first_text(alert.get("description")),
                severity=map_severity(first_text(priority), default=""),
                status="resolved" if resolved else "firing",
                service=first_text(labels.get("service")),
                namespace=first_text(labels.get("namespace")),
                pod=first_text(labels.get("pod")),
                deployment=first_text(labels.get("deployment")),
                labels=labels,
                starts_at=timestamp(alert.get("createdAt")),
                ends_at=timestamp(alert.get("updatedAt")) if resolved else None,
                external_id=alert_id or alias,
                metric=first_text(labels.get("metric")),
                threshold=number(labels.get("threshold")),
                actual_value=number(labels.get("actual_value") or labels.get("value")),
                raw=body,
            )
        ]
