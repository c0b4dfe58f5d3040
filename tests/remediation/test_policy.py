"""The policy engine's verdicts: every rule, the built-in default from settings, and tenant isolation."""

from __future__ import annotations

import pytest

from analyses.providers.base import SuggestedAction
from remediation.policy import PolicyVerdict, policy_evaluate, policy_evaluate_many, policy_for
from tests.remediation.conftest import config_fix, restart, scale

# The `suggested_actions` item of the spec's diagnosis example (002), field order included.
SPEC_ITEM = {
    "name": "restart_pod",
    "description": "Restart one pod so its controller can recreate it.",
    "arguments": {"namespace": "production", "pod_name": "payments-api-7d8f9c6b5-x2k4m"},
    "executable": True,
    "auto_executable": True,
    "allowed": True,
    "approval_required": True,
    "dry_run": True,
    "blast_radius": "single_pod",
    "policy_name": "default",
    "policy_reason": "Action is within guardrails",
}


def test_the_spec_example_gets_the_spec_verdict_under_the_built_in_default(org):
    action = SuggestedAction(name="restart_pod", arguments=SPEC_ITEM["arguments"])

    items = policy_evaluate_many(organization=org, actions=[action])

    assert items == [SPEC_ITEM]
    assert list(items[0]) == list(SPEC_ITEM)


def test_a_verdict_has_exactly_the_eight_spec_fields(org):
    verdict = policy_evaluate(organization=org, action=restart())

    assert list(verdict.as_dict()) == list(SPEC_ITEM)[3:]
    with pytest.raises(AttributeError):
        verdict.allowed = False  # frozen: nobody downstream can upgrade a refusal


def test_an_action_outside_the_catalog_is_refused_and_not_executable(org):
    action = SuggestedAction(name="delete_namespace", arguments={"namespace": "production"})

    verdict = policy_evaluate(organization=org, action=action)

    assert verdict == PolicyVerdict(
        executable=False,
        auto_executable=False,
        allowed=False,
        approval_required=False,
        dry_run=True,
        blast_radius="unknown",
        policy_name="default",
        policy_reason="action delete_namespace is not in the action catalog",
    )


def test_an_unknown_action_keeps_its_name_and_arguments_with_an_empty_description(org):
    action = SuggestedAction(name="drain_node", arguments={"node": "ip-10-0-0-1"})

    (item,) = policy_evaluate_many(organization=org, actions=[action])

    assert (item["name"], item["description"], item["arguments"], item["allowed"]) == (
        "drain_node",
        "",
        {"node": "ip-10-0-0-1"},
        False,
    )


@pytest.mark.parametrize(
    ("arguments", "missing"),
    [
        ({"namespace": "production"}, "pod_name"),
        ({"namespace": "production", "pod_name": "  "}, "pod_name"),
        ({}, "namespace, pod_name"),
    ],
)
def test_missing_required_arguments_refuse_the_action(org, arguments, missing):
    action = SuggestedAction(name="restart_pod", arguments=arguments)

    verdict = policy_evaluate(organization=org, action=action)

    assert (verdict.allowed, verdict.executable, verdict.auto_executable) == (False, False, False)
    assert verdict.policy_reason == f"missing required arguments for restart_pod: {missing}"


def test_kube_system_is_denied_by_default_even_though_every_namespace_is_allowed(org):
    verdict = policy_evaluate(organization=org, action=restart("kube-system"))

    assert (verdict.allowed, verdict.executable) == (False, False)
    assert verdict.policy_reason == "namespace kube-system is not allowed by policy default"


def test_a_namespace_outside_the_allowed_globs_is_refused(org, make_policy):
    make_policy(org, name="teams-only", allowed_namespaces=["team-*"])

    inside = policy_evaluate(organization=org, action=restart("team-payments"))
    outside = policy_evaluate(organization=org, action=restart("production"))

    assert (inside.allowed, inside.policy_reason) == (True, "Action is within guardrails")
    assert (outside.allowed, outside.policy_reason) == (
        False,
        "namespace production is not allowed by policy teams-only",
    )


def test_a_denied_glob_wins_over_an_allowed_one(org, make_policy):
    make_policy(org, name="no-sandboxes", allowed_namespaces=["*"], denied_namespaces=["sandbox-*"])

    verdict = policy_evaluate(organization=org, action=restart("sandbox-42"))

    assert verdict.policy_reason == "namespace sandbox-42 is not allowed by policy no-sandboxes"


def test_a_namespace_that_is_not_text_is_refused(org):
    action = SuggestedAction(name="restart_pod", arguments={"namespace": 7, "pod_name": "p"})

    verdict = policy_evaluate(organization=org, action=action)

    assert (verdict.allowed, verdict.policy_reason) == (False, "namespace 7 is not allowed by policy default")


def test_a_disabled_action_is_refused_by_name(org, make_policy):
    make_policy(org, name="hands-off", disabled_actions=["restart_pod"])

    verdict = policy_evaluate(organization=org, action=restart())

    assert (verdict.allowed, verdict.executable, verdict.auto_executable) == (False, False, False)
    assert verdict.policy_reason == "action restart_pod is disabled by policy hands-off"


@pytest.mark.parametrize("replicas", [0, 5, 20])
def test_scaling_within_zero_to_max_replicas_is_allowed(org, replicas):
    verdict = policy_evaluate(organization=org, action=scale(replicas))

    assert (verdict.allowed, verdict.executable, verdict.blast_radius) == (True, True, "deployment")
    assert (verdict.approval_required, verdict.auto_executable) == (True, False)


@pytest.mark.parametrize("replicas", [21, -1, "5", 2.5, True])
def test_scaling_to_anything_but_a_whole_number_up_to_max_replicas_is_refused(org, replicas):
    verdict = policy_evaluate(organization=org, action=scale(replicas))

    assert (verdict.allowed, verdict.executable) == (False, False)
    assert verdict.policy_reason == (
        f"replicas must be a whole number from 0 to 20 by policy default, not {replicas!r}"
    )


def test_the_stored_policy_sets_max_replicas(org, make_policy):
    make_policy(org, name="small", max_replicas=3)

    verdict = policy_evaluate(organization=org, action=scale(4))

    assert verdict.policy_reason == "replicas must be a whole number from 0 to 3 by policy small, not 4"


def test_advice_is_allowed_but_never_executable_or_approved(org, settings):
    settings.REMEDIATION_APPROVAL_REQUIRED_ACTIONS = ["suggest_config_fix"]
    settings.REMEDIATION_AUTO_EXECUTE_ACTIONS = ["suggest_config_fix"]

    verdict = policy_evaluate(organization=org, action=config_fix())

    assert verdict.as_dict() == {
        "executable": False,
        "auto_executable": False,
        "allowed": True,
        "approval_required": False,
        "dry_run": True,
        "blast_radius": "none",
        "policy_name": "default",
        "policy_reason": "Action is within guardrails",
    }


def test_advice_about_a_denied_namespace_is_refused_too(org):
    verdict = policy_evaluate(organization=org, action=config_fix("kube-system"))

    assert (verdict.allowed, verdict.policy_reason) == (
        False,
        "namespace kube-system is not allowed by policy default",
    )


def test_an_action_without_approval_may_be_started_by_autonomy_alone(org, make_policy):
    make_policy(org, name="autopilot", approval_required_actions=[], auto_execute_actions=["restart_pod"])

    verdict = policy_evaluate(organization=org, action=restart())

    assert (verdict.auto_executable, verdict.approval_required, verdict.executable) == (True, False, True)


def test_an_action_off_the_auto_execute_list_is_for_operators_only(org, make_policy):
    make_policy(org, name="manual", auto_execute_actions=[])

    verdict = policy_evaluate(organization=org, action=restart())

    assert (verdict.executable, verdict.auto_executable, verdict.allowed) == (True, False, True)


def test_dry_run_follows_the_policy(org, make_policy):
    make_policy(org, name="live", dry_run_default=False)

    verdict = policy_evaluate(organization=org, action=restart())

    assert (verdict.dry_run, verdict.policy_name) == (False, "live")


# --- The built-in default from settings --------------------------------------------------------------


def test_the_built_in_default_reads_every_setting(org, settings):
    settings.REMEDIATION_ALLOWED_NAMESPACES = ["staging"]
    settings.REMEDIATION_APPROVAL_REQUIRED_ACTIONS = []
    settings.REMEDIATION_AUTO_EXECUTE_ACTIONS = ["scale_deployment"]
    settings.REMEDIATION_DRY_RUN_DEFAULT = False
    settings.REMEDIATION_MAX_REPLICAS = 2

    in_staging = policy_evaluate(organization=org, action=scale(2, namespace="staging"))
    too_many = policy_evaluate(organization=org, action=scale(3, namespace="staging"))
    in_production = policy_evaluate(organization=org, action=scale(2, namespace="production"))

    assert (in_staging.allowed, in_staging.approval_required, in_staging.auto_executable) == (
        True,
        False,
        True,
    )
    assert (in_staging.dry_run, in_staging.policy_name) == (False, "default")
    assert too_many.policy_reason == "replicas must be a whole number from 0 to 2 by policy default, not 3"
    assert in_production.policy_reason == "namespace production is not allowed by policy default"


def test_an_empty_allowed_list_refuses_every_namespace(org, settings):
    settings.REMEDIATION_ALLOWED_NAMESPACES = []

    verdict = policy_evaluate(organization=org, action=restart())

    assert verdict.policy_reason == "namespace production is not allowed by policy default"


def test_a_disabled_policy_leaves_the_built_in_default_in_force(org, make_policy):
    make_policy(org, name="paused", enabled=False, allowed_namespaces=["nowhere"])

    guardrails = policy_for(org)

    assert (guardrails.name, guardrails.stored, guardrails.allowed_namespaces) == ("default", False, ("*",))


# --- Tenancy and queries -------------------------------------------------------------------------------


def test_one_organizations_policy_never_applies_to_another(org, other_org, make_policy):
    make_policy(other_org, name="globex-lockdown", disabled_actions=["restart_pod"])

    ours = policy_evaluate(organization=org, action=restart())
    theirs = policy_evaluate(organization=other_org, action=restart())

    assert (ours.allowed, ours.policy_name) == (True, "default")
    assert (theirs.allowed, theirs.policy_name) == (False, "globex-lockdown")


def test_evaluating_many_actions_reads_the_policy_once(org, make_policy, django_assert_num_queries):
    make_policy(org, name="strict", max_replicas=5)
    actions = [restart(), scale(3), scale(30), config_fix(), SuggestedAction(name="drain_node")]

    with django_assert_num_queries(1):
        items = policy_evaluate_many(organization=org, actions=actions)

    assert [(item["name"], item["allowed"], item["policy_name"]) for item in items] == [
        ("restart_pod", True, "strict"),
        ("scale_deployment", True, "strict"),
        ("scale_deployment", False, "strict"),
        ("suggest_config_fix", True, "strict"),
        ("drain_node", False, "strict"),
    ]


def test_a_given_policy_is_used_without_reading_the_database(org, make_policy, django_assert_num_queries):
    draft = make_policy(org, name="draft", enabled=False, disabled_actions=["restart_pod"])

    with django_assert_num_queries(0):
        verdict = policy_evaluate(organization=org, action=restart(), policy=draft)

    assert verdict.policy_reason == "action restart_pod is disabled by policy draft"
