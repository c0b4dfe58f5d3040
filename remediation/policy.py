"""The policy engine, evaluation half: may a suggested action run here, how, and who must agree first.

Every action a diagnosis suggests reaches the operator with a `PolicyVerdict`. The verdict fields:

- `allowed`: the action is in the catalog, enabled, has its arguments and stays inside the policy's
  namespaces and limits. Advice-only actions (catalog `executable=False`) are allowed: they are advice.
- `executable`: allowed and runnable by an action provider (not advice-only); an operator may run it.
- `approval_required`: an executable action named in the policy's approval list; a person must approve
  each run, whoever started it.
- `auto_executable`: executable and named in the policy's auto-execute list: the autonomy loop may start
  it by itself. With `approval_required` too, the loop proposes the run and waits for that approval.
- `dry_run`: the policy's default; a run previews unless the operator asks otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from django.conf import settings

from analyses.providers.base import SuggestedAction
from remediation.catalog import ACTION_CATALOG, ActionSpec
from remediation.models import (
    BUILT_IN_POLICY_NAME,
    DEFAULT_DENIED_NAMESPACES,
    GuardrailPolicy,
    namespace_matches,
)
from remediation.selectors import guardrail_policy_active
from statux.models import Organization

WITHIN_GUARDRAILS = "Action is within guardrails"
UNKNOWN_BLAST_RADIUS = "unknown"


@dataclass(frozen=True)
class PolicyVerdict:
    executable: bool
    auto_executable: bool
    allowed: bool
    approval_required: bool
    dry_run: bool
    blast_radius: str
    policy_name: str
    policy_reason: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Guardrails:
    """The rules in force for one organization: its enabled policy, or the built-in default."""

    name: str
    allowed_namespaces: tuple[str, ...]
    denied_namespaces: tuple[str, ...]
    approval_required_actions: tuple[str, ...]  # sorted action names
    auto_execute_actions: tuple[str, ...]
    disabled_actions: tuple[str, ...]
    dry_run_default: bool
    max_replicas: int
    policy: GuardrailPolicy | None = None  # the stored row; None for the built-in default

    @classmethod
    def from_policy(cls, policy: GuardrailPolicy) -> Guardrails:
        return cls(
            name=policy.name,
            allowed_namespaces=tuple(policy.allowed_namespaces),
            denied_namespaces=tuple(policy.denied_namespaces),
            approval_required_actions=tuple(sorted(set(policy.approval_required_actions))),
            auto_execute_actions=tuple(sorted(set(policy.auto_execute_actions))),
            disabled_actions=tuple(sorted(set(policy.disabled_actions))),
            dry_run_default=policy.dry_run_default,
            max_replicas=policy.max_replicas,
            policy=policy,
        )

    @classmethod
    def built_in(cls) -> Guardrails:
        return cls(
            name=BUILT_IN_POLICY_NAME,
            allowed_namespaces=tuple(settings.REMEDIATION_ALLOWED_NAMESPACES),
            denied_namespaces=tuple(
                getattr(settings, "REMEDIATION_DENIED_NAMESPACES", DEFAULT_DENIED_NAMESPACES)
            ),
            approval_required_actions=tuple(sorted(set(settings.REMEDIATION_APPROVAL_REQUIRED_ACTIONS))),
            auto_execute_actions=tuple(sorted(set(settings.REMEDIATION_AUTO_EXECUTE_ACTIONS))),
            disabled_actions=(),
            dry_run_default=settings.REMEDIATION_DRY_RUN_DEFAULT,
            max_replicas=settings.REMEDIATION_MAX_REPLICAS,
        )

    @property
    def stored(self) -> bool:
        return self.policy is not None

    def namespace_allowed(self, namespace: str) -> bool:
        # Denied wins: "*" allowed still keeps kube-system out.
        return namespace_matches(namespace, self.allowed_namespaces) and not namespace_matches(
            namespace, self.denied_namespaces
        )


def policy_for(organization: Organization) -> Guardrails:
    """The organization's rules in one query; another organization's policy never applies."""
    policy = guardrail_policy_active(organization=organization)
    return Guardrails.from_policy(policy) if policy is not None else Guardrails.built_in()


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _refusal(spec: ActionSpec | None, action: SuggestedAction, guardrails: Guardrails) -> str:
    """Why the policy refuses the action, or "" when it stays within guardrails. First failing rule wins."""
    if spec is None:
        return f"action {action.name} is not in the action catalog"
    if action.name in guardrails.disabled_actions:
        return f"action {action.name} is disabled by policy {guardrails.name}"
    arguments = action.arguments
    missing = [name for name in spec.parameters if _blank(arguments.get(name))]
    if missing:
        return f"missing required arguments for {action.name}: {', '.join(missing)}"
    namespace = arguments.get("namespace")
    if namespace is not None and not (isinstance(namespace, str) and guardrails.namespace_allowed(namespace)):
        return f"namespace {namespace} is not allowed by policy {guardrails.name}"
    if "replicas" in spec.parameters:
        replicas = arguments["replicas"]
        # bool is an int subclass; True replicas is a model's mistake, not 1.
        if type(replicas) is not int or not 0 <= replicas <= guardrails.max_replicas:
            return (
                f"replicas must be a whole number from 0 to {guardrails.max_replicas} "
                f"by policy {guardrails.name}, not {replicas!r}"
            )
    return ""


def policy_evaluate(
    *,
    organization: Organization,
    action: SuggestedAction,
    policy: Guardrails | GuardrailPolicy | None = None,
) -> PolicyVerdict:
    """Judge one suggested action. Pass `policy` to judge several actions on one read (or a draft)."""
    if policy is None:
        guardrails = policy_for(organization)
    elif isinstance(policy, GuardrailPolicy):
        guardrails = Guardrails.from_policy(policy)
    else:
        guardrails = policy
    spec = ACTION_CATALOG.get(action.name)
    reason = _refusal(spec, action, guardrails)
    allowed = not reason
    executable = allowed and spec.executable
    return PolicyVerdict(
        executable=executable,
        auto_executable=executable and action.name in guardrails.auto_execute_actions,
        allowed=allowed,
        approval_required=spec is not None
        and spec.executable
        and action.name in guardrails.approval_required_actions,
        dry_run=guardrails.dry_run_default,
        blast_radius=spec.blast_radius if spec is not None else UNKNOWN_BLAST_RADIUS,
        policy_name=guardrails.name,
        policy_reason=reason or WITHIN_GUARDRAILS,
    )


def policy_evaluate_many(
    *, organization: Organization, actions: Iterable[SuggestedAction]
) -> list[dict[str, Any]]:
    """The `suggested_actions` items of a diagnosis, as the spec shows them; one policy read for all."""
    guardrails = policy_for(organization)
    items = []
    for action in actions:
        spec = ACTION_CATALOG.get(action.name)
        verdict = policy_evaluate(organization=organization, action=action, policy=guardrails)
        items.append(
            {
                "name": action.name,
                "description": spec.description if spec is not None else "",
                "arguments": dict(action.arguments),
                **verdict.as_dict(),
            }
        )
    return items
