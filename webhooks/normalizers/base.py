"""Alert normalizers: one module per provider turns its webhook payload into normalized alerts."""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.utils.dateparse import parse_datetime

from statux.registry import Registry

normalizers = Registry("alert_sources")

SEVERITIES = ("critical", "high", "warning", "info")

# Provider words for how bad something is, mapped onto our four severities.
SEVERITY_WORDS = {
    "critical": "critical",
    "crit": "critical",
    "fatal": "critical",
    "emergency": "critical",
    "p1": "critical",
    "sev1": "critical",
    "disaster": "critical",
    "page": "critical",
    "high": "high",
    "error": "high",
    "major": "high",
    "p2": "high",
    "sev2": "high",
    "alert": "high",
    "warning": "warning",
    "warn": "warning",
    "medium": "warning",
    "minor": "warning",
    "p3": "warning",
    "sev3": "warning",
    "moderate": "warning",
    "average": "warning",
    "info": "info",
    "informational": "info",
    "low": "info",
    "p4": "info",
    "p5": "info",
    "sev4": "info",
    "sev5": "info",
    "none": "info",
    "ok": "info",
    "notice": "info",
    "debug": "info",
}

# Labels whose values identify "the same alert" when a source sends no fingerprint of its own.
IDENTITY_KEYS = ("alertname", "title", "service", "namespace", "deployment", "pod", "instance", "job")


class InvalidPayload(ValueError):
    """The payload does not have the provider's shape; the message says what is wrong."""

    code = "invalid_payload"


@dataclass
class NormalizedAlert:
    """One alert, whatever sent it. `fingerprint` identifies repeats of the same alert."""

    source: str
    title: str
    fingerprint: str
    severity: str = "warning"  # "" when the source gave none (see __post_init__)
    status: str = "firing"  # firing | resolved
    description: str = ""
    service: str = ""
    namespace: str = ""
    pod: str = ""
    deployment: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    external_id: str = ""  # the provider's own incident/alert id (PagerDuty PD…, Opsgenie alertId …)
    rule_id: str = ""  # Incidents API (003) fields
    rule_name: str = ""
    metric: str = ""
    threshold: float | None = None
    actual_value: float | None = None
    raw: Any = None

    def __post_init__(self) -> None:
        if not self.severity:  # the source gave none: judge by how far the value exceeds its threshold
            self.severity = severity_from_threshold(self.threshold, self.actual_value)
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {', '.join(SEVERITIES)}, not {self.severity!r}")
        if self.status not in ("firing", "resolved"):
            raise ValueError(f"status must be firing or resolved, not {self.status!r}")
        self.title = (self.title or "Untitled alert")[:500]


class Normalizer(ABC):
    name: str

    @abstractmethod
    def normalize(self, payload: Any) -> list[NormalizedAlert]:
        """Return the normalized alerts in `payload`; raise InvalidPayload when its shape is wrong."""


def map_severity(value: Any, default: str = "warning") -> str:
    """Map a provider's severity/priority/urgency word (or P1..P5, sev1..) onto ours."""
    if value is None:
        return default
    word = str(value).strip().lower().replace(" ", "").replace("_", "").replace("-", "")
    return SEVERITY_WORDS.get(word, default)


def severity_from_threshold(threshold: float | None, actual_value: float | None) -> str:
    """Incidents API rule: critical at twice the threshold or more, warning from 25% over, else info."""
    if threshold is None or actual_value is None:
        return "warning"
    if threshold == 0:
        return "critical" if actual_value > 0 else "info"
    excess = (actual_value - threshold) / abs(threshold)
    if excess >= 1:
        return "critical"
    return "warning" if excess >= 0.25 else "info"


def stable_fingerprint(source: str, identity: dict[str, Any]) -> str:
    """A stable hash of the identity fields, so repeats of one alert share a fingerprint."""
    chosen = {key: str(identity[key]) for key in sorted(identity) if identity.get(key) not in (None, "")}
    digest = hashlib.sha256(json.dumps([source, chosen], sort_keys=True).encode()).hexdigest()
    return f"{source}:{digest[:32]}"


def identity_of(labels: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {**{key: labels.get(key) for key in IDENTITY_KEYS}, **extra}


def require_dict(payload: Any, what: str = "payload") -> dict:
    if not isinstance(payload, dict):
        raise InvalidPayload(f"The {what} must be a JSON object, not {type(payload).__name__}.")
    return payload


def require_list(payload: dict, key: str) -> list:
    value = payload.get(key)
    if not isinstance(value, list):
        raise InvalidPayload(f"'{key}' must be a list of alerts.")
    return value


def optional_dict(container: dict, key: str, where: str = "") -> dict:
    """`container[key]` when it is an object; {} when absent or null; InvalidPayload for anything else."""
    value = container.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidPayload(f"'{where}{key}' must be a JSON object, not {type(value).__name__}.")
    return value


def optional_list(container: dict, key: str, where: str = "") -> list:
    """`container[key]` when it is a list; [] when absent or null; InvalidPayload for anything else."""
    value = container.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidPayload(f"'{where}{key}' must be a list, not {type(value).__name__}.")
    return value


def first_text(*values: Any) -> str:
    """The first value that is a non-blank string or a number, as text; "" when there is none."""
    for value in values:
        if isinstance(value, str) and value.strip():
            return value.strip()[:10_000]
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return text(value)
    return ""


def text(value: Any, limit: int = 10_000) -> str:
    if value is None:
        return ""
    return (
        value
        if isinstance(value, str)
        else json.dumps(value)
        if isinstance(value, (dict, list))
        else str(value)
    )[:limit]


def string_map(value: Any) -> dict[str, str]:
    """Labels/tags as a flat str->str dict; lists of "key:value" tags (Datadog) are split."""
    if isinstance(value, dict):
        return {str(k): text(v, 1000) for k, v in value.items()}
    if isinstance(value, list):
        pairs = {}
        for item in value:
            key, _, val = str(item).partition(":")
            pairs[key.strip()] = val.strip()
        return pairs
    if isinstance(value, str) and value:
        return string_map([part for part in value.split(",") if part.strip()])
    return {}


def parse_time(value: Any) -> datetime | None:
    """ISO 8601 strings or Unix seconds/milliseconds; Alertmanager's zero time means "none"."""
    if value in (None, "", 0) or (isinstance(value, str) and value.startswith("0001-01-01")):
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:  # a hostile integer with hundreds of digits overflows the division too
            seconds = value / 1000 if value > 10**11 else value
            return datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        try:
            parsed = parse_datetime(value.strip().replace(" ", "T", 1))
        except ValueError:
            return None
        if parsed is not None and parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed
    return None


def timestamp(value: Any) -> datetime | None:
    """parse_time, also for Unix times sent as digit strings (Datadog's $DATE) or in µs/ns (Opsgenie)."""
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip()[:30])
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 10**14:
        try:  # microseconds or nanoseconds to milliseconds
            value = value / 10**6 if value > 10**17 else value / 10**3
        except OverflowError:
            return None
    return parse_time(value)


def number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        result = float(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: an int beyond float's range
        return None
    return result if result == result and abs(result) != float("inf") else None  # no NaN/inf


def each_object(payload: Any, key: str, noun: str) -> list[tuple[dict, str]]:
    """One object, a list of them, or {key: [...]}: each object with the path prefix its errors name."""
    if isinstance(payload, list):
        items, prefix = payload, ""
    elif isinstance(payload, dict) and key in payload:
        items, prefix = require_list(payload, key), key
    else:
        return [(require_dict(payload), "")]
    if not items:
        raise InvalidPayload(f"'{prefix or 'payload'}' is an empty list: there is no {noun} in it.")
    return [
        (require_dict(item, f"'{prefix}[{index}]'"), f"{prefix}[{index}].")
        for index, item in enumerate(items)
    ]
