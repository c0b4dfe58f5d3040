"""The deterministic expert engine: diagnosis content, confidence, actions and robustness."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analyses.providers.base import Diagnosis, IncidentContext, ProviderResult, SignatureMatch, ai_providers
from analyses.providers.deterministic import DeterministicProvider, diagnosis_build
from remediation.catalog import ACTION_CATALOG, action_catalog_for_prompt

ROLLBACK = "`kubectl rollout undo deployment/checkout-api -n production`"


def diagnose(context: IncidentContext) -> Diagnosis:
    return DeterministicProvider().diagnose(context).diagnosis


def assert_actions_are_runnable(diagnosis: Diagnosis) -> None:
    for action in diagnosis.suggested_actions:
        assert action.name in ACTION_CATALOG
        assert set(action.arguments) == set(ACTION_CATALOG[action.name].parameters)
        assert all(value not in ("", None) for value in action.arguments.values())


@pytest.fixture
def latency_only(incident_context) -> IncidentContext:
    """A weak incident: one title, nothing else."""
    return replace(
        incident_context,
        title="High latency on checkout-api",
        description="",
        labels={},
        kubernetes=None,
        log_excerpt="",
        severity="warning",
    )


def test_the_engine_is_registered_free_and_built_from_settings():
    provider_class = ai_providers.get("deterministic")

    with override_settings(REMEDIATION_MAX_REPLICAS=7):
        provider = provider_class.from_settings()

    assert provider_class is DeterministicProvider
    assert (provider.paid, provider.max_replicas) == (False, 7)


def test_it_diagnoses_the_oom_behind_a_crash_loop_and_names_the_service(incident_context):
    result = DeterministicProvider().diagnose(incident_context)

    assert isinstance(result, ProviderResult)
    assert (result.provider, result.model, result.total_tokens) == ("deterministic", "rules-v1", 0)
    assert result.duration_ms >= 0
    diagnosis = result.diagnosis
    assert diagnosis.summary.startswith(
        "Container killed for exceeding its memory limit (OOMKilled) on checkout-api "
        "(production/checkout-api-7d8f9c6b5-x2k4m)."
    )
    assert "OOMKilled" in diagnosis.root_cause and "CrashLoopBackOff" in diagnosis.root_cause
    assert "kubernetes: last_termination_reason=OOMKilled" in diagnosis.evidence
    assert "logs: 2026-11-23 10:29:45 ERROR java.lang.OutOfMemoryError: Java heap space" in diagnosis.evidence
    assert diagnosis.recommendations[0] == (
        "Confirm with `kubectl describe pod checkout-api-7d8f9c6b5-x2k4m -n production`: Last State "
        "Terminated, Reason OOMKilled, Exit Code 137."
    )


def test_it_uses_the_pre_analysis_signatures_when_present(incident_context):
    dns = SignatureMatch(
        key="dns_failure",
        title="DNS resolution failure",
        score=0.85,
        evidence=("logs: lookup db on 10.96.0.10:53: no such host",),
        playbook="dns-resolution",
    )

    diagnosis = diagnose(replace(incident_context, signatures=(dns,)))

    assert diagnosis.summary.startswith("DNS resolution failure on checkout-api")
    assert diagnosis.evidence[0] == "logs: lookup db on 10.96.0.10:53: no such host"


def test_an_unknown_incident_gets_an_honest_low_confidence_triage():
    context = IncidentContext(
        incident_id="inc-1",
        organization_id="org-1",
        title="Synthetic check flapped",
        service="status-page",
        severity="info",
    )

    diagnosis = diagnose(context)

    assert 0.2 <= diagnosis.confidence <= 0.3
    assert diagnosis.summary.startswith("No known failure class matched status-page's incident")
    assert diagnosis.recommendations[0] == (
        "Check what changed on status-page in the last hour: deploys, configuration, feature flags, traffic."
    )
    assert (diagnosis.suggested_actions, diagnosis.severity) == ([], "info")


def test_an_unknown_incident_still_quotes_the_first_log_error_and_the_pod_state():
    context = IncidentContext(
        incident_id="inc-1",
        organization_id="org-1",
        title="Checkout conversion dropped",
        kubernetes={"pod_status": "Running", "restart_count": 0},
        log_excerpt="INFO started\nERROR PaymentDeclined: card_not_supported\nERROR PaymentDeclined: again",
    )

    evidence = diagnose(context).evidence

    assert evidence == [
        "kubernetes: pod_status=Running, restart_count=0",
        "logs (first error): ERROR PaymentDeclined: card_not_supported",
    ]


def test_confidence_grows_with_independent_evidence_and_a_recent_deploy(latency_only):
    strong = replace(
        latency_only,
        labels={"alertname": "APIHighLatency"},
        description="p99 latency of checkout-api is 2.4s, above the 500ms SLO",
        log_excerpt="WARN slow request GET /cart took 2400ms",
    )
    deployed = replace(
        strong, deploy={"deploy_id": "deploy-7", "service": "checkout-api", "minutes_before_incident": 4}
    )

    weak_c, strong_c, deployed_c = (diagnose(c).confidence for c in (latency_only, strong, deployed))

    assert 0.4 <= weak_c < strong_c < deployed_c <= 0.95


def test_confidence_is_capped_when_everything_agrees(incident_context):
    context = replace(
        incident_context,
        deploy={"deploy_id": "deploy-7", "service": "checkout-api", "minutes_before_incident": 4},
        similar_incidents=(
            {"id": "inc-aa", "similarity_score": 0.9, "resolution": "Raised the limit to 1Gi"},
        ),
    )

    assert diagnose(context).confidence == 0.95


def test_a_recent_deploy_puts_rollback_first_with_its_evidence(incident_context):
    context = replace(
        incident_context,
        deploy={
            "deploy_id": "deploy-9f2c",
            "service": "checkout-api",
            "image": "registry.example.com/checkout-api:v2.4.1",
            "minutes_before_incident": 6.5,
        },
    )

    diagnosis = diagnose(context)

    assert diagnosis.recommendations[0] == (
        "Roll back the deploy deploy-9f2c (registry.example.com/checkout-api:v2.4.1) of checkout-api, "
        f"6 minutes before the incident: {ROLLBACK}, then watch whether the errors stop."
    )
    assert "6 minutes after deploy deploy-9f2c" in diagnosis.summary
    assert "first suspect" in diagnosis.root_cause
    assert any(item.startswith("deploy: deploy_id=deploy-9f2c") for item in diagnosis.evidence)
    assert sum("rollout undo" in item for item in diagnosis.recommendations) == 1


def test_an_older_deploy_is_advice_at_the_end_not_the_first_step(incident_context):
    context = replace(incident_context, deploy={"deploy_id": "deploy-1", "minutes_before_incident": 95})

    recommendations = diagnose(context).recommendations

    assert recommendations[-1].startswith("Roll back the deploy deploy-1, 95 minutes before the incident")


def test_a_deploy_of_another_service_is_checked_not_rolled_back(incident_context):
    context = replace(
        incident_context, deploy={"deploy_id": "deploy-3", "service": "pricing", "minutes_before_incident": 5}
    )

    diagnosis = diagnose(context)

    assert diagnosis.recommendations[-1] == (
        "Check the deploy deploy-3 of pricing 5 minutes before the incident: if checkout-api depends on it, "
        "roll it back."
    )
    assert not any(ROLLBACK in item for item in diagnosis.recommendations)
    assert "first suspect" not in diagnosis.root_cause


def test_past_resolutions_become_recommendations_and_evidence(incident_context):
    context = replace(
        incident_context,
        similar_incidents=(
            {"id": "inc-aa", "similarity_score": 0.91, "resolution": "Raised the memory limit to 1Gi."},
            {"id": "inc-bb", "similarity_score": 0.2, "resolution": "Restarted the whole cluster."},
        ),
        knowledge_base=(
            {"id": "kb-1", "service_id": "checkout-api", "resolution": "Cut the cache size", "tags": []},
            {"id": "kb-2", "service_id": "search", "resolution": "Reindexed", "tags": ["search"]},
        ),
    )

    diagnosis = diagnose(context)

    assert diagnosis.recommendations[:2] == [
        "Last time on checkout-api: Raised the memory limit to 1Gi.",
        "Last time on checkout-api: Cut the cache size",
    ]
    assert "similar incident inc-aa was resolved by: Raised the memory limit to 1Gi." in diagnosis.evidence
    assert not any(
        "Restarted the whole cluster" in item or "Reindexed" in item for item in diagnosis.recommendations
    )


def test_a_knowledge_base_entry_tagged_with_the_failure_class_counts_for_another_service(incident_context):
    entry = {
        "id": "kb-9",
        "service_id": "cart",
        "resolution": "Set -Xmx to 75% of the limit",
        "tags": ["oom_killed"],
    }

    diagnosis = diagnose(replace(incident_context, knowledge_base=(entry,)))

    assert "Last time on cart: Set -Xmx to 75% of the limit" in diagnosis.recommendations


@pytest.mark.parametrize(
    ("alert_severity", "expected"),
    [("warning", "high"), ("critical", "critical"), ("error", "high"), ("P1", "critical"), ("bogus", "high")],
)
def test_severity_is_the_higher_of_the_alert_and_the_failure_class(
    incident_context, alert_severity, expected
):
    diagnosis = diagnose(replace(incident_context, severity=alert_severity))

    assert diagnosis.severity == expected


def test_a_node_not_ready_escalates_an_info_alert_to_critical():
    context = IncidentContext(
        incident_id="inc-1", organization_id="org-1", title="KubeNodeNotReady", severity="info"
    )

    assert diagnose(context).severity == "critical"


def test_suggested_actions_carry_arguments_filled_from_the_context(incident_context):
    diagnosis = diagnose(incident_context)

    assert [
        (a.name, a.arguments["namespace"], a.arguments["deployment"]) for a in diagnosis.suggested_actions
    ] == [("suggest_config_fix", "production", "checkout-api")]
    assert "checkout-api" in diagnosis.suggested_actions[0].arguments["change"]
    assert_actions_are_runnable(diagnosis)


def test_a_crash_loop_restarts_the_named_pod(incident_context):
    context = replace(incident_context, kubernetes={"pod_status": "CrashLoopBackOff"}, log_excerpt="")

    actions = diagnose(context).suggested_actions

    assert [(a.name, a.arguments) for a in actions] == [
        ("restart_pod", {"namespace": "production", "pod_name": "checkout-api-7d8f9c6b5-x2k4m"})
    ]


@pytest.mark.parametrize("pod", ["", "../etc/passwd; rm -rf /", "Checkout_API"])
def test_no_valid_pod_name_means_no_restart(incident_context, pod):
    context = replace(
        incident_context, pod=pod, kubernetes={"pod_status": "CrashLoopBackOff"}, log_excerpt=""
    )

    diagnosis = diagnose(context)

    assert diagnosis.summary.startswith("Pod crash-looping (CrashLoopBackOff) on checkout-api")
    assert diagnosis.suggested_actions == []


@pytest.mark.parametrize(("replicas", "expected"), [(4, 6), (1, 2), (19, 20), (20, None), (None, None)])
def test_scaling_grows_the_current_replicas_within_the_maximum(incident_context, replicas, expected):
    context = replace(
        incident_context,
        title="CPUThrottlingHigh",
        labels={"alertname": "CPUThrottlingHigh"},
        kubernetes={"replicas": replicas},
        log_excerpt="",
    )

    actions = DeterministicProvider(max_replicas=20).diagnose(context).diagnosis.suggested_actions

    scaled = [a.arguments["replicas"] for a in actions if a.name == "scale_deployment"]
    assert scaled == ([] if expected is None else [expected])


def test_actions_outside_the_contexts_catalog_are_never_suggested(incident_context):
    only_restart = tuple(entry for entry in action_catalog_for_prompt() if entry["name"] == "restart_pod")

    diagnosis = diagnose(replace(incident_context, action_catalog=only_restart))

    assert diagnosis.suggested_actions == []


def test_recommendations_are_deduplicated(incident_context):
    same = {"id": "inc-aa", "similarity_score": 0.9, "resolution": "Raised the limit"}
    context = replace(incident_context, similar_incidents=(same, same))

    recommendations = diagnose(context).recommendations

    assert len(recommendations) == len({item.lower() for item in recommendations})
    assert recommendations.count("Last time on checkout-api: Raised the limit") == 1


def test_alert_text_with_braces_is_quoted_not_formatted(incident_context):
    context = replace(
        incident_context,
        service="{service.__class__}",
        deploy={"deploy_id": "{namespace}", "minutes_before_incident": 3},
    )

    diagnosis = diagnose(context)

    assert "{service.__class__}" in diagnosis.summary
    assert "Roll back the deploy {namespace}, 3 minutes before the incident" in diagnosis.recommendations[0]


def test_malformed_pre_analysis_signatures_are_ignored(incident_context):
    junk = (
        "oom",
        SignatureMatch(key="", title="x", score=1),
        SignatureMatch(key=None, title=None, score=None),  # type: ignore[arg-type]
    )

    diagnosis = diagnose(replace(incident_context, signatures=junk))

    assert diagnosis.summary.startswith("Container killed for exceeding its memory limit (OOMKilled)")


def test_a_pre_analysis_signature_unknown_to_the_catalog_still_drives_the_summary(incident_context):
    custom = SignatureMatch(key="vendor_outage", title="Cloud vendor outage", score=float("nan"))

    diagnosis = diagnose(replace(incident_context, signatures=(custom,)))

    assert diagnosis.summary.startswith("Cloud vendor outage on checkout-api")
    assert diagnosis.root_cause.startswith("Cloud vendor outage (recognised by pre-analysis).")
    assert (diagnosis.suggested_actions, diagnosis.confidence) == ([], 0.3)


# Robustness: whatever a sender put in an alert, the engine answers with a valid diagnosis.
scalars = st.one_of(
    st.text(max_size=200),
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.binary(max_size=50),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=20), children, max_size=4)
    ),
    max_leaves=12,
)
mappings = st.dictionaries(st.one_of(st.text(max_size=30), st.integers(), st.none()), values, max_size=8)
texts = st.one_of(
    st.text(max_size=500),
    st.sampled_from(
        ["KubePodCrashLooping", "OOMKilled", "no such host", "{pod}", "x509: certificate has expired"]
    ),
    st.none(),
    st.integers(),
)
contexts = st.builds(
    IncidentContext,
    incident_id=st.text(max_size=20),
    organization_id=st.text(max_size=20),
    title=texts,
    description=texts,
    severity=texts,
    service=texts,
    namespace=texts,
    pod=texts,
    deployment=texts,
    labels=st.one_of(mappings, st.none()),
    annotations=mappings,
    metric=texts,
    kubernetes=st.one_of(
        st.none(), mappings, st.fixed_dictionaries({"pod_status": texts, "replicas": values})
    ),
    deploy=st.one_of(
        st.none(),
        mappings,
        st.fixed_dictionaries(
            {"deploy_id": texts, "service": texts, "minutes_before_incident": st.one_of(values, st.floats())}
        ),
    ),
    similar_incidents=st.lists(st.one_of(mappings, values), max_size=3).map(tuple),
    knowledge_base=st.lists(st.one_of(mappings, values), max_size=3).map(tuple),
    log_excerpt=texts,
    signatures=st.lists(
        st.one_of(
            st.builds(SignatureMatch, key=texts, title=texts, score=values, evidence=values, playbook=texts),
            values,
        ),
        max_size=3,
    ).map(tuple),
    action_catalog=st.one_of(st.just(action_catalog_for_prompt()), st.lists(values, max_size=3).map(tuple)),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(context=contexts)
def test_any_context_gets_a_valid_diagnosis(context):
    diagnosis = diagnosis_build(context)  # the provider's safety net is not on this path

    assert Diagnosis.model_validate(diagnosis.model_dump()) == diagnosis
    assert 0.0 <= diagnosis.confidence <= 0.95 and not math.isnan(diagnosis.confidence)
    assert diagnosis.summary.strip() and diagnosis.root_cause.strip() and diagnosis.recommendations
    assert_actions_are_runnable(diagnosis)


def test_a_huge_log_and_odd_values_still_get_an_answer(incident_context):
    context = replace(
        incident_context,
        title=None,
        log_excerpt="x" * 5_000_000 + "\nERROR java.lang.OutOfMemoryError: Java heap space",
        labels={1: object(), "alertname": ["KubePodCrashLooping"]},
        deploy={"minutes_before_incident": float("nan")},
    )

    diagnosis = diagnose(context)

    assert diagnosis.summary.startswith("Container killed for exceeding its memory limit (OOMKilled)")
    assert all(len(item) <= 300 for item in diagnosis.evidence)
