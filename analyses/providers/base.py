"""AI providers: one interface, a registry, and the shapes that go in (context) and come out (diagnosis).

The chain (analyses/services.py) asks each configured provider in turn; any `ProviderError` falls
through to the next, and the deterministic engine always answers last.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, Field

from statux.registry import Registry

ai_providers = Registry("ai_providers")

SeverityName = Literal["critical", "high", "warning", "info"]


class ProviderError(Exception):
    """The provider gave no usable answer; the chain moves on to the next one.

    `input_tokens`/`output_tokens`: what answers that could not be used (invalid twice, a repair try
    that failed) cost anyway; the chain bills them to the organization's usage.
    """

    reason = "error"

    def __init__(self, message: str = "", *, input_tokens: int = 0, output_tokens: int = 0) -> None:
        super().__init__(message)
        self.input_tokens, self.output_tokens = input_tokens, output_tokens


class ProviderNotConfigured(ProviderError):
    reason = "not_configured"


class ProviderUnavailable(ProviderError):
    """Network failure, timeout, access denied, 5xx: nothing the next try would fix quickly."""

    reason = "unavailable"


class ProviderThrottled(ProviderError):
    """Still throttled after the provider's own retries with backoff."""

    reason = "throttled"


class InvalidOutput(ProviderError):
    """The model's answer did not validate, also after the one repair try."""

    reason = "invalid_output"


@dataclass(frozen=True)
class SignatureMatch:
    """A known failure class recognised in the incident's text, labels, logs or Kubernetes state."""

    key: str  # e.g. "oom_killed"
    title: str  # e.g. "Container killed for exceeding its memory limit (OOMKilled)"
    score: float  # 0-1, how strongly the evidence matches
    evidence: tuple[str, ...] = ()  # the strings that matched, quoted for the operator
    playbook: str = ""  # e.g. "oom-recovery"


@dataclass(frozen=True)
class IncidentContext:
    """Everything an analysis may look at, gathered once by the context builder.

    Text fields hold alert data as received: untrusted. Prompts must quote it as data, never as
    instructions.
    """

    incident_id: str
    organization_id: str
    title: str
    description: str = ""
    severity: str = "warning"
    status: str = "open"
    source: str = ""
    service: str = ""
    namespace: str = ""
    pod: str = ""
    deployment: str = ""
    labels: dict[str, Any] = field(default_factory=dict)
    annotations: dict[str, Any] = field(default_factory=dict)
    metric: str = ""
    threshold: float | None = None
    actual_value: float | None = None
    alert_count: int = 1
    started_at: str = ""  # ISO 8601
    # [{"event_type", "actor", "created_at", "payload"}], oldest first, bounded.
    timeline: tuple[dict[str, Any], ...] = ()
    # [{"id", "title", "service", "severity", "correlation_reason"}]
    children: tuple[dict[str, Any], ...] = ()
    # [{"id", "title", "similarity_score", "severity", "state", "created_at", "resolution"}], best first.
    similar_incidents: tuple[dict[str, Any], ...] = ()
    # [{"id", "service_id", "resolution", "tags", "time_to_recovery_minutes"}] from the resolutions webhook.
    knowledge_base: tuple[dict[str, Any], ...] = ()
    # {"deploy_id", "service", "version", "minutes_before_incident", "actor"} or None.
    deploy: dict[str, Any] | None = None
    # {"pod_status", "restart_count", "last_termination_reason", …} or None when no cluster is configured.
    kubernetes: dict[str, Any] | None = None
    log_excerpt: str = ""
    signatures: tuple[SignatureMatch, ...] = ()  # from pre-analysis, strongest first
    matched_playbooks: tuple[str, ...] = ()
    # [{"name", "description", "parameters": {name: description}}]: the only actions a diagnosis may suggest.
    action_catalog: tuple[dict[str, Any], ...] = ()

    @property
    def action_names(self) -> frozenset[str]:
        return frozenset(action["name"] for action in self.action_catalog)


class SuggestedAction(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    arguments: dict[str, str | int | float | bool] = Field(default_factory=dict)
    reason: str = Field(default="", max_length=1000)


class Diagnosis(BaseModel):
    """The validated result every provider returns, whatever the model wrote."""

    summary: str = Field(min_length=1, max_length=4000)
    root_cause: str = Field(min_length=1, max_length=4000)
    recommendations: list[str] = Field(default_factory=list, max_length=20)
    confidence: float = Field(ge=0.0, le=1.0)
    severity: SeverityName | None = None
    evidence: list[str] = Field(default_factory=list, max_length=30)
    suggested_actions: list[SuggestedAction] = Field(default_factory=list, max_length=10)


@dataclass
class ProviderResult:
    diagnosis: Diagnosis
    provider: str
    model: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    duration_ms: int = 0
    repaired: bool = False  # the first answer failed validation and the repair try succeeded
    # Suggestions the model made outside the action catalog, dropped before anyone could run them.
    rejected_actions: list[str] = field(default_factory=list)

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True)
class RcaContext:
    """What an RCA draft is written from: the document as it stands and its linked incidents.

    Each linked incident: {"id", "title", "service", "severity", "status", "alert_count", "created_at",
    "resolved_at", "timeline": [{"event_type", "actor", "created_at", "payload"}], "notes": [str],
    "analysis": {"summary", "root_cause", "recommendations", "confidence"} or None,
    "deploy": {"deploy_id", "service", "minutes_before_incident", "actor", "image"} or None,
    "similar_resolved": [{"id", "title", "resolution"}]}; external references (other products)
    carry only {"product", "external_id", "title", "url"}. Text is untrusted, as in IncidentContext.
    """

    rca_id: str
    organization_id: str
    title: str
    summary: str = ""
    root_cause: str = ""
    impact: str = ""
    timeline: str = ""
    incidents: tuple[dict[str, Any], ...] = ()
    external_incidents: tuple[dict[str, Any], ...] = ()


class RcaDraft(BaseModel):
    """A validated RCA draft; Markdown in every field."""

    summary: str = Field(min_length=1, max_length=8000)
    root_cause: str = Field(min_length=1, max_length=8000)
    impact: str = Field(min_length=1, max_length=8000)
    timeline: str = Field(min_length=1, max_length=16000)  # one "- HH:MM UTC — what happened" line an event


@dataclass
class RcaDraftResult:
    draft: RcaDraft
    provider: str
    model: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    duration_ms: int = 0
    repaired: bool = False

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


class AnalysisProvider(ABC):
    """One way to turn an `IncidentContext` into a `Diagnosis`.

    Subclasses register with `@ai_providers.register`, take their clients through the constructor
    (tests pass stubs) and build the production ones in `from_settings()`.
    """

    name: str
    paid: bool = True  # the usage budget is checked before any paid provider is called

    @classmethod
    @abstractmethod
    def from_settings(cls) -> AnalysisProvider:
        """Build the provider from Django settings; raise ProviderNotConfigured when it cannot."""

    @abstractmethod
    def diagnose(self, context: IncidentContext) -> ProviderResult:
        """Answer with a validated diagnosis or raise a `ProviderError`."""

    def draft_rca(self, context: RcaContext) -> RcaDraftResult:
        """Draft an RCA document's summary, root cause, impact and timeline, or raise a `ProviderError`."""
        raise ProviderNotConfigured(f"The {self.name} provider cannot draft RCA documents.")
