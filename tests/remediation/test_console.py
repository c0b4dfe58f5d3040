"""The console's guardrails page: the policy in force, its verdict table, and the editor behind `write`."""

from __future__ import annotations

import html
import re

from remediation.models import GuardrailPolicy
from statux.models import AuditLog
from tests.console.conftest import logged_in

PAGE = "/console/remediation/guardrails/"
EDIT = "/console/remediation/guardrails/edit/"
CELL = re.compile(r'<td data-field="(\w+)">(.*?)</td>', re.S)


def text(response) -> str:
    return html.unescape(response.content.decode())


def verdict_cells(response) -> dict[str, dict[str, str]]:
    """{action name: {verdict field: cell text}} from the verdict table."""
    rows = re.findall(r'<tr data-action="(\w+)"[^>]*>(.*?)</tr>', text(response), re.S)
    return {
        name: {field: re.sub(r"<[^>]+>", "", cell).strip() for field, cell in CELL.findall(row)}
        for name, row in rows
    }


def policy_post(**overrides) -> dict:
    data = {
        "name": "acme-prod",
        "enabled": "on",
        "allowed_namespaces": "team-*, production",
        "denied_namespaces": "kube-system kube-public",
        "approval_required_actions": ["scale_deployment"],
        "auto_execute_actions": ["restart_pod"],
        "disabled_actions": [],
        "dry_run_default": "on",
        "max_replicas": "5",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def test_the_page_shows_what_the_built_in_default_would_do_with_each_action(viewer):
    response = logged_in(viewer).get(PAGE)

    assert response.status_code == 200
    assert "Policy in force: <code>default</code>" in text(response)
    assert verdict_cells(response) == {
        "restart_pod": {
            "allowed": "allowed",
            "executable": "yes",
            "approval_required": "required",
            "auto_executable": "may start",
            "dry_run": "yes",
            "blast_radius": "single_pod",
            "policy_reason": "Action is within guardrails",
        },
        "scale_deployment": {
            "allowed": "allowed",
            "executable": "yes",
            "approval_required": "required",
            "auto_executable": "no",
            "dry_run": "yes",
            "blast_radius": "deployment",
            "policy_reason": "Action is within guardrails",
        },
        "suggest_config_fix": {
            "allowed": "allowed",
            "executable": "no",
            "approval_required": "not required",
            "auto_executable": "no",
            "dry_run": "yes",
            "blast_radius": "none",
            "policy_reason": "Action is within guardrails",
        },
    }


def test_a_sample_namespace_and_replica_count_change_the_verdicts(viewer):
    response = logged_in(viewer).get(PAGE, {"namespace": "kube-system", "replicas": "50"})

    cells = verdict_cells(response)
    assert "What would happen in <code>kube-system</code>" in text(response)
    assert {name: row["allowed"] for name, row in cells.items()} == dict.fromkeys(cells, "refused")
    assert cells["restart_pod"]["policy_reason"] == "namespace kube-system is not allowed by policy default"


def test_the_page_shows_the_organizations_own_policy_only(viewer, org, other_org, make_policy):
    make_policy(other_org, name="globex-lockdown", disabled_actions=["restart_pod"])
    make_policy(org, name="acme-strict", max_replicas=2)

    response = logged_in(viewer).get(PAGE)

    assert "Policy in force: <code>acme-strict</code>" in text(response)
    assert "globex-lockdown" not in text(response)
    assert verdict_cells(response)["scale_deployment"]["policy_reason"] == (
        "replicas must be a whole number from 0 to 2 by policy acme-strict, not 3"
    )


def test_a_viewer_sees_no_editor_and_cannot_save(viewer, org):
    client = logged_in(viewer)

    page = client.get(PAGE)
    response = client.post(EDIT, policy_post())

    assert f'action="{EDIT}"' not in text(page)
    assert "can see the guardrails; operators, admins and owners change them" in text(page)
    assert response.status_code == 403
    assert "Your role 'viewer' in Acme Corporation cannot" in text(response)
    assert not GuardrailPolicy.objects.exists()


def test_the_editor_starts_from_the_policy_in_force(operator):
    response = logged_in(operator).get(PAGE)

    page = text(response)
    assert f'action="{EDIT}"' in page
    assert 'name="allowed_namespaces" value="*"' in page
    assert 'name="denied_namespaces" value="kube-system"' in page
    assert 'name="max_replicas" value="20"' in page


def test_saving_stores_the_first_policy_and_it_applies_at_once(operator, org):
    client = logged_in(operator)

    response = client.post(EDIT, policy_post())
    page = client.get(PAGE, {"namespace": "team-payments", "replicas": "6"})

    assert (response.status_code, response["Location"]) == (302, PAGE)
    policy = GuardrailPolicy.objects.get(organization=org)
    assert (policy.name, policy.enabled, policy.max_replicas, policy.updated_by) == (
        "acme-prod",
        True,
        5,
        operator,
    )
    assert (policy.allowed_namespaces, policy.denied_namespaces) == (
        ["team-*", "production"],
        ["kube-system", "kube-public"],
    )
    assert AuditLog.objects.get(action="guardrail_policy.created").actor == "operator@acme.test"
    assert "Guardrail policy “acme-prod” saved" in text(page)
    cells = verdict_cells(page)
    assert cells["restart_pod"]["approval_required"] == "not required"
    assert cells["scale_deployment"]["policy_reason"] == (
        "replicas must be a whole number from 0 to 5 by policy acme-prod, not 6"
    )


def test_saving_changes_the_active_policy_in_place(operator, org, make_policy):
    existing = make_policy(org, name="acme-prod")

    logged_in(operator).post(EDIT, policy_post(name="acme-renamed", disabled_actions=["restart_pod"]))

    policy = GuardrailPolicy.objects.get(organization=org)
    assert (policy.pk, policy.name, policy.disabled_actions) == (existing.pk, "acme-renamed", ["restart_pod"])


def test_unticking_enabled_hands_over_to_the_built_in_default(operator, org, make_policy):
    make_policy(org, name="acme-prod")
    client = logged_in(operator)

    client.post(EDIT, policy_post(enabled=None))
    page = client.get(PAGE)

    assert GuardrailPolicy.objects.get(organization=org).enabled is False
    assert "Guardrail policy “acme-prod” disabled; the built-in default applies." in text(page)
    assert "Policy in force: <code>default</code>" in text(page)


def test_a_refused_policy_is_shown_with_the_reason_and_not_saved(operator):
    response = logged_in(operator).post(EDIT, policy_post(allowed_namespaces="Prod_1"))

    page = text(response)
    assert response.status_code == 400
    assert "Invalid allowed_namespaces: 'Prod_1' is not a namespace or glob pattern" in page
    assert 'name="allowed_namespaces" value="Prod_1"' in page
    assert not GuardrailPolicy.objects.exists()


def test_the_reserved_name_is_refused_on_its_field(operator):
    response = logged_in(operator).post(EDIT, policy_post(name="default"))

    assert response.status_code == 400
    assert "names the built-in policy from settings; choose another." in text(response)
    assert not GuardrailPolicy.objects.exists()
