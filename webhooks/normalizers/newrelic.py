"""New Relic: the workflow webhook's default payload, and the legacy notification channel.

A workflow posts one issue: {"id" (or "issueId"), "issueUrl", "title" (a string, or a list of
them), "priority": "CRITICAL|HIGH|MEDIUM|LOW", "impactedEntities", "totalIncidents", "state":
"CREATED|ACTIVATED|ACKNOWLEDGED|CLOSED", "trigger", "isCorrelated", "createdAt"/"updatedAt" (ms),
"sources", "alertPolicyNames", "alertConditionNames", "workflowName", "accumulations":
{"conditionFamilyId", "policyName", "conditionName", "tag.service", …} (values are usually lists),
"entitiesData": {"entities": [{"id", "name", "type"}]}}. The legacy channel posts one incident:
{"incident_id", "condition_name", "current_state": "open|acknowledged|closed", "details",
"severity": "CRITICAL|WARNING|INFO", "policy_name", "targets": [{"name", "labels"}], "timestamp"
(ms), "incident_url"}.
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

CLOSED_STATES = {"closed", "resolved"}


def one(value: Any) -> str:
    """New Relic sends most accumulations as lists; the first text in them, or the text itself."""
    if isinstance(value, list):
        return first_text(*value)
    return first_text(value)


def joined(values: list) -> str:
    return ", ".join(name for name in (first_text(value) for value in values) if name)


@normalizers.register
class NewRelicNormalizer(Normalizer):
    name = "newrelic"

    def normalize(self, payload: Any) -> list[NormalizedAlert]:
        body = require_dict(payload)
        if "incident_id" in body or "current_state" in body:
            return [self._legacy(body)]
        if any(key in body for key in ("issueUrl", "issueId", "state")):
            return [self._workflow(body)]
        raise InvalidPayload(
            "Neither a New Relic workflow issue ('id' and 'state') nor a legacy incident "
            "('incident_id' and 'current_state')."
        )

    def _workflow(self, body: dict) -> NormalizedAlert:
        issue_id = first_text(body.get("id"), body.get("issueId"))
        if not issue_id:
            raise InvalidPayload("'id' is required: the New Relic issue id.")
        state = first_text(body.get("state")).lower()
        if not state:
            raise InvalidPayload("'state' is required: CREATED, ACTIVATED, ACKNOWLEDGED or CLOSED.")
        accumulations = optional_dict(body, "accumulations")
        entities = optional_dict(body, "entitiesData").get("entities")
        entities = entities if isinstance(entities, list) else []
        entity_names = [entity.get("name") for entity in entities if isinstance(entity, dict)]
        impacted = optional_list(body, "impactedEntities")
        tags = {key[4:]: one(value) for key, value in accumulations.items() if key.startswith("tag.")}
        condition_names = optional_list(body, "alertConditionNames")
        title = body.get("title")
        labels = {
            **{key: value for key, value in tags.items() if value},
            "state": state.upper(),
            "priority": first_text(body.get("priority")),
            "policy": joined(optional_list(body, "alertPolicyNames")) or one(accumulations.get("policyName")),
            "workflow": first_text(body.get("workflowName")),
            "trigger": first_text(body.get("trigger")),
            "sources": joined(optional_list(body, "sources")),
            "impacted_entities": joined(impacted),
        }
        url = first_text(body.get("issueUrl"))
        resolved = state in CLOSED_STATES
        return NormalizedAlert(
            source=self.name,
            fingerprint=f"{self.name}:{issue_id}",
            title=one(title) or first_text(*condition_names),
            description=one(accumulations.get("conditionDescription")),
            severity=map_severity(first_text(body.get("priority")), default=""),
            status="resolved" if resolved else "firing",
            service=first_text(
                tags.get("service"), tags.get("serviceName"), tags.get("appName"), *entity_names, *impacted
            ),
            namespace=first_text(
                tags.get("namespaceName"), tags.get("namespace"), tags.get("k8s.namespace.name")
            ),
            pod=first_text(tags.get("podName"), tags.get("pod"), tags.get("k8s.pod.name")),
            deployment=first_text(tags.get("deploymentName"), tags.get("k8s.deployment.name")),
            labels=string_map({key: value for key, value in labels.items() if value}),
            annotations={"issueUrl": url} if url else {},
            starts_at=timestamp(body.get("createdAt")),
            ends_at=timestamp(body.get("updatedAt")) if resolved else None,
            external_id=issue_id,
            rule_id=one(accumulations.get("conditionFamilyId")),
            rule_name=first_text(*condition_names) or one(accumulations.get("conditionName")),
            threshold=number(one(accumulations.get("threshold"))),
            actual_value=number(one(accumulations.get("value"))),
            raw=body,
        )

    def _legacy(self, body: dict) -> NormalizedAlert:
        incident_id = first_text(body.get("incident_id"))
        if not incident_id:
            raise InvalidPayload("'incident_id' is required: the New Relic incident id.")
        targets = [target for target in optional_list(body, "targets") if isinstance(target, dict)]
        target = targets[0] if targets else {}
        labels = string_map(optional_dict(target, "labels", "targets[0]."))
        state = first_text(body.get("current_state")).lower()
        extra = {
            "state": state,
            "policy": first_text(body.get("policy_name")),
            "severity": first_text(body.get("severity")),
        }
        labels.update({key: value for key, value in extra.items() if value and key not in labels})
        url = first_text(body.get("incident_url"))
        resolved = state in CLOSED_STATES
        condition = first_text(body.get("condition_name"))
        return NormalizedAlert(
            source=self.name,
            fingerprint=f"{self.name}:{incident_id}",
            title=first_text(condition, body.get("details")),
            description=first_text(body.get("details")),
            severity=map_severity(first_text(body.get("severity")), default=""),
            status="resolved" if resolved else "firing",
            service=first_text(target.get("name")),
            namespace=first_text(labels.get("namespace")),
            pod=first_text(labels.get("pod")),
            deployment=first_text(labels.get("deployment")),
            labels=labels,
            annotations={"incident_url": url} if url else {},
            starts_at=None if resolved else timestamp(body.get("timestamp")),
            ends_at=timestamp(body.get("timestamp")) if resolved else None,
            external_id=incident_id,
            rule_id=first_text(body.get("condition_id")),
            rule_name=condition,
            raw=body,
        )
