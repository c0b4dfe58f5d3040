"""Console remediation pages: the guardrail policy in force, what it would do with each action, its editor.

Reads go through remediation.policy and remediation.selectors, writes through remediation.services.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from analyses.providers.base import SuggestedAction
from remediation import selectors, services
from remediation.catalog import ACTION_CATALOG, ActionSpec
from remediation.policy import Guardrails, PolicyVerdict, policy_evaluate, policy_for
from statux.audit import Actor
from statux.console.forms import ConsoleForm
from statux.console.views import requires
from statux.errors import StatuxError
from statux.models import Organization

SAMPLE_NAMESPACE = "production"
SAMPLE_REPLICAS = 3
# Arguments of the "what would happen" table, besides the namespace and replicas the viewer picks.
SAMPLE_ARGUMENTS = {
    "pod_name": "payments-api-7d8f9c6b5-x2k4m",
    "deployment": "payments-api",
    "change": "Raise the memory limit to 512Mi.",
}
NEW_POLICY_NAME = "custom"
ACTION_CHOICES = [(name, name) for name in ACTION_CATALOG]


class GuardrailSampleForm(ConsoleForm):
    namespace = forms.CharField(label="Sample namespace", max_length=63, initial=SAMPLE_NAMESPACE)
    replicas = forms.IntegerField(label="Sample replicas", min_value=0, initial=SAMPLE_REPLICAS)


class NamespaceListField(forms.CharField):
    """Namespaces or glob patterns separated by commas, spaces or new lines."""

    def to_python(self, value: Any) -> list[str]:
        return [item for item in re.split(r"[\s,]+", super().to_python(value)) if item]

    def prepare_value(self, value: Any) -> str:
        return ", ".join(value) if isinstance(value, list | tuple) else value


def _action_choices(label: str) -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(
        label=label, required=False, choices=ACTION_CHOICES, widget=forms.CheckboxSelectMultiple
    )


class GuardrailPolicyForm(ConsoleForm):
    """Shape and choices only; remediation.services decides what a valid policy is."""

    name = forms.CharField(label="Policy name", max_length=100)
    enabled = forms.BooleanField(
        label="Enabled (when off, the built-in default policy applies)", required=False
    )
    allowed_namespaces = NamespaceListField(
        label="Allowed namespaces",
        required=False,
        help_text="Separated by commas; * allows any namespace, team-* every one starting with team-.",
    )
    denied_namespaces = NamespaceListField(
        label="Denied namespaces", required=False, help_text="Refused even when allowed above."
    )
    approval_required_actions = _action_choices("Need an operator's approval")
    auto_execute_actions = _action_choices("The autonomy loop may start")
    disabled_actions = _action_choices("Disabled")
    dry_run_default = forms.BooleanField(label="Preview (dry run) unless asked otherwise", required=False)
    max_replicas = forms.IntegerField(label="Most replicas a scale may set", min_value=0)

    @classmethod
    def for_guardrails(cls, guardrails: Guardrails) -> GuardrailPolicyForm:
        return cls(
            initial={
                "name": guardrails.name if guardrails.stored else NEW_POLICY_NAME,
                "enabled": True,
                "allowed_namespaces": list(guardrails.allowed_namespaces),
                "denied_namespaces": list(guardrails.denied_namespaces),
                "approval_required_actions": list(guardrails.approval_required_actions),
                "auto_execute_actions": list(guardrails.auto_execute_actions),
                "disabled_actions": list(guardrails.disabled_actions),
                "dry_run_default": guardrails.dry_run_default,
                "max_replicas": guardrails.max_replicas,
            }
        )


@dataclass(frozen=True)
class VerdictRow:
    spec: ActionSpec
    arguments: dict[str, Any]
    verdict: PolicyVerdict


def verdict_rows(
    *, organization: Organization, guardrails: Guardrails, namespace: str, replicas: int
) -> list[VerdictRow]:
    """What the policy would say to each catalog action in `namespace`, with sample arguments."""
    rows = []
    for spec in ACTION_CATALOG.values():
        samples = {**SAMPLE_ARGUMENTS, "namespace": namespace, "replicas": replicas}
        arguments = {name: samples[name] for name in spec.parameters}
        action = SuggestedAction(name=spec.name, arguments=arguments)
        verdict = policy_evaluate(organization=organization, action=action, policy=guardrails)
        rows.append(VerdictRow(spec=spec, arguments=arguments, verdict=verdict))
    return rows


def _guardrails_page(
    request: HttpRequest, *, form: GuardrailPolicyForm | None = None, status: int = 200
) -> HttpResponse:
    organization = request.organization
    guardrails = policy_for(organization)
    sample = GuardrailSampleForm(request.GET or None)
    namespace, replicas = SAMPLE_NAMESPACE, SAMPLE_REPLICAS
    if sample.is_valid():
        namespace, replicas = sample.cleaned_data["namespace"], sample.cleaned_data["replicas"]
    context = {
        "guardrails": guardrails,
        "policies": selectors.guardrail_policy_list(organization=organization),
        "sample_form": sample if sample.is_bound else GuardrailSampleForm(),
        "sample_namespace": namespace,
        "rows": verdict_rows(
            organization=organization, guardrails=guardrails, namespace=namespace, replicas=replicas
        ),
        "can_write": request.access.allows("write"),
        "form": form or GuardrailPolicyForm.for_guardrails(guardrails),
    }
    return render(request, "console/remediation/guardrails.html", context, status=status)


@requires("read")
@require_safe
def guardrails_view(request: HttpRequest) -> HttpResponse:
    """GET /console/remediation/guardrails/?namespace=<sample>&replicas=<sample>"""
    return _guardrails_page(request)


@requires("write")
@require_POST
def guardrails_edit_view(request: HttpRequest) -> HttpResponse:
    """POST /console/remediation/guardrails/edit/: changes the active policy, or stores the first one."""
    form = GuardrailPolicyForm(request.POST)
    if not form.is_valid():
        return _guardrails_page(request, form=form, status=400)
    actor = Actor.from_request(request)
    active = selectors.guardrail_policy_active(organization=request.organization)
    try:
        if active is not None:
            policy = services.guardrail_policy_update(policy=active, actor=actor, **form.cleaned_data)
        else:
            policy = services.guardrail_policy_create(
                organization=request.organization, actor=actor, **form.cleaned_data
            )
    except StatuxError as exc:
        for field, errors in (exc.fields or {}).items():
            form.add_error(field if field in form.fields else None, errors)
        messages.error(request, exc.message)
        return _guardrails_page(request, form=form, status=exc.status)
    if policy.enabled:
        messages.success(request, f"Guardrail policy “{policy.name}” saved; it applies to every new verdict.")
    else:
        messages.success(request, f"Guardrail policy “{policy.name}” disabled; the built-in default applies.")
    return redirect("console:guardrail-policy")
