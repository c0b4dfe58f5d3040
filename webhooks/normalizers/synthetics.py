"""Synthetic check results: an uptime or API probe run from one location.

One result is {"check_id", "check_name", "status": "failed" | "degraded" | "passed", "location",
"url", "response_time_ms", "threshold_ms", "error", "timestamp" (ISO 8601 or Unix s/ms),
"service"} plus optional "severity", "namespace", "pod", "deployment" and "labels". A post is one
result, a list of them, or {"results": [...]}. Only check_id (or check_name) and status are
required. A check is one alert per location, so a failure from one region is not resolved by a
pass from another; a pass resolves it. A failed check is high; a degraded one is judged from
response_time_ms against threshold_ms.
"""

from __future__ import annotations

from typing import Any

from webhooks.normalizers.base import (
    InvalidPayload,
    NormalizedAlert,
    Normalizer,
    each_object,
    first_text,
    map_severity,
    normalizers,
    number,
    optional_dict,
    string_map,
    timestamp,
)

STATUS_WORDS = {
    "failed": "failed",
    "failure": "failed",
    "fail": "failed",
    "error": "failed",
    "down": "failed",
    "degraded": "degraded",
    "slow": "degraded",
    "passed": "passed",
    "pass": "passed",
    "success": "passed",
    "ok": "passed",
    "up": "passed",
}
STATUS_SEVERITY = {"failed": "high", "degraded": "", "passed": "info"}
TITLE_VERB = {"failed": "failed", "degraded": "is degraded", "passed": "passed"}


@normalizers.register
class SyntheticsNormalizer(Normalizer):
    name = "synthetics"

    def normalize(self, payload: Any) -> list[NormalizedAlert]:
        return [self._result(raw, where) for raw, where in each_object(payload, "results", "check result")]

    def _result(self, raw: dict, where: str) -> NormalizedAlert:
        check_id = first_text(raw.get("check_id"), raw.get("check_name"))
        if not check_id:
            raise InvalidPayload(f"'{where}check_id' is required: it names the synthetic check.")
        word = first_text(raw.get("status")).lower()
        if word not in STATUS_WORDS:
            raise InvalidPayload(
                f"'{where}status' must be failed, degraded or passed, not {word[:40] or 'missing'}."
            )
        status = STATUS_WORDS[word]
        name = first_text(raw.get("check_name"), check_id)
        location = first_text(raw.get("location"))
        url = first_text(raw.get("url"))
        response_time = number(raw.get("response_time_ms"))
        threshold = number(raw.get("threshold_ms"))
        labels = string_map(optional_dict(raw, "labels", where))
        extra = {"check_id": check_id, "check_name": name, "location": location, "url": url, "status": status}
        labels.update({key: value for key, value in extra.items() if value})
        description = first_text(raw.get("error"))
        if not description and response_time is not None:
            description = f"{url or name} answered in {response_time:g} ms"
            if threshold is not None:
                description += f" (threshold {threshold:g} ms)"
        checked_at = timestamp(raw.get("timestamp"))
        return NormalizedAlert(
            source=self.name,
            fingerprint=f"{self.name}:{check_id}:{location}" if location else f"{self.name}:{check_id}",
            title=f"{name} {TITLE_VERB[status]}" + (f" from {location}" if location else ""),
            description=description,
            severity=map_severity(raw.get("severity"), default="") or STATUS_SEVERITY[status],
            status="resolved" if status == "passed" else "firing",
            service=first_text(raw.get("service")),
            namespace=first_text(raw.get("namespace")),
            pod=first_text(raw.get("pod")),
            deployment=first_text(raw.get("deployment")),
            labels=labels,
            starts_at=None if status == "passed" else checked_at,
            ends_at=checked_at if status == "passed" else None,
            external_id=check_id,
            rule_id=check_id,
            rule_name=name,
            metric="response_time_ms",
            threshold=threshold,
            actual_value=response_time,
            raw=raw,
        )
