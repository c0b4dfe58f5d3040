"""Writes for remediation: guardrail policies (validated, one enabled per organization, audited)."""

from __future__ import annotations

import re
from typing import Any

from django.db import IntegrityError, transaction

from remediation.catalog import ACTION_CATALOG
from remediation.models import BUILT_IN_POLICY_NAME, GuardrailPolicy
from remediation.policy import Guardrails
from statux.audit import Actor, audit_record
from statux.errors import Conflict, StatuxError
from statux.models import Organization

NAMESPACE_FIELDS = ("allowed_namespaces", "denied_namespaces")
ACTION_FIELDS = ("approval_required_actions", "auto_execute_actions", "disabled_actions")
BOOLEAN_FIELDS = ("enabled", "dry_run_default")
POLICY_FIELDS = ("name", *BOOLEAN_FIELDS, *NAMESPACE_FIELDS, *ACTION_FIELDS, "max_replicas")
# A Kubernetes namespace (a DNS label) in which `*` and `?` may stand for characters.
NAMESPACE_PATTERN = re.compile(r"[a-z0-9*?][a-z0-9*?-]{0,62}")


class InvalidGuardrailPolicy(StatuxError):
    status, code = 400, "invalid"


def _check_name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > 100:
        raise ValueError("Give the policy a name of 1 to 100 characters.")
    if value.strip().lower() == BUILT_IN_POLICY_NAME:
        raise ValueError(f"'{BUILT_IN_POLICY_NAME}' names the built-in policy from settings; choose another.")
    return value.strip()


def _check_namespaces(value: Any) -> list[str]:
    if not isinstance(value, list | tuple):
        raise ValueError("Give a list of namespaces or glob patterns such as team-*.")
    for item in value:
        if not isinstance(item, str) or not NAMESPACE_PATTERN.fullmatch(item):
            raise ValueError(
                f"{item!r} is not a namespace or glob pattern: use lowercase letters, digits, '-', '*' "
                "and '?', at most 63 characters."
            )
    return list(dict.fromkeys(value))


def _check_actions(value: Any) -> list[str]:
    if not isinstance(value, list | tuple):
        raise ValueError("Give a list of action names.")
    for item in value:
        if item not in ACTION_CATALOG:
            raise ValueError(f"Unknown action {item!r}; known: {', '.join(ACTION_CATALOG)}.")
    return list(dict.fromkeys(value))


def _check_max_replicas(value: Any) -> int:
    if type(value) is not int or value < 0:
        raise ValueError(f"max_replicas must be a whole number of 0 or more, not {value!r}.")
    return value


def _check_boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"Say true or false, not {value!r}.")
    return value


CHECKS = {
    "name": _check_name,
    "max_replicas": _check_max_replicas,
    **dict.fromkeys(BOOLEAN_FIELDS, _check_boolean),
    **dict.fromkeys(NAMESPACE_FIELDS, _check_namespaces),
    **dict.fromkeys(ACTION_FIELDS, _check_actions),
}


def guardrail_policy_clean(fields: dict[str, Any]) -> dict[str, Any]:
    """Validate policy fields; raise InvalidGuardrailPolicy naming every bad field and what is allowed."""
    unknown = sorted(set(fields) - set(POLICY_FIELDS))
    if unknown:
        raise InvalidGuardrailPolicy(
            f"Unknown guardrail policy fields: {', '.join(unknown)}.",
            fields={name: ["Unknown field."] for name in unknown},
        )
    cleaned, errors = {}, {}
    for name, value in fields.items():
        try:
            cleaned[name] = CHECKS[name](value)
        except ValueError as exc:
            errors[name] = [str(exc)]
    if errors:
        first = next(iter(errors))
        raise InvalidGuardrailPolicy(f"Invalid {first}: {errors[first][0]}", fields=errors)
    return cleaned


def _disable_others(policy: GuardrailPolicy) -> list[str]:
    """Switch the organization's other enabled policy off, so `policy` becomes the active one."""
    others = GuardrailPolicy.objects.for_org(policy.organization).filter(enabled=True).exclude(pk=policy.pk)
    names = list(others.select_for_update().values_list("name", flat=True))
    others.update(enabled=False)
    return names


def _save(policy: GuardrailPolicy, *, update_fields: list[str] | None = None) -> None:
    try:
        with transaction.atomic():  # savepoint: a lost race must not poison the outer transaction
            policy.save(update_fields=update_fields)
    except IntegrityError:
        raise Conflict(
            f"A guardrail policy named '{policy.name}' exists, or another policy was enabled at the same "
            "time; reload and try again.",
            fields={"name": ["Already taken, or changed concurrently."]},
        ) from None


@transaction.atomic
def guardrail_policy_create(
    *, organization: Organization, name: str, actor: Actor, **fields: Any
) -> GuardrailPolicy:
    """Fields left out start from the built-in default policy. An enabled (the default) new policy
    replaces the organization's active one, which is disabled in the same transaction."""
    built_in = Guardrails.built_in()
    values = {
        "enabled": True,
        "allowed_namespaces": list(built_in.allowed_namespaces),
        "denied_namespaces": list(built_in.denied_namespaces),
        "approval_required_actions": [
            name for name in built_in.approval_required_actions if name in ACTION_CATALOG
        ],
        "auto_execute_actions": [name for name in built_in.auto_execute_actions if name in ACTION_CATALOG],
        "disabled_actions": [],
        "dry_run_default": built_in.dry_run_default,
        "max_replicas": built_in.max_replicas,
    }
    values.update(guardrail_policy_clean({"name": name, **fields}))
    policy = GuardrailPolicy(organization=organization, updated_by=actor.user, **values)
    replaced = _disable_others(policy) if policy.enabled else []
    _save(policy)
    audit_record(
        actor=actor,
        action="guardrail_policy.created",
        organization=organization,
        target=policy,
        metadata={**values, "replaced": replaced},
    )
    return policy


@transaction.atomic
def guardrail_policy_update(*, policy: GuardrailPolicy, actor: Actor, **changes: Any) -> GuardrailPolicy:
    """Change some fields; enabling the policy disables the organization's other one."""
    cleaned = guardrail_policy_clean(changes)
    policy = GuardrailPolicy.objects.select_for_update().get(pk=policy.pk)
    changed = {name: value for name, value in cleaned.items() if getattr(policy, name) != value}
    if not changed:
        return policy
    for name, value in changed.items():
        setattr(policy, name, value)
    policy.updated_by = actor.user
    replaced = _disable_others(policy) if changed.get("enabled") else []
    _save(policy, update_fields=[*changed, "updated_by", "updated_at"])
    audit_record(
        actor=actor,
        action="guardrail_policy.updated",
        organization=policy.organization,
        target=policy,
        metadata={**changed, "replaced": replaced},
    )
    return policy
