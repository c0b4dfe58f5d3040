"""The deterministic expert engine: the embedded default and the last link of the provider chain.

It reads the pre-analysis signatures (or detects them), the deploy correlation, past resolutions,
Kubernetes state and logs, and writes the diagnosis an experienced on-call engineer would: what is
wrong, why, what to do first. It needs nothing outside the process and always answers; so do its
RCA drafts (`rca_draft.py`).
"""

from __future__ import annotations

import logging
import math
import re
import string
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.conf import settings

from analyses.providers.base import (
    AnalysisProvider,
    Diagnosis,
    IncidentContext,
    ProviderResult,
    RcaContext,
    RcaDraftResult,
    SignatureMatch,
    SuggestedAction,
    ai_providers,
)
from analyses.providers.rca_draft import rca_draft_build, rca_draft_fallback
from analyses.signatures import (
    FIELD_CHARS,
    ActionTemplate,
    Signature,
    as_text,
    deploy_minutes,
    detect_signatures,
    signature_get,
)
from remediation.catalog import ACTION_CATALOG

logger = logging.getLogger(__name__)
T = TypeVar("T")

SEVERITY_RANK = {"info": 0, "warning": 1, "high": 2, "critical": 3}
SEVERITY_ALIASES = {
    "warn": "warning",
    "minor": "warning",
    "low": "info",
    "informational": "info",
    "none": "info",
    "error": "high",
    "major": "high",
    "medium": "warning",
    "fatal": "critical",
    "emergency": "critical",
    "page": "critical",
    "p1": "critical",
    "p2": "high",
    "p3": "warning",
    "p4": "info",
    "p5": "info",
}
RECENT_DEPLOY_MINUTES = 30  # a deploy this close before the incident is the first suspect
DEPLOY_WINDOW_MINUTES = 120
MIN_SIMILARITY = 0.5
PAST_RESOLUTIONS = 2
SECONDARY_SCORE = 0.35
SECONDARY_MATCHES = 2
RECOMMENDATIONS_MAX = 12
EVIDENCE_MAX = 30
EVIDENCE_CHARS = 300
SCALE_FACTOR = 1.5
# Confidence: a base for any match, the match's own score, bonuses for independent corroboration.
NO_MATCH_CONFIDENCE = 0.2
MATCH_BASE, MATCH_WEIGHT = 0.3, 0.5
RECENT_DEPLOY_BONUS, OLDER_DEPLOY_BONUS, OTHER_SERVICE_DEPLOY_BONUS = 0.1, 0.05, 0.03
PAST_RESOLUTION_BONUS = 0.08
CONFIDENCE_CAP = 0.95
# Kubernetes object names (DNS-1123): anything else from an alert label never reaches an action.
K8S_NAME = re.compile(r"^[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?$")
ERROR_LINE = re.compile(r"\b(?:ERROR|FATAL|CRITICAL|SEVERE|panic|Exception|Traceback)\b")
K8S_SUMMARY_KEYS = (
    "pod_status",
    "phase",
    "waiting_reason",
    "restart_count",
    "last_termination_reason",
    "last_exit_code",
    "last_termination_exit_code",
    "node",
    "node_status",
    "replicas",
    "ready_replicas",
)
DISPLAY_DEFAULTS = {
    "service": "the affected service",
    "pod": "<pod>",
    "deployment": "<deployment>",
    "namespace": "<namespace>",
}
GENERIC_TRIAGE = (
    "Check what changed on {service} in the last hour: deploys, configuration, feature flags, traffic.",
    "Read {service}'s logs around the start of the incident for the first error, not the most frequent.",
    "Compare {service}'s error rate, latency and saturation (CPU, memory, connections) with the same "
    "time yesterday.",
    "Check the health of its dependencies (database, caches, queues, upstream APIs) for the same window.",
    "If users are affected and a recent change exists, roll the change back first and investigate after.",
)


@dataclass
class Facts:
    """What the context says about the workload: `known` values are safe to put in an action."""

    known: dict[str, str] = field(default_factory=dict)
    display: dict[str, str] = field(default_factory=dict)


class _Display(dict):
    def __missing__(self, key: str) -> str:
        return f"<{key}>"


def _first_text(*values: Any) -> str:
    for value in values:
        text = " ".join(as_text(value, 300).split())
        if text:
            return text
    return ""


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _k8s_name(value: str) -> str:
    return value if K8S_NAME.match(value) else ""


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _facts(context: IncidentContext, max_replicas: int) -> Facts:
    labels, kube = _mapping(context.labels), _mapping(context.kubernetes)
    workload = _mapping(kube.get("deployment"))
    service = _first_text(
        context.service, labels.get("service"), labels.get("app"), labels.get("app_kubernetes_io_name")
    )
    namespace = _first_text(context.namespace, labels.get("namespace"), kube.get("namespace"))
    pod = _first_text(context.pod, labels.get("pod"), kube.get("pod"), kube.get("pod_name"))
    deployment = _first_text(
        context.deployment, labels.get("deployment"), kube.get("deployment_name"), workload.get("name")
    )
    known = {
        "namespace": _k8s_name(namespace),
        "pod": _k8s_name(pod),
        "deployment": _k8s_name(deployment),
        "service": service,
    }
    current = next(
        (
            count
            for count in map(
                _int, (kube.get("replicas"), kube.get("desired_replicas"), workload.get("replicas"))
            )
            if count is not None and count > 0
        ),
        None,
    )
    if current is not None and current < max_replicas:
        known["scaled_replicas"] = str(min(max(current + 1, math.ceil(current * SCALE_FACTOR)), max_replicas))
    known = {key: value for key, value in known.items() if value}
    shown = {"service": service, "pod": pod, "namespace": namespace, "deployment": deployment or service}
    display = {key: value or DISPLAY_DEFAULTS[key] for key, value in shown.items()}
    return Facts(known=known, display=display)


def _render(template: str, facts: Facts) -> str:
    return template.format_map(_Display(facts.display))


def _severity(value: Any) -> str | None:
    name = as_text(value, 40).strip().lower()
    name = SEVERITY_ALIASES.get(name, name)
    return name if name in SEVERITY_RANK else None


def _higher(*severities: str | None) -> str | None:
    present = [severity for severity in severities if severity]
    return max(present, key=SEVERITY_RANK.__getitem__) if present else None


def _clean_matches(matches: Any) -> tuple[SignatureMatch, ...]:
    """Pre-analysis matches that are well formed, scores clamped to 0-1."""
    if not isinstance(matches, tuple | list):
        return ()
    clean = []
    for match in matches:
        if not isinstance(match, SignatureMatch) or not isinstance(match.key, str) or not match.key:
            continue
        score = match.score if isinstance(match.score, int | float) and math.isfinite(match.score) else 0.0
        evidence = tuple(as_text(item, EVIDENCE_CHARS) for item in _as_tuple(match.evidence))
        clean.append(
            SignatureMatch(
                key=match.key,
                title=as_text(match.title, 300) or match.key,
                score=min(max(float(score), 0.0), 1.0),
                evidence=evidence,
                playbook=as_text(match.playbook, 100),
            )
        )
    return tuple(clean)


def _as_tuple(value: Any) -> tuple[Any, ...]:
    return tuple(value) if isinstance(value, tuple | list) else ()


@dataclass(frozen=True)
class DeployCorrelation:
    minutes: float
    related: bool  # the deploy was of this service (or names no service)
    label: str  # "deploy deploy-42 (v2.4.1) of checkout-api"

    @property
    def recent(self) -> bool:
        return self.minutes <= RECENT_DEPLOY_MINUTES


def _deploy_correlation(context: IncidentContext, service: str) -> DeployCorrelation | None:
    deploy = _mapping(context.deploy)
    minutes = deploy_minutes(deploy)
    if minutes is None or minutes > DEPLOY_WINDOW_MINUTES:
        return None
    deployed_service = _first_text(deploy.get("service"))
    version = _first_text(deploy.get("version"), deploy.get("image"), as_text(deploy.get("commit_sha"), 12))
    label = "deploy " + (_first_text(deploy.get("deploy_id")) or "(no id)")
    label += f" ({version})" if version else ""
    label += f" of {deployed_service}" if deployed_service else ""
    related = not deployed_service or not service or deployed_service == service
    return DeployCorrelation(minutes=minutes, related=related, label=label)


def _deploy_advice(deploy: DeployCorrelation, facts: Facts) -> str:
    when = f"{math.floor(deploy.minutes)} minutes before the incident"
    if not deploy.related:
        return f"Check the {deploy.label} {when}: if {facts.display['service']} depends on it, roll it back."
    # The label is alert data: concatenated, never part of a format template.
    command = _render("`kubectl rollout undo deployment/{deployment} -n {namespace}`", facts)
    return f"Roll back the {deploy.label}, {when}: {command}, then watch whether the errors stop."


@dataclass(frozen=True)
class PastResolution:
    recommendation: str
    evidence: str


def _past_resolutions(context: IncidentContext, facts: Facts, keys: set[str]) -> list[PastResolution]:
    """Resolutions of similar incidents and knowledge-base entries for this service, best first."""
    service = facts.known.get("service", "")
    where = service or "a similar incident"
    found: list[PastResolution] = []
    for item in map(_mapping, _as_tuple(context.similar_incidents)):
        resolution = _first_text(item.get("resolution"))
        score = item.get("similarity_score")
        similar_enough = not isinstance(score, int | float) or score >= MIN_SIMILARITY
        if resolution and similar_enough:
            incident = _first_text(item.get("id")) or "a similar incident"
            found.append(
                PastResolution(
                    f"Last time on {where}: {resolution}",
                    f"similar incident {incident} was resolved by: {resolution}",
                )
            )
    for entry in map(_mapping, _as_tuple(context.knowledge_base)):
        resolution = _first_text(entry.get("resolution"))
        entry_service = _first_text(entry.get("service_id"))
        tags = {as_text(tag, 100).lower() for tag in _as_tuple(entry.get("tags"))}
        if resolution and ((service and entry_service == service) or tags & keys):
            recovery = _int(entry.get("time_to_recovery_minutes"))
            suffix = f" (recovered in {recovery} minutes)" if recovery is not None else ""
            found.append(
                PastResolution(
                    f"Last time on {entry_service or where}: {resolution}{suffix}",
                    f"knowledge base {_first_text(entry.get('id')) or 'entry'}: {resolution}",
                )
            )
    unique = {item.recommendation.lower(): item for item in found}
    return list(unique.values())[:PAST_RESOLUTIONS]


def _actions(signature: Signature | None, context: IncidentContext, facts: Facts) -> list[SuggestedAction]:
    """Catalog actions of the signature whose every argument the context fills."""
    if signature is None:
        return []
    allowed = set(ACTION_CATALOG)
    offered = {as_text(_mapping(entry).get("name"), 64) for entry in _as_tuple(context.action_catalog)}
    if offered - {""}:
        allowed &= offered
    actions = []
    for template in signature.actions:
        action = _fill(template, facts) if template.name in allowed else None
        if action is not None:
            actions.append(action)
    return actions


def _fill(template: ActionTemplate, facts: Facts) -> SuggestedAction | None:
    spec = ACTION_CATALOG[template.name]
    arguments: dict[str, str | int] = {}
    for name, value_template in template.arguments:
        needed = {part[1] for part in string.Formatter().parse(value_template) if part[1]}
        if not needed <= facts.known.keys():
            return None
        value = value_template.format_map(facts.known)
        arguments[name] = int(value) if name == "replicas" else value
    if set(arguments) != set(spec.parameters):
        return None
    return SuggestedAction(name=spec.name, arguments=arguments, reason=template.reason)


def _kubernetes_evidence(context: IncidentContext) -> str:
    kube = _mapping(context.kubernetes)
    parts = [f"{key}={as_text(kube[key], 80)}" for key in K8S_SUMMARY_KEYS if kube.get(key) not in (None, "")]
    return "kubernetes: " + ", ".join(parts) if parts else ""


def _first_error_line(context: IncidentContext) -> str:
    log = as_text(context.log_excerpt, limit=10**9)[-FIELD_CHARS["logs"] :]
    found = ERROR_LINE.search(log)
    if found is None:
        return ""
    start, end = log.rfind("\n", 0, found.start()) + 1, log.find("\n", found.end())
    return "logs (first error): " + " ".join(log[start : end if end != -1 else len(log)].split())


def _unique(items: Iterable[str], limit: int, chars: int) -> list[str]:
    seen: dict[str, str] = {}
    for item in items:
        text = " ".join(as_text(item, chars * 2).split())[:chars]
        if text and text.lower() not in seen:
            seen[text.lower()] = text
    return list(seen.values())[:limit]


@dataclass
class _Findings:
    """Everything the engine found, before it is written up as a diagnosis."""

    facts: Facts
    matches: tuple[SignatureMatch, ...]
    deploy: DeployCorrelation | None
    past: list[PastResolution]

    @property
    def primary(self) -> SignatureMatch | None:
        return self.matches[0] if self.matches else None

    @property
    def secondary(self) -> list[SignatureMatch]:
        return [match for match in self.matches[1:] if match.score >= SECONDARY_SCORE][:SECONDARY_MATCHES]

    def confidence(self) -> float:
        bonus = PAST_RESOLUTION_BONUS if self.past else 0.0
        primary = self.primary
        if self.deploy is not None and (primary is None or primary.key != "bad_deploy"):
            if not self.deploy.related:
                bonus += OTHER_SERVICE_DEPLOY_BONUS
            else:
                bonus += RECENT_DEPLOY_BONUS if self.deploy.recent else OLDER_DEPLOY_BONUS
        if primary is None:
            return round(min(NO_MATCH_CONFIDENCE + bonus / 2, 0.3), 3)
        return round(min(MATCH_BASE + MATCH_WEIGHT * primary.score + bonus, CONFIDENCE_CAP), 3)


def _summary(findings: _Findings, context: IncidentContext, first_step: str) -> str:
    facts = findings.facts
    service = facts.display["service"]
    where = "/".join(part for part in (facts.known.get("namespace"), facts.known.get("pod")) if part)
    where = f" ({where})" if where else ""
    after = ""
    if findings.deploy is not None:
        after = f", {math.floor(findings.deploy.minutes)} minutes after {findings.deploy.label}"
    if findings.primary is None:
        title = _first_text(context.title)[:200] or "untitled alert"
        return (
            f"No known failure class matched {service}'s incident \u201c{title}\u201d{after}; "
            f"triage by hand, starting with: {first_step}"
        )
    return f"{findings.primary.title} on {service}{where}{after}. First step: {first_step}"


def _root_cause(findings: _Findings, signature: Signature | None) -> str:
    primary, facts = findings.primary, findings.facts
    if primary is None:
        text = "No known failure class matched the alert, its labels, logs or Kubernetes state."
    elif signature is None:
        text = f"{primary.title} (recognised by pre-analysis)."
    else:
        text = _render(signature.root_cause, facts)
    if (
        findings.deploy is not None
        and findings.deploy.related
        and (primary is None or primary.key != "bad_deploy")
    ):
        text += (
            f" It began {math.floor(findings.deploy.minutes)} minutes after {findings.deploy.label}, "
            "which makes that change the first suspect."
        )
    related = [f"{match.title} ({match.score:.2f})" for match in findings.secondary]
    if related:
        text += " Related signals: " + "; ".join(related) + "."
    return text


def _recommendations(findings: _Findings, signature: Signature | None) -> list[str]:
    facts = findings.facts
    own = signature.recommendations if signature else GENERIC_TRIAGE
    items = [_render(text, facts) for text in own]
    for match in findings.secondary:
        if match.key == "bad_deploy" and findings.deploy is not None:
            continue  # the deploy advice below names the deploy itself
        other = signature_get(match.key)
        items += [_render(text, facts) for text in (other.recommendations[:2] if other else ())]
    past = [item.recommendation for item in findings.past]
    if findings.deploy is None:
        return _unique([*past, *items], RECOMMENDATIONS_MAX, 500)
    advice = _deploy_advice(findings.deploy, facts)
    if findings.deploy.recent and findings.deploy.related:
        return _unique([advice, *past, *items], RECOMMENDATIONS_MAX, 500)
    return _unique([*past, *items, advice], RECOMMENDATIONS_MAX, 500)


def _evidence(findings: _Findings, context: IncidentContext) -> list[str]:
    items = [*(findings.primary.evidence if findings.primary else ())]
    for match in findings.secondary:
        items += match.evidence
    if findings.deploy is not None and not any(item.startswith("deploy:") for item in items):
        items.append(f"deploy: {findings.deploy.label} {math.floor(findings.deploy.minutes)} minutes before")
    items += [item.evidence for item in findings.past]
    items += [_kubernetes_evidence(context), _first_error_line(context)]
    return _unique(items, EVIDENCE_MAX, EVIDENCE_CHARS)


def diagnosis_build(context: IncidentContext, *, max_replicas: int = 20) -> Diagnosis:
    """The engine's diagnosis of one context. Pure: no database, no network."""
    facts = _facts(context, max_replicas)
    matches = _clean_matches(context.signatures) or detect_signatures(context)
    keys = {match.key for match in matches} | {match.playbook for match in matches}
    findings = _Findings(
        facts=facts,
        matches=matches,
        deploy=_deploy_correlation(context, facts.known.get("service", "")),
        past=_past_resolutions(context, facts, keys),
    )
    signature = signature_get(findings.primary.key) if findings.primary else None
    recommendations = _recommendations(findings, signature)
    default_severity = signature.severity if signature else None
    return Diagnosis(
        summary=_summary(findings, context, recommendations[0])[:4000],
        root_cause=_root_cause(findings, signature)[:4000],
        recommendations=recommendations,
        confidence=findings.confidence(),
        severity=_higher(default_severity, _severity(context.severity)),
        evidence=_evidence(findings, context),
        suggested_actions=_actions(signature, context, facts)[:10],
    )


def _fallback(context: Any) -> Diagnosis:
    title = _first_text(getattr(context, "title", ""))[:200] or "untitled alert"
    return Diagnosis(
        summary=f"No known failure class matched \u201c{title}\u201d; triage by hand.",
        root_cause="The incident could not be matched against known failure classes.",
        recommendations=[text.format(service="the service") for text in GENERIC_TRIAGE],
        confidence=NO_MATCH_CONFIDENCE,
    )


@ai_providers.register
class DeterministicProvider(AnalysisProvider):
    name = "deterministic"
    paid = False
    model = "rules-v1"

    def __init__(self, *, max_replicas: int = 20) -> None:
        self.max_replicas = max_replicas

    @classmethod
    def from_settings(cls) -> DeterministicProvider:
        return cls(max_replicas=getattr(settings, "REMEDIATION_MAX_REPLICAS", 20))

    def diagnose(self, context: IncidentContext) -> ProviderResult:
        """Never raises: the chain has no provider after this one."""
        diagnosis, duration_ms = _answer_anyway(
            lambda: diagnosis_build(context, max_replicas=self.max_replicas),
            lambda: _fallback(context),
            f"incident {getattr(context, 'incident_id', '?')}",
        )
        return ProviderResult(
            diagnosis=diagnosis, provider=self.name, model=self.model, duration_ms=duration_ms
        )

    def draft_rca(self, context: RcaContext) -> RcaDraftResult:
        """A post-mortem draft from the linked incidents alone; never raises, as `diagnose`."""
        draft, duration_ms = _answer_anyway(
            lambda: rca_draft_build(context),
            lambda: rca_draft_fallback(context),
            f"the RCA draft of {getattr(context, 'rca_id', '?')}",
        )
        return RcaDraftResult(draft=draft, provider=self.name, model=self.model, duration_ms=duration_ms)


def _answer_anyway(build: Callable[[], T], fallback: Callable[[], T], subject: str) -> tuple[T, int]:
    """`build()`, or `fallback()` if it raised; and how long it took, in milliseconds."""
    started = time.perf_counter()
    try:
        value = build()
    except Exception:  # the last link must answer; the bug is logged, not hidden
        logger.exception("Deterministic engine failed on %s", subject)
        value = fallback()
    return value, round((time.perf_counter() - started) * 1000)
