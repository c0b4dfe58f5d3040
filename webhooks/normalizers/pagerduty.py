"""PagerDuty's v3 webhook subscriptions, and the older v2 webhook extensions.

v3 posts one event: {"event": {"id", "event_type": "incident.triggered" | ".acknowledged" |
".resolved" | ".reassigned" | ".escalated" | ".priority_updated" | ".reopened" | …,
"resource_type", "occurred_at", "agent", "data": {incident: "id", "type": "incident", "title",
"status", "urgency", "priority": {"summary": "P1"} | null, "service": {"summary"}, "assignees",
"escalation_policy", "teams", "incident_key", "number", "created_at", "html_url"}}}. v2 posts
{"messages": [{"event": "incident.trigger" | ".resolve" | …, "incident": {...}}]}.

An event about something other than the incident itself (a note from incident.annotated, a
service.* or pagey.ping event) changes no alert and yields nothing.
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
    optional_dict,
    optional_list,
    require_dict,
    require_list,
    string_map,
    timestamp,
)

URGENCY_SEVERITY = {"high": "high", "low": "warning"}


def summaries(references: list, key: str = "summary") -> str:
    """ "Ann, Bob" from [{"summary": "Ann"}, {"summary": "Bob"}]; entries of another shape are skipped."""
    return ", ".join(
        first_text(item.get(key)) for item in references if isinstance(item, dict) and item.get(key)
    )


@normalizers.register
class PagerDutyNormalizer(Normalizer):
    name = "pagerduty"

    def normalize(self, payload: Any) -> list[NormalizedAlert]:
        body = require_dict(payload)
        if "event" not in body and "messages" in body:
            return self._v2(body)
        event = body.get("event")
        if event is None:
            raise InvalidPayload("'event' is missing: a PagerDuty v3 webhook is {\"event\": {...}}.")
        event = require_dict(event, "'event'")
        event_type = first_text(event.get("event_type"))
        if not event_type:
            raise InvalidPayload("'event.event_type' must name the event, e.g. incident.triggered.")
        data = optional_dict(event, "data", "event.")
        if not event_type.startswith("incident.") or first_text(data.get("type"), "incident") != "incident":
            return []
        if not data:
            raise InvalidPayload(f"'event.data' is missing: {event_type} carries the incident there.")
        return [
            self._incident(
                data,
                "event.data.",
                resolved=event_type == "incident.resolved",
                occurred_at=event.get("occurred_at"),
                event_type=event_type,
            )
        ]

    def _v2(self, body: dict) -> list[NormalizedAlert]:
        messages = require_list(body, "messages")
        if not messages:
            raise InvalidPayload("'messages' is an empty list: there is no event in it.")
        alerts = []
        for index, message in enumerate(messages):
            message = require_dict(message, f"'messages[{index}]'")
            event_type = first_text(message.get("event"))
            if not event_type.startswith("incident."):
                continue
            incident = optional_dict(message, "incident", f"messages[{index}].")
            if not incident:
                raise InvalidPayload(f"'messages[{index}].incident' is missing: {event_type} carries it.")
            alerts.append(
                self._incident(
                    incident,
                    f"messages[{index}].incident.",
                    resolved=event_type == "incident.resolve",
                    occurred_at=message.get("created_on"),
                    event_type=event_type,
                )
            )
        return alerts

    def _incident(
        self, data: dict, where: str, *, resolved: bool, occurred_at: Any, event_type: str
    ) -> NormalizedAlert:
        incident_id = first_text(data.get("id"))
        if not incident_id:
            raise InvalidPayload(f"'{where}id' is required: the PagerDuty incident id, e.g. PGR0VU2.")
        # A note or a priority change on a resolved incident must not reopen it here.
        resolved = resolved or first_text(data.get("status")).lower() == "resolved"
        priority = first_text(optional_dict(data, "priority", where).get("summary"))
        urgency = first_text(data.get("urgency")).lower()
        service = optional_dict(data, "service", where)
        assignees = summaries(optional_list(data, "assignees", where))
        if not assignees:  # v2 lists {"assignee": {...}} under "assignments"
            assignments = optional_list(data, "assignments", where)
            assignees = summaries([item.get("assignee") for item in assignments if isinstance(item, dict)])
        labels = {
            "event_type": event_type,
            "urgency": urgency,
            "priority": priority,
            "incident_key": first_text(data.get("incident_key")),
            "incident_number": first_text(data.get("number"), data.get("incident_number")),
            "escalation_policy": first_text(optional_dict(data, "escalation_policy", where).get("summary")),
            "teams": summaries(optional_list(data, "teams", where)),
            "assignees": assignees,
        }
        url = first_text(data.get("html_url"))
        return NormalizedAlert(
            source=self.name,
            fingerprint=f"{self.name}:{incident_id}",
            title=first_text(data.get("title"), data.get("summary")),
            description=first_text(data.get("description")),
            severity=map_severity(priority, default="") or URGENCY_SEVERITY.get(urgency, ""),
            status="resolved" if resolved else "firing",
            service=first_text(service.get("summary"), service.get("name")),
            labels=string_map({key: value for key, value in labels.items() if value}),
            annotations={"html_url": url} if url else {},
            starts_at=timestamp(data.get("created_at")) or timestamp(None if resolved else occurred_at),
            ends_at=timestamp(occurred_at) if resolved else None,
            external_id=incident_id,
            raw=data,
        )
