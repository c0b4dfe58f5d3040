"""Guardrail policy writes: validation that names the bad value, one enabled policy, the audit log."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from remediation.models import GuardrailPolicy
from remediation.services import InvalidGuardrailPolicy, guardrail_policy_create, guardrail_policy_update
from statux.audit import Actor
from statux.errors import Conflict
from statux.models import AuditLog


def test_a_new_policy_starts_from_the_built_in_default(org, settings, make_policy):
    settings.REMEDIATION_ALLOWED_NAMESPACES = ["prod-*"]
    settings.REMEDIATION_MAX_REPLICAS = 7

    policy = make_policy(org, name="acme")

    stored = GuardrailPolicy.objects.get(pk=policy.pk)
    assert (stored.allowed_namespaces, stored.denied_namespaces, stored.max_replicas) == (
        ["prod-*"],
        ["kube-system"],
        7,
    )
    assert (stored.approval_required_actions, stored.auto_execute_actions, stored.disabled_actions) == (
        ["restart_pod", "scale_deployment"],
        ["restart_pod"],
        [],
    )
    assert (stored.enabled, stored.dry_run_default) == (True, True)


def test_creating_writes_an_audit_record_with_the_rules(org, admin_user):
    policy = guardrail_policy_create(
        organization=org, name="acme", actor=Actor(user=admin_user), allowed_namespaces=["team-*"]
    )

    entry = AuditLog.objects.get(action="guardrail_policy.created")
    assert (entry.organization, entry.actor, entry.target_id) == (org, "admin@acme.test", str(policy.pk))
    assert (entry.metadata["name"], entry.metadata["allowed_namespaces"], entry.metadata["replaced"]) == (
        "acme",
        ["team-*"],
        [],
    )
    assert policy.updated_by == admin_user


def test_updating_records_only_what_changed_and_who(org, operator, make_policy):
    policy = make_policy(org, name="acme", max_replicas=5)

    policy = guardrail_policy_update(
        policy=policy, actor=Actor(user=operator), max_replicas=8, dry_run_default=True
    )

    entry = AuditLog.objects.get(action="guardrail_policy.updated")
    assert (entry.actor, entry.metadata) == ("operator@acme.test", {"max_replicas": 8, "replaced": []})
    assert (GuardrailPolicy.objects.get(pk=policy.pk).max_replicas, policy.updated_by) == (8, operator)


def test_an_update_that_changes_nothing_writes_no_audit_record(org, make_policy):
    policy = make_policy(org, name="acme", max_replicas=5)

    guardrail_policy_update(policy=policy, actor=Actor(system="test"), max_replicas=5)

    assert not AuditLog.objects.filter(action="guardrail_policy.updated").exists()


def test_enabling_a_policy_disables_the_organizations_other_one(org, other_org, make_policy):
    make_policy(org, name="first")
    make_policy(other_org, name="foreign")
    second = make_policy(org, name="second", enabled=False)

    guardrail_policy_update(policy=second, actor=Actor(system="test"), enabled=True)

    enabled = dict(GuardrailPolicy.objects.values_list("name", "enabled"))
    assert enabled == {"first": False, "second": True, "foreign": True}
    entry = AuditLog.objects.get(action="guardrail_policy.updated", target_id=str(second.pk))
    assert entry.metadata == {"enabled": True, "replaced": ["first"]}


def test_creating_an_enabled_policy_replaces_the_active_one(org, make_policy):
    make_policy(org, name="first")

    make_policy(org, name="second")

    assert list(GuardrailPolicy.objects.filter(enabled=True).values_list("name", flat=True)) == ["second"]


def test_a_policy_name_is_unique_per_organization_only(org, other_org, make_policy):
    make_policy(org, name="acme")
    make_policy(other_org, name="acme")

    with pytest.raises(Conflict) as refused:
        make_policy(org, name="acme", enabled=False)

    assert refused.value.fields == {"name": ["Already taken, or changed concurrently."]}
    assert GuardrailPolicy.objects.filter(name="acme").count() == 2


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"name": "default"}, "name", "'default' names the built-in policy from settings; choose another."),
        ({"name": "  "}, "name", "Give the policy a name of 1 to 100 characters."),
        (
            {"allowed_namespaces": ["Prod_1"]},
            "allowed_namespaces",
            "'Prod_1' is not a namespace or glob pattern: use lowercase letters, digits, '-', '*' and '?', "
            "at most 63 characters.",
        ),
        (
            {"denied_namespaces": [7]},
            "denied_namespaces",
            "7 is not a namespace or glob pattern: use lowercase letters, digits, '-', '*' and '?', "
            "at most 63 characters.",
        ),
        (
            {"denied_namespaces": "kube-system"},
            "denied_namespaces",
            "Give a list of namespaces or glob patterns such as team-*.",
        ),
        (
            {"disabled_actions": ["drain_node"]},
            "disabled_actions",
            "Unknown action 'drain_node'; known: restart_pod, scale_deployment, suggest_config_fix.",
        ),
        (
            {"auto_execute_actions": ["restart_pod", "reboot"]},
            "auto_execute_actions",
            "Unknown action 'reboot'; known: restart_pod, scale_deployment, suggest_config_fix.",
        ),
        ({"max_replicas": -1}, "max_replicas", "max_replicas must be a whole number of 0 or more, not -1."),
        ({"max_replicas": "5"}, "max_replicas", "max_replicas must be a whole number of 0 or more, not '5'."),
        ({"dry_run_default": "yes"}, "dry_run_default", "Say true or false, not 'yes'."),
    ],
)
def test_invalid_fields_are_refused_with_the_value_and_what_is_allowed(org, fields, field, message):
    arguments = {"name": "acme", **fields}

    with pytest.raises(InvalidGuardrailPolicy) as refused:
        guardrail_policy_create(organization=org, actor=Actor(system="test"), **arguments)

    assert (refused.value.status, refused.value.code) == (400, "invalid")
    assert refused.value.fields == {field: [message]}
    assert refused.value.message == f"Invalid {field}: {message}"
    assert not GuardrailPolicy.objects.exists()
    assert not AuditLog.objects.exists()


def test_every_invalid_field_is_named_at_once(org, make_policy):
    policy = make_policy(org, name="acme")

    with pytest.raises(InvalidGuardrailPolicy) as refused:
        guardrail_policy_update(
            policy=policy, actor=Actor(system="test"), max_replicas=-5, disabled_actions=["x"]
        )

    assert sorted(refused.value.fields) == ["disabled_actions", "max_replicas"]
    assert GuardrailPolicy.objects.get(pk=policy.pk).max_replicas == 20


def test_a_field_the_policy_does_not_have_is_refused(org, make_policy):
    policy = make_policy(org, name="acme")

    with pytest.raises(InvalidGuardrailPolicy) as refused:
        guardrail_policy_update(policy=policy, actor=Actor(system="test"), colour="red")

    assert (refused.value.message, refused.value.fields) == (
        "Unknown guardrail policy fields: colour.",
        {"colour": ["Unknown field."]},
    )


def test_repeated_names_in_a_list_are_stored_once(org, make_policy):
    policy = make_policy(org, name="acme", denied_namespaces=["kube-system", "kube-*", "kube-system"])

    assert GuardrailPolicy.objects.get(pk=policy.pk).denied_namespaces == ["kube-system", "kube-*"]


def test_the_database_refuses_a_second_enabled_policy_in_one_organization(org, make_policy):
    make_policy(org, name="first")

    with pytest.raises(IntegrityError), transaction.atomic():
        GuardrailPolicy.objects.create(organization=org, name="sneaked-in", enabled=True)

    assert list(GuardrailPolicy.objects.values_list("name", flat=True)) == ["first"]
